//! `cmms export thresholds|intervals|work-orders|procurement`: the store's current state as CSV or
//! JSON for an ERP upload or a spreadsheet.
//!
//! Instants are written as RFC 3339: in UTC (`…_utc`) and, where a site is known, in the site's
//! local time with its offset, so a spreadsheet user never has to convert epoch milliseconds.
//!
//! CSV is spreadsheet-safe by default: a text cell that a spreadsheet would run as a formula
//! (starting with `=`, `+`, `-`, `@`, tab or carriage return, e.g. a part unit `=HYPERLINK(…)`
//! that came in through an import) is written with a leading `'`
//! (`cmms_core::spreadsheet::escape_formula`); numbers stay numbers. `--no-formula-escape`
//! writes cells as stored, for machine consumers. JSON is never altered.

use crate::cli::{ExportKind, FileFormat};
use crate::config::Config;
use anyhow::Context;
use cmms_core::spreadsheet::escape_formula;
use cmms_core::time::{SiteTz, from_epoch_ms};
use cmms_store::Store;
use serde::Serialize;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

/// Writes one export to `output` (stdout when `None`) and reports the row count on stderr; CSV
/// formula cells are escaped when `escape_formulas`.
pub async fn run(
    config: &Config,
    what: ExportKind,
    format: FileFormat,
    output: Option<&Path>,
    escape_formulas: bool,
) -> anyhow::Result<ExitCode> {
    let store = config.open_existing_store().await?;
    let mut sink: Box<dyn Write> = match output {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let rows = match what {
        ExportKind::Thresholds => write(&mut sink, format, escape_formulas, &thresholds(&store).await?)?,
        ExportKind::Intervals => write(&mut sink, format, escape_formulas, &intervals(&store).await?)?,
        ExportKind::WorkOrders => write(&mut sink, format, escape_formulas, &work_orders(&store).await?)?,
        ExportKind::Procurement => write(&mut sink, format, escape_formulas, &procurement(&store).await?)?,
    };
    sink.flush()?;
    drop(sink);
    if let Some(path) = output {
        eprintln!("exported {rows} rows to {}", path.display());
    }
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

/// Writes `rows` in `format` (CSV formula cells escaped when `escape_formulas`) and returns how
/// many were written.
fn write<T: Serialize>(
    sink: &mut dyn Write,
    format: FileFormat,
    escape_formulas: bool,
    rows: &[T],
) -> anyhow::Result<usize> {
    match format {
        FileFormat::Json => {
            serde_json::to_writer_pretty(&mut *sink, rows)?;
            writeln!(sink)?;
        }
        FileFormat::Csv if !escape_formulas => {
            let mut csv = csv::Writer::from_writer(sink);
            for row in rows {
                csv.serialize(row)?;
            }
            csv.flush()?;
        }
        FileFormat::Csv => {
            // Each row is serialised on its own (header first), read back as cells, and written
            // with every cell passed through the escape; numbers pass it unchanged.
            let mut csv = csv::Writer::from_writer(sink);
            let mut header = true;
            for row in rows {
                let mut one = csv::WriterBuilder::new().has_headers(header).from_writer(Vec::new());
                one.serialize(row)?;
                let bytes = one.into_inner().map_err(|e| anyhow::anyhow!("cannot serialise a CSV row: {e}"))?;
                let mut read = csv::ReaderBuilder::new().has_headers(false).from_reader(bytes.as_slice());
                for (i, record) in read.records().enumerate() {
                    let record = record?;
                    if header && i == 0 {
                        csv.write_record(&record)?;
                    } else {
                        let cells: Vec<_> = record.iter().map(escape_formula).collect();
                        csv.write_record(cells.iter().map(|c| c.as_bytes()))?;
                    }
                }
                header = false;
            }
            csv.flush()?;
        }
    }
    Ok(rows.len())
}

/// One part's stock and thresholds in force.
#[derive(Debug, Serialize)]
struct ThresholdExport {
    part_id: String,
    site_id: String,
    part_class: String,
    unit: String,
    lead_time_days: f64,
    pack_size: Option<f64>,
    min_order_qty: Option<f64>,
    on_hand: Option<f64>,
    available: Option<f64>,
    min: Option<f64>,
    reorder: Option<f64>,
    max: Option<f64>,
    basis: Option<String>,
    sequence_id: Option<i64>,
    paused_reason: Option<String>,
    /// `OK`, why the latest calculation gave no thresholds (`NO_HISTORY`, `INVALID_INPUT` …), or
    /// `NOT_COMPUTED` before the first recompute.
    status: String,
    /// The reason in words when the status is not `OK`.
    status_reason: Option<String>,
    /// The method that computed the thresholds in force (`moving_average`, `moving_average_ss`,
    /// `sba`, `tsb`, `empirical`); empty when none was computed.
    method: Option<String>,
    /// The demand class (demand-driven methods only).
    demand_class: Option<String>,
    /// Forecast demand per day (demand-driven methods only).
    forecast_daily: Option<f64>,
    /// Mean lead-time demand.
    lead_time_demand: Option<f64>,
    /// Standard deviation of lead-time demand.
    sigma: Option<f64>,
    /// Safety factor.
    z: Option<f64>,
    /// Order quantity (max − reorder).
    order_qty: Option<f64>,
    /// Target service level and its kind, e.g. `0.95 cycle`.
    service_level: Option<String>,
}

async fn thresholds(store: &Store) -> anyhow::Result<Vec<ThresholdExport>> {
    let mut errors: std::collections::HashMap<String, (String, Option<String>)> =
        store.threshold_errors().await?.into_iter().map(|e| (e.part_id, (e.code, e.reason))).collect();
    let mut methods = store.threshold_methods().await?;
    Ok(store
        .parts_overview(false)
        .await?
        .into_iter()
        .map(|p| {
            let (status, status_reason) = errors.remove(&p.part_id).unwrap_or_else(|| {
                let status = if p.basis.is_some() { "OK" } else { "NOT_COMPUTED" };
                (status.to_owned(), None)
            });
            let how = methods.remove(&p.part_id);
            let policy = how.as_ref().and_then(|h| h.policy.as_ref());
            let figure = |k: &str| policy.and_then(|v| v.get(k)).and_then(serde_json::Value::as_f64);
            let service_level = policy
                .and_then(|v| Some(format!("{} {}", v.get("service_level")?, v.get("service_level_kind")?.as_str()?)));
            ThresholdExport {
                part_id: p.part_id,
                site_id: p.site_id,
                part_class: p.part_class,
                unit: p.unit,
                lead_time_days: p.lead_time_days,
                pack_size: p.pack_size,
                min_order_qty: p.min_order_qty,
                on_hand: p.on_hand,
                available: p.available,
                min: p.min,
                reorder: p.reorder,
                max: p.max,
                basis: p.basis.map(|b| b.as_str().to_owned()),
                sequence_id: p.sequence_id,
                paused_reason: p.paused_reason,
                status,
                status_reason,
                forecast_daily: figure("forecast_daily"),
                lead_time_demand: figure("lead_time_demand"),
                sigma: figure("sigma"),
                z: figure("z"),
                order_qty: figure("order_qty"),
                service_level,
                demand_class: how.as_ref().and_then(|h| h.demand_class.clone()),
                method: how.map(|h| h.method),
            }
        })
        .collect())
}

/// One asset's PM interval and next due date (the columns of `cmms compute`'s intervals.csv).
#[derive(Debug, Serialize)]
struct IntervalExport {
    asset_id: String,
    asset_group: String,
    site_id: String,
    status: String,
    basis: Option<String>,
    reason: Option<String>,
    n_samples: i64,
    mean_mtbf_hours: Option<f64>,
    cv: Option<f64>,
    interval_days: Option<f64>,
    next_due_at: Option<String>,
    next_due_at_utc: Option<String>,
    formula_version: i64,
    life_component: Option<String>,
    life_source: Option<String>,
    failures: Option<i64>,
    suspensions: Option<i64>,
    exp_mtbf_hours: Option<f64>,
    beta: Option<f64>,
    beta_lower: Option<f64>,
    beta_upper: Option<f64>,
    alpha_hours: Option<f64>,
    mean_life_hours: Option<f64>,
    b10_hours: Option<f64>,
    t_star_hours: Option<f64>,
    seed_interval_days: Option<f64>,
    cost_rate: Option<f64>,
    cost_rate_seed: Option<f64>,
}

async fn intervals(store: &Store) -> anyhow::Result<Vec<IntervalExport>> {
    Ok(store
        .pm_intervals()
        .await?
        .into_iter()
        .map(|r| IntervalExport {
            asset_id: r.asset_id,
            asset_group: r.asset_group,
            site_id: r.site_id,
            status: r.status.as_str().to_owned(),
            basis: r.basis.map(|b| b.as_str().to_owned()),
            reason: r.reason.map(|r| r.code().to_owned()),
            n_samples: r.n_samples,
            mean_mtbf_hours: r.mean_mtbf_hours,
            cv: r.cv,
            interval_days: r.interval_days,
            next_due_at: r.next_due_local,
            next_due_at_utc: r.next_due_at.map(utc),
            formula_version: r.formula_version,
            life_component: r.life.life_basis.and(r.life.component.clone()),
            life_source: r.life.life_source.map(|s| s.as_str().to_owned()),
            failures: r.life.failures,
            suspensions: r.life.suspensions,
            exp_mtbf_hours: r.life.exp_mtbf_hours,
            beta: r.life.beta,
            beta_lower: r.life.beta_lower,
            beta_upper: r.life.beta_upper,
            alpha_hours: r.life.alpha_hours,
            mean_life_hours: r.life.mean_life_hours,
            b10_hours: r.life.b10_hours,
            t_star_hours: r.life.t_star_hours,
            seed_interval_days: r.life.seed_interval_days,
            cost_rate: r.life.cost_rate,
            cost_rate_seed: r.life.cost_rate_seed,
        })
        .collect())
}

/// One PM work order, with its due date in site time and in UTC.
#[derive(Debug, Serialize)]
struct WorkOrderExport {
    id: i64,
    asset_id: String,
    plan_id: String,
    state: String,
    due_at: String,
    due_at_utc: String,
    timezone: String,
    completed_at_utc: Option<String>,
    previous_id: Option<i64>,
    updated_at_utc: String,
}

async fn work_orders(store: &Store) -> anyhow::Result<Vec<WorkOrderExport>> {
    Ok(store
        .work_orders(None, None)
        .await?
        .into_iter()
        .map(|w| WorkOrderExport {
            id: w.id,
            asset_id: w.asset_id,
            plan_id: w.plan_id,
            state: w.state.as_str().to_owned(),
            due_at: local(w.due_at, &w.timezone),
            due_at_utc: utc(w.due_at),
            timezone: w.timezone,
            completed_at_utc: w.completed_at.map(utc),
            previous_id: w.previous_id,
            updated_at_utc: utc(w.updated_at),
        })
        .collect())
}

/// One procurement request.
#[derive(Debug, Serialize)]
struct ProcurementExport {
    id: i64,
    part_id: String,
    quantity: f64,
    status: String,
    reason: String,
    created_at_utc: String,
    updated_at_utc: String,
}

async fn procurement(store: &Store) -> anyhow::Result<Vec<ProcurementExport>> {
    Ok(store
        .procurement_requests(None)
        .await?
        .into_iter()
        .map(|p| ProcurementExport {
            id: p.id,
            part_id: p.part_id,
            quantity: p.quantity,
            status: p.status.as_str().to_owned(),
            reason: p.reason,
            created_at_utc: utc(p.created_at),
            updated_at_utc: utc(p.updated_at),
        })
        .collect())
}

/// An epoch-millisecond instant as RFC 3339 UTC.
fn utc(ms: i64) -> String {
    from_epoch_ms(ms).to_string()
}

/// An epoch-millisecond instant as RFC 3339 with the site's offset (UTC when the zone is unknown).
fn local(ms: i64, tz: &str) -> String {
    let ts = from_epoch_ms(ms);
    match SiteTz::parse(tz) {
        Ok(z) => ts.to_zoned(z.zone()).strftime("%Y-%m-%dT%H:%M:%S%:z").to_string(),
        Err(_) => ts.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Row {
        text: String,
        number: f64,
        count: i64,
        missing: Option<String>,
    }

    fn csv(escape: bool, rows: &[Row]) -> String {
        let mut out = Vec::new();
        write(&mut out, FileFormat::Csv, escape, rows).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn formula_cells_are_escaped_and_numbers_stay_numbers() {
        let rows = [
            Row { text: "=1+1".into(), number: -3.5, count: -2, missing: None },
            Row { text: "-1+cmd|' /C calc'!A0".into(), number: 0.25, count: 7, missing: Some("@x".into()) },
            Row { text: "\"q\",\tx".into(), number: 1e-7, count: 0, missing: Some("plain".into()) },
        ];
        assert_eq!(
            csv(true, &rows),
            "text,number,count,missing\n'=1+1,-3.5,-2,\n'-1+cmd|' /C calc'!A0,0.25,7,'@x\n\"\"\"q\"\",\tx\",1e-7,0,plain\n"
        );
        assert_eq!(
            csv(false, &rows),
            "text,number,count,missing\n=1+1,-3.5,-2,\n-1+cmd|' /C calc'!A0,0.25,7,@x\n\"\"\"q\"\",\tx\",1e-7,0,plain\n"
        );
        assert_eq!(csv(true, &[]), "", "no rows, no header (as before)");
    }
}
