//! Server-rendered HTML: escaping, the page layout, tables and time formatting. No templates
//! engine and no JavaScript: pages are plain HTML forms and inline SVG, served by the binary.

use std::fmt::Write;

/// Escapes text for HTML element content and attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes a path segment.
pub fn seg(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// The pages of the navigation bar: (path, label).
const NAV: [(&str, &str); 9] = [
    ("/", "Overview"),
    ("/parts", "Parts"),
    ("/procurement", "Procurement"),
    ("/work-orders", "Work orders"),
    ("/calendar", "PM calendar"),
    ("/alerts", "Alerts"),
    ("/quarantine", "Quarantine"),
    ("/dlq", "Dead letters"),
    ("/assets", "Assets"),
];

const STYLE: &str = "
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1d2733;background:#f4f6f8}
header{background:#1d3557;color:#fff;padding:.5rem 1rem;display:flex;gap:1rem;align-items:center;flex-wrap:wrap}
a{color:#1d4e89}header a{color:#dfe9f5;text-decoration:none}header a.on{color:#fff;font-weight:600;border-bottom:2px solid #f4a261}
header .who{margin-left:auto;font-size:12px}main{padding:1rem 1.5rem;max-width:1200px}
h1{font-size:1.4rem;margin:.2rem 0 1rem}h2{font-size:1.1rem;margin:1.5rem 0 .5rem}
table{border-collapse:collapse;background:#fff;width:100%;margin-bottom:1rem}
th,td{padding:.3rem .5rem;border-bottom:1px solid #e1e5ea;text-align:left;vertical-align:top}
th{background:#eef1f4;font-weight:600}td.n{text-align:right;font-variant-numeric:tabular-nums}
tr.hl td{background:#fff3cd}.cards{display:flex;flex-wrap:wrap;gap:.75rem}
.card{background:#fff;border:1px solid #e1e5ea;border-radius:6px;padding:.6rem .9rem;min-width:10rem;
text-decoration:none;color:inherit}.card:hover{border-color:#1d4e89}
.card b{display:block;font-size:1.5rem}.card.warn{border-color:#e9c46a;background:#fff8e6}
.flash{background:#e8f5e9;border:1px solid #a5d6a7;padding:.5rem;margin-bottom:1rem}
.err{background:#fdecea;border-color:#f5c2c0}form.inline{display:inline}
button{cursor:pointer;white-space:nowrap}svg{background:#fff;border:1px solid #e1e5ea}.muted{color:#6b7785}
svg.plot{width:100%;max-width:900px;height:auto}td a,td.id,.nowrap{white-space:nowrap}
.badge{display:inline-block;font-size:11px;font-weight:600;padding:0 .4rem;border-radius:3px;white-space:nowrap}
.overdue{background:#e63946;color:#fff}tr.late td{background:#fdecea}
";

/// A whole page: layout, navigation (with `active` highlighted), who is signed in, and `body`.
pub fn page(title: &str, active: &str, who: Option<&str>, body: &str) -> String {
    let mut nav = String::new();
    for (path, label) in NAV {
        let class = if path == active { " class=\"on\"" } else { "" };
        let _ = write!(nav, "<a href=\"{path}\"{class}>{label}</a>");
    }
    let who = match who {
        Some(name) => format!(
            "<span class=\"who\">signed in as {} <form class=\"inline\" method=\"post\" action=\"/logout\">\
             <button>Sign out</button></form></span>",
            esc(name)
        ),
        None => String::new(),
    };
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{} · cmms</title>\
         <style>{STYLE}</style></head><body><header><strong>cmms</strong>{nav}{who}</header><main>{body}</main>\
         </body></html>",
        esc(title)
    )
}

/// A table with a header row; `rows` are already-rendered `<tr>` contents (cells).
pub fn table(headers: &[&str], rows: &[String]) -> String {
    if rows.is_empty() {
        return "<p class=\"muted\">Nothing here.</p>".to_owned();
    }
    let mut out = String::from("<table><thead><tr>");
    for h in headers {
        let _ = write!(out, "<th>{}</th>", esc(h));
    }
    out.push_str("</tr></thead><tbody>");
    for r in rows {
        out.push_str(r);
    }
    out.push_str("</tbody></table>");
    out
}

/// A number for a table cell: up to 2 decimals, trailing zeros dropped; `—` when absent.
pub fn num(v: Option<f64>) -> String {
    match v {
        Some(v) => {
            let s = format!("{v:.2}");
            s.trim_end_matches('0').trim_end_matches('.').to_owned()
        }
        None => "—".to_owned(),
    }
}

/// An instant in a site's time zone (`2026-11-20 08:00 CET`), or UTC when the zone is unknown.
pub fn local(ms: i64, timezone: &str) -> String {
    let Ok(ts) = jiff::Timestamp::from_millisecond(ms) else { return ms.to_string() };
    let zone = jiff::tz::TimeZone::get(timezone).unwrap_or(jiff::tz::TimeZone::UTC);
    ts.to_zoned(zone).strftime("%Y-%m-%d %H:%M %Z").to_string()
}

/// A local time given as RFC 3339 with an offset (`2026-11-17T19:16:30+01:00`) for a person:
/// in `timezone` when known (`2026-11-17 19:16 CET`), else with its offset
/// (`2026-11-17 19:16 +01:00`); text that does not parse is shown as it is.
pub fn local_text(text: &str, timezone: Option<&str>) -> String {
    use jiff::fmt::temporal::{Pieces, PiecesOffset};
    let Ok(ts) = text.parse::<jiff::Timestamp>() else { return text.to_owned() };
    if let Some(tz) = timezone.and_then(|t| jiff::tz::TimeZone::get(t).ok()) {
        return ts.to_zoned(tz).strftime("%Y-%m-%d %H:%M %Z").to_string();
    }
    let offset = match Pieces::parse(text).ok().and_then(|p| p.offset()) {
        Some(PiecesOffset::Numeric(n)) => n.offset(),
        _ => jiff::tz::Offset::UTC,
    };
    ts.to_zoned(jiff::tz::TimeZone::fixed(offset)).strftime("%Y-%m-%d %H:%M %:z").to_string()
}

/// Whether a PM work order in `state`, due at `due_ms`, is past due at `now_ms` (open states only).
pub fn overdue(state: cmms_core::work_order::WoState, due_ms: i64, now_ms: i64) -> bool {
    state.is_open() && due_ms < now_ms
}

/// The overdue badge shown next to a due date.
pub const OVERDUE_BADGE: &str = " <span class=\"badge overdue\">overdue</span>";

/// An instant in UTC (`2026-11-20 07:00 UTC`).
pub fn utc(ms: i64) -> String {
    local(ms, "UTC")
}

#[cfg(test)]
mod tests {
    use super::*;
    use cmms_core::work_order::WoState;

    #[test]
    fn local_times_read_as_a_person_would() {
        let due = "2026-11-17T19:16:30+01:00";
        assert_eq!(local_text(due, Some("Europe/Berlin")), "2026-11-17 19:16 CET");
        assert_eq!(local_text(due, Some("Australia/Sydney")), "2026-11-18 05:16 AEDT");
        assert_eq!(local_text(due, None), "2026-11-17 19:16 +01:00");
        assert_eq!(local_text(due, Some("No/Such_Zone")), "2026-11-17 19:16 +01:00");
        assert_eq!(local_text("2026-11-17T18:16:30Z", None), "2026-11-17 18:16 +00:00");
        assert_eq!(local_text("not a time", None), "not a time");
    }

    #[test]
    fn only_open_orders_past_their_due_date_are_overdue() {
        assert!(overdue(WoState::Scheduled, 10, 11));
        assert!(overdue(WoState::MaterialPending, 10, 11));
        assert!(!overdue(WoState::Scheduled, 10, 10));
        assert!(!overdue(WoState::Completed, 10, 11));
        assert!(!overdue(WoState::Cancelled, 10, 11));
    }
}
