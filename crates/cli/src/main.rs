//! The `cmms` binary: parses the command line, loads configuration, initialises logging, and
//! dispatches to the library crates. Exit codes: 0 success; 1 error; 2 usage error; 3 an import
//! finished but rejected rows; 5 a work-order operation was refused by a rule (the message names it), a `dlq replay` id was unknown or
//! already replayed, or an `events void`/`restore` was refused (unknown, ambiguous, already voided, not voided).

#[macro_use]
mod out;
mod backtest;
mod cli;
mod config;
mod demo;
mod events;
mod export;
mod import;
mod inventory;
mod pm;
mod publish;
mod serve;
mod token;

use clap::Parser;
use cli::{Cli, Command};
use config::Config;
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

/// Exit code: an import finished but rejected one or more rows (or stopped early).
const EXIT_REJECTED_ROWS: u8 = 3;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load(&cli.global) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {}", out::error_text(&e));
            return ExitCode::FAILURE;
        }
    };
    init_logging(&config, matches!(cli.command, Command::Serve { .. } | Command::Publish { once: false }));
    // An import is one pipeline (reader thread → this thread → the database's own thread): more
    // runtime threads would not speed it up, but each one that touches a batch keeps its own
    // allocator arena at the batch's high-water mark (about 100 MB on a million-row import).
    let mut builder = match cli.command {
        Command::Import { .. } => tokio::runtime::Builder::new_current_thread(),
        _ => tokio::runtime::Builder::new_multi_thread(),
    };
    let runtime = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command, config)) {
        Ok(code) => code,
        // A reader that went away (`cmms export thresholds | head`) is not an error.
        Err(e) if out::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", out::error_text(&e));
            ExitCode::FAILURE
        }
    }
}

fn init_logging(config: &Config, serving: bool) {
    let default = if serving { "info" } else { "warn" };
    let filter = if config.log.is_empty() {
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default))
    } else {
        EnvFilter::new(&config.log)
    };
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match config.log_format {
        // Colour codes only for a person at a terminal, never into a redirected log file.
        cli::LogFormat::Text => builder.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())).init(),
        cli::LogFormat::Json => builder.json().with_ansi(false).init(),
    }
}

async fn run(command: Command, config: Config) -> anyhow::Result<ExitCode> {
    match command {
        Command::Serve { listen, completion_tolerance_seconds } => {
            let mut config = config;
            if let Some(s) = completion_tolerance_seconds {
                config.completion_tolerance_seconds = s;
            }
            serve::run(&config, listen.as_deref()).await
        }
        Command::Import { kind, file, json, delimiter } => import::run(&config, kind, &file, json, delimiter).await,
        Command::Recompute { as_of, all } => inventory::recompute(&config, as_of.as_deref(), all).await,
        Command::Report { format } => inventory::report(&config, format).await,
        Command::Quarantine { action } => inventory::quarantine(&config, action).await,
        Command::Thresholds { action } => inventory::thresholds(&config, action).await,
        Command::Events { action } => events::run(&config, action).await,
        Command::Scans { action } => inventory::scans(&config, action).await,
        Command::Snapshots { action } => inventory::snapshots(&config, action).await,
        Command::Compute { input, output, formulas, as_of } => {
            inventory::compute(&input, &output, formulas.as_deref(), as_of.as_deref()).await
        }
        Command::Backtest(args) => backtest::run(&config, args).await,
        Command::WorkOrders { action } => pm::work_orders(&config, action).await,
        Command::Formulas { action } => pm::formulas(&config, action).await,
        Command::Token { action } => token::run(&config, action).await,
        Command::Export { what, format, output, no_formula_escape } => {
            export::run(&config, what, format, output.as_deref(), !no_formula_escape).await
        }
        Command::Demo { seed, no_serve, fresh, listen } => {
            demo::run(&config, demo::Options { seed, serve: !no_serve, fresh, listen }).await
        }
        Command::Publish { once } => publish::publish(&config, once).await,
        Command::Dlq { action } => publish::dlq(&config, action).await,
    }
}

/// Parses a `--as-of`/`--at` instant; `None` means now.
fn instant(text: Option<&str>, what: &str) -> anyhow::Result<jiff::Timestamp> {
    use anyhow::Context;
    match text {
        Some(t) => cmms_core::time::parse_timestamp(t).with_context(|| format!("--{what}")),
        None => Ok(jiff::Timestamp::now()),
    }
}
