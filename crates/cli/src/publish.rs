//! `cmms publish` (the outbox publisher, once or until a signal) and `cmms dlq list|show|replay`.

use crate::cli::DlqAction;
use crate::config::Config;
use cmms_pipeline::publish::{DlqWatch, HttpTransport, publish_pass, run_publisher};
use cmms_store::Store;
use cmms_store::codes::OutboxStatus;
use jiff::Timestamp;
use std::process::ExitCode;
use std::sync::Arc;

/// Exit code of `cmms dlq replay` when some ids were unknown or already replayed.
const EXIT_SOME_REFUSED: u8 = 5;

/// Delivers the outbox: one pass with `once`, else until SIGINT/SIGTERM.
pub async fn publish(config: &Config, once: bool) -> anyhow::Result<ExitCode> {
    let targets = config.targets()?;
    anyhow::ensure!(
        !targets.is_empty(),
        "no publication targets: add a [[targets]] entry to cmms.toml (see docs/operations.md#publication-to-an-external-cmms)"
    );
    let settings = config.publisher_settings();
    let store = config.open_store().await?;
    let transport = Arc::new(HttpTransport::new()?);
    if once {
        let report = publish_pass(&store, &transport, &targets, &settings).await?;
        DlqWatch::default().refresh(&store, &targets, &settings).await?;
        let depths = store.outbox_depths().await?;
        store.close().await;
        outln!(
            "published: {} delivered, {} already applied, {} to retry, {} dead-lettered, {} superseded",
            report.delivered,
            report.already_applied,
            report.retried,
            report.dead_lettered,
            report.superseded
        );
        for (target, status, n) in depths.rows.iter().filter(|r| r.1 == OutboxStatus::Pending) {
            outln!("  {target}: {n} {} waiting for a retry", status.as_str().to_lowercase());
        }
        for (target, n) in &depths.dead_letters {
            outln!("  {target}: {n} in the dead-letter queue (`cmms dlq list`)");
        }
        return Ok(ExitCode::SUCCESS);
    }
    run_publisher(store.clone(), transport, targets, settings, crate::serve::shutdown_signal()).await;
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

fn time(ms: i64) -> String {
    Timestamp::from_millisecond(ms).map_or_else(|_| ms.to_string(), |t| t.to_string())
}

/// `cmms dlq list|show|replay`.
pub async fn dlq(config: &Config, action: DlqAction) -> anyhow::Result<ExitCode> {
    let store = match action {
        DlqAction::List { .. } | DlqAction::Show { .. } => config.open_existing_store().await?,
        DlqAction::Replay { .. } => Store::open(&config.database_url).await?,
    };
    let code = match action {
        DlqAction::List { all } => {
            let rows = store.dead_letters(all).await?;
            if rows.is_empty() {
                outln!("the dead-letter queue is empty");
            } else {
                outln!(
                    "{:>6}  {:<16} {:<20} {:>8}  {:<24} {:<10} reason",
                    "id",
                    "target",
                    "part",
                    "seq",
                    "at",
                    "replayed"
                );
                for d in &rows {
                    outln!(
                        "{:>6}  {:<16} {:<20} {:>8}  {:<24} {:<10} {}",
                        d.id,
                        d.target,
                        d.part_id,
                        d.sequence_id.map_or_else(|| "-".into(), |s| s.to_string()),
                        time(d.created_at),
                        if d.replayed_at.is_some() { "yes" } else { "no" },
                        d.reason
                    );
                }
            }
            ExitCode::SUCCESS
        }
        DlqAction::Show { id } => {
            let Some(d) = store.dead_letter(id).await? else {
                anyhow::bail!("unknown dead letter {id} (see `cmms dlq list --all`)");
            };
            outln!("dead letter {}: target {}, part {}, outbox row {}", d.id, d.target, d.part_id, d.outbox_id);
            outln!("reason: {}", d.reason);
            outln!("dead-lettered at: {}", time(d.created_at));
            if let Some(r) = d.replayed_at {
                outln!("replayed at: {}", time(r));
            }
            outln!("request: {}", d.request.as_deref().unwrap_or(&d.payload));
            if let Some(seq) = d.sequence_id {
                outln!("attempts (sequence {seq}):");
                for a in store.delivery_attempts(&d.target, &d.part_id, seq).await? {
                    let what = match (a.http_status, &a.error) {
                        (Some(s), _) => format!("HTTP {s}"),
                        (None, Some(e)) => e.clone(),
                        (None, None) => "-".into(),
                    };
                    outln!(
                        "  {} row {} attempt {}: {what} {}",
                        time(a.at),
                        a.outbox_id,
                        a.attempt,
                        a.response.as_deref().unwrap_or("")
                    );
                }
            }
            ExitCode::SUCCESS
        }
        DlqAction::Replay { ids, all } => {
            let ids = if all { store.dead_letters(false).await?.iter().map(|d| d.id).collect() } else { ids };
            anyhow::ensure!(all || !ids.is_empty(), "name dead-letter ids or use --all");
            let now = Timestamp::now().as_millisecond();
            let mut refused = false;
            for id in &ids {
                match store.replay_dead_letter(*id, now).await? {
                    Some(row) => outln!("dead letter {id}: back in the outbox as row {row}"),
                    None if store.dead_letter(*id).await?.is_some() => {
                        eprintln!("dead letter {id}: already replayed");
                        refused = true;
                    }
                    None => {
                        eprintln!("dead letter {id}: unknown");
                        refused = true;
                    }
                }
            }
            if ids.is_empty() {
                outln!("the dead-letter queue is empty: nothing to replay");
            }
            if refused { ExitCode::from(EXIT_SOME_REFUSED) } else { ExitCode::SUCCESS }
        }
    };
    store.close().await;
    Ok(code)
}
