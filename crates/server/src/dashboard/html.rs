//! How values read on a page: numbers, instants in a site's time zone, overdue. The markup and
//! its escaping are the templates' (`crates/server/templates/`); these give them the text.

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

/// An instant in UTC (`2026-11-20 07:00 UTC`).
pub fn utc(ms: i64) -> String {
    local(ms, "UTC")
}

/// A count with thousands separators (`95,759`).
pub fn count(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// An instant as the value of a `datetime-local` input in a site's time zone
/// (`2026-12-01T01:00`), UTC when the zone is unknown.
pub fn local_input(ms: i64, timezone: &str) -> String {
    let Ok(ts) = jiff::Timestamp::from_millisecond(ms) else { return String::new() };
    let zone = jiff::tz::TimeZone::get(timezone).unwrap_or(jiff::tz::TimeZone::UTC);
    ts.to_zoned(zone).strftime("%Y-%m-%dT%H:%M").to_string()
}

/// The instant a person typed: a local date and time in the site's zone (`2026-12-01T01:00`, as
/// a `datetime-local` input sends it; a time that a DST change skips or repeats is taken as the
/// earlier offset would read it), or RFC 3339 with an offset. The error says what was expected.
pub fn parse_local_input(text: &str, timezone: &str) -> Result<jiff::Timestamp, String> {
    let text = text.trim();
    if let Ok(ts) = text.parse::<jiff::Timestamp>() {
        return Ok(ts);
    }
    let zone = jiff::tz::TimeZone::get(timezone).map_err(|e| format!("time zone {timezone:?}: {e}"))?;
    let civil: jiff::civil::DateTime = text
        .parse()
        .map_err(|_| format!("{text:?} is not a date and time like 2026-12-01T08:30 (site time, {timezone})"))?;
    zone.to_zoned(civil).map(|z| z.timestamp()).map_err(|e| format!("{text:?} in {timezone}: {e}"))
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
    fn counts_get_thousands_separators() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(95_759), "95,759");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(count(-12_345), "-12,345");
    }

    #[test]
    fn site_times_typed_in_a_form_become_instants() {
        let at = parse_local_input("2026-12-01T08:30", "Europe/Berlin").unwrap();
        assert_eq!(at.to_string(), "2026-12-01T07:30:00Z");
        let at = parse_local_input("2026-12-01T08:30", "Australia/Sydney").unwrap();
        assert_eq!(at.to_string(), "2026-11-30T21:30:00Z");
        let at = parse_local_input("2026-12-01T08:30:00+01:00", "Australia/Sydney").unwrap();
        assert_eq!(at.to_string(), "2026-12-01T07:30:00Z", "an explicit offset wins");
        assert!(parse_local_input("yesterday", "Europe/Berlin").unwrap_err().contains("site time, Europe/Berlin"));
        assert!(parse_local_input("2026-12-01T08:30", "No/Such_Zone").is_err());
        let ms = jiff::Timestamp::from_second(1_796_083_200).unwrap().as_millisecond();
        assert_eq!(local_input(ms, "Europe/Berlin"), "2026-12-01T01:00");
        assert_eq!(parse_local_input(&local_input(ms, "Europe/Berlin"), "Europe/Berlin").unwrap().as_millisecond(), ms);
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
