//! `cmms backtest`: parse the flags, run the pipeline's replay off the async runtime, print the
//! per-policy table and the frontier (or the whole report as JSON), and save the report in the
//! database for the dashboard (unless `--no-save`).

use crate::cli::{BacktestArgs, OutputFormat};
use crate::config::{Config, store_name};
use anyhow::{Context, bail};
use cmms_core::formula::{FormulaSet, ThresholdMethod};
use cmms_pipeline::compute::{
    BacktestReport, BacktestSettings, Review, backtest_folder, backtest_parts, stored_history,
};
use std::process::ExitCode;

fn method(name: &str) -> anyhow::Result<Option<ThresholdMethod>> {
    Ok(Some(match name {
        "seed" => return Ok(None),
        "moving_average" => ThresholdMethod::MovingAverage,
        "sba" => ThresholdMethod::Sba,
        "tsb" => ThresholdMethod::Tsb,
        "empirical" => ThresholdMethod::Empirical,
        "auto" => ThresholdMethod::Auto,
        other => bail!("--policies: unknown policy {other:?} (seed, moving_average, sba, tsb, empirical, auto)"),
    }))
}

fn date(text: Option<&str>, flag: &str) -> anyhow::Result<Option<jiff::civil::Date>> {
    text.map(|t| t.parse().with_context(|| format!("--{flag}: {t:?} is not a date (YYYY-MM-DD)"))).transpose()
}

/// Runs `cmms backtest`.
pub async fn run(config: &Config, args: BacktestArgs) -> anyhow::Result<ExitCode> {
    let formulas = match &args.formulas {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
            FormulaSet::parse(&text).with_context(|| format!("{}", path.display()))?
        }
        None => FormulaSet::defaults(),
    };
    let review = match args.review.as_str() {
        "monthly" => Review::Monthly,
        n => match n.parse::<u32>() {
            Ok(days) if days > 0 => Review::Days(days),
            _ => bail!("--review: {n:?} is neither `monthly` nor a number of days above 0"),
        },
    };
    for (flag, v) in [("holding-cost", args.holding_cost), ("ordering-cost", args.ordering_cost)] {
        if !(v.is_finite() && v >= 0.0) {
            bail!("--{flag}: must be a number >= 0 (got {v})");
        }
    }
    let mut policies = Vec::new();
    for name in &args.policies {
        policies.push((name.clone(), method(name)?));
    }
    if policies.is_empty() {
        bail!("--policies: name at least one policy");
    }
    let settings = BacktestSettings {
        start: date(args.start.as_deref(), "start")?,
        end: date(args.end.as_deref(), "end")?,
        burn_in_days: args.burn_in_days,
        review,
        backorders: args.backorders,
        whole_units: args.whole_units,
        holding_cost: args.holding_cost,
        ordering_cost: args.ordering_cost,
        frontier: !args.no_frontier,
        policies,
    };
    let now = jiff::Timestamp::now();
    let (report, source) = match &args.input {
        Some(input) => {
            let window = cmms_core::time::TimeWindow::events(now);
            (
                tokio::task::block_in_place(|| backtest_folder(input, &formulas, &settings, window))?,
                input.display().to_string(),
            )
        }
        None => {
            let store = config.open_existing_store().await?;
            let history = stored_history(&store, now.as_millisecond()).await?;
            store.close().await;
            let report = tokio::task::block_in_place(|| {
                backtest_parts(history, &formulas, &settings, cmms_pipeline::compute::ComputeReport::default())
            });
            (report, format!("stored history of {}", store_name(&config.database_url)))
        }
    };
    for issue in &report.input.issues {
        eprintln!("{issue}");
    }
    match args.format {
        OutputFormat::Json => outln!("{}", serde_json::to_string_pretty(&report)?),
        OutputFormat::Table => print_table(&report),
    }
    if !args.no_save {
        let store = config.open_store().await?;
        let id = store.save_backtest_report(now.as_millisecond(), &source, &serde_json::to_string(&report)?).await?;
        store.close().await;
        eprintln!(
            "report saved as backtest {id} in {} (the dashboard's Backtest page shows the latest; --no-save skips this)",
            store_name(&config.database_url)
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn print_table(r: &BacktestReport) {
    let show = |d: Option<jiff::civil::Date>| d.map_or_else(|| "-".to_owned(), |d| d.to_string());
    outln!(
        "{} parts, reviews {} ({} from {} to before {}), {} days simulated, {}{}",
        r.parts,
        r.reviews,
        match r.review {
            Review::Monthly => "monthly".to_owned(),
            Review::Days(n) => format!("every {n} days"),
        },
        show(r.start),
        show(r.end),
        r.simulated_days,
        if r.backorders { "backorders" } else { "lost sales" },
        if r.whole_units { ", whole units" } else { "" },
    );
    let mut table = crate::out::table(
        &["policy", "class", "fill rate", "CSL", "avg stock", "orders/p-yr", "cost/p-yr"],
        &[2, 3, 4, 5, 6],
    );
    for p in &r.policies {
        let rows = std::iter::once(("(all)", &p.summary))
            .chain(p.by_part_class.iter().map(|(k, s)| (k.as_str(), s)))
            .chain(p.by_demand_class.iter().map(|(k, s)| (k.as_str(), s)));
        for (class, s) in rows {
            table.add_row([
                p.name.clone(),
                class.to_owned(),
                format!("{:.2}%", 100.0 * s.fill_rate),
                format!("{:.2}%", 100.0 * s.cycle_service_level),
                format!("{:.3}", s.avg_on_hand),
                format!("{:.2}", s.orders_per_part_year),
                format!("{:.2}", s.cost_per_part_year),
            ]);
        }
    }
    crate::out::print_table(&table);
    if let Some(seed) = r.policies.first().filter(|_| !r.frontier.is_empty()) {
        outln!(
            "frontier against {} (fill rate {:.2}%, avg stock {:.3}):",
            seed.name,
            100.0 * seed.summary.fill_rate,
            seed.summary.avg_on_hand
        );
        for f in &r.frontier {
            let (a, b) = (&f.at_seed_stock, &f.at_seed_fill_rate);
            outln!(
                "  {:<12} same stock: {:?} {:.4} -> fill rate {:.2}% ({:+.2} points), {:.2} orders/p-yr{}; \
                 same fill rate: {:.4} -> avg stock {:.3} ({:+.1}%), {:.2} orders/p-yr{}",
                f.policy,
                f.knob,
                a.knob_value,
                100.0 * a.summary.fill_rate,
                100.0 * (a.summary.fill_rate - seed.summary.fill_rate),
                a.summary.orders_per_part_year,
                if a.reached { "" } else { " (range end)" },
                b.knob_value,
                b.summary.avg_on_hand,
                100.0 * (b.summary.avg_on_hand / seed.summary.avg_on_hand - 1.0),
                b.summary.orders_per_part_year,
                if b.reached { "" } else { " (range end)" },
            );
        }
    }
    outln!("replay {} ms, frontier {} ms", r.replay_ms, r.frontier_ms);
}
