//! Standard output that behaves like a Unix tool's: a reader that goes away (`cmms report | head`)
//! ends the command quietly with exit 0, and any other write failure is an error, not a panic
//! (`println!` panics on both).

use std::io::Write;

/// Writes `text` and a newline to stdout ([`outln!`] formats it).
pub fn line(args: std::fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|()| out.write_all(b"\n")) {
        failed(&e);
    }
}

/// Ends the process after a failed write to stdout: quietly with 0 on a closed pipe, else 1.
pub fn failed(e: &std::io::Error) -> ! {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    eprintln!("error: cannot write to standard output: {e}");
    std::process::exit(1);
}

/// True when the error or one of its causes is a closed pipe (a reader that went away).
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || c.downcast_ref::<csv::Error>().is_some_and(
                |c| matches!(c.kind(), csv::ErrorKind::Io(io) if io.kind() == std::io::ErrorKind::BrokenPipe),
            )
    })
}

/// The error with its causes, each said once: `context: cause: cause`. A cause whose text the
/// message already holds (a wrapper that prints its source and also returns it) is skipped.
pub fn error_text(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let part = cause.to_string();
        if part.is_empty() || text.contains(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text
}

/// A plain table whose columns are as wide as their widest cell (a long value widens its column
/// instead of shifting its row); `right` lists the columns aligned right (numbers).
pub fn table(header: &[&str], right: &[usize]) -> comfy_table::Table {
    let mut t = comfy_table::Table::new();
    t.load_style(comfy_table::presets::NOTHING)
        .set_content_arrangement(comfy_table::ContentArrangement::Disabled)
        .set_header(header.iter().copied());
    for &i in right {
        if let Some(c) = t.column_mut(i) {
            c.set_cell_alignment(comfy_table::CellAlignment::Right);
        }
    }
    t
}

/// Prints a table built by [`table`], without the padding of the first column.
pub fn print_table(t: &comfy_table::Table) {
    for l in t.lines() {
        line(format_args!("{}", l.strip_prefix(' ').unwrap_or(&l).trim_end()));
    }
}

/// `println!` that ends the command quietly when stdout is a closed pipe (see [`line`]).
macro_rules! outln {
    () => {
        $crate::out::line(format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::out::line(format_args!($($arg)*))
    };
}
