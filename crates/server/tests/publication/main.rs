//! Publication to an external CMMS over loopback HTTP, every case on SQLite and PostgreSQL (when
//! configured): end to end into a second cmms server, fault injection against a target the test
//! controls, dead letters and replay, shared outbox between publishers, lease take-over.

mod target;

use cmms_core::auth::Scope;
use cmms_core::feeds::{ConsumptionRecord, SnapshotRecord};
use cmms_core::master::{ImportRecord, PartRecord, SiteRecord, SkuMapRecord};
use cmms_core::publication::RetryPolicy;
use cmms_pipeline::feed::{self, Feed};
use cmms_pipeline::import::Quiet;
use cmms_pipeline::publish::{DlqWatch, HttpTransport, PassReport, PublisherSettings, Target, publish_pass};
use cmms_server::AppState;
use cmms_store::case;
use cmms_store::codes::{AlertKind, OutboxStatus, ThresholdBasis};
use cmms_store::master::StoredRecord;
use cmms_store::testing::{Db, TestDb, run_suite};
use cmms_store::thresholds::ReceivedThresholds;
use cmms_store::{Backend, Store};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use target::Fault;

const NOW: i64 = 1_790_000_000_000;

async fn import<R: ImportRecord + StoredRecord>(store: &Store, file: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/site").join(file);
    let r = feed::import(store, Feed::parse(R::KIND).unwrap(), feed::File { path: &path, observer: &mut Quiet }, 1)
        .await
        .unwrap();
    // The example consumption file carries one deliberate conflicting duplicate.
    assert!(r.rejected <= 1 && r.rows > r.rejected, "{file}: {:?}", r.issues);
}

async fn master(store: &Store) {
    import::<SiteRecord>(store, "sites.csv").await;
    import::<PartRecord>(store, "parts.csv").await;
    import::<SkuMapRecord>(store, "sku_map.csv").await;
}

fn target(name: &str, base: &str) -> Target {
    Target {
        name: name.to_owned(),
        base_url: base.to_owned(),
        path_template: cmms_pipeline::publish::DEFAULT_PATH_TEMPLATE.to_owned(),
        token: Some("secret-token".to_owned()),
        timeout: Duration::from_millis(400),
        parts: vec![],
        classes: vec![],
        retry: RetryPolicy { max_attempts: 3, base_delay_ms: 20, max_delay_ms: 200 },
    }
}

fn settings() -> PublisherSettings {
    PublisherSettings { lease_ms: 5_000, concurrency: 4, ..PublisherSettings::new() }
}

/// Creates `n` parts (one class per parity) so that threshold changes can be queued for them.
async fn many_parts(store: &Store, n: usize) -> Vec<String> {
    import::<SiteRecord>(store, "sites.csv").await;
    let dir =
        std::env::temp_dir().join(format!("cmms-pub-{}-{}", std::process::id(), cmms_pipeline::publish::owner_id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("parts.csv");
    let mut csv = String::from(
        "part_id,description,unit,site_id,part_class,lead_time_days,baseline_min,baseline_reorder,baseline_max\n",
    );
    let ids: Vec<String> = (0..n).map(|i| format!("P-{i:05}")).collect();
    for (i, id) in ids.iter().enumerate() {
        csv += &format!("{id},part {i},EA,PLANT-BER,{},7,,,\n", if i % 2 == 0 { "EVEN" } else { "ODD" });
    }
    std::fs::write(&file, csv).unwrap();
    let r = feed::import(store, Feed::Parts, feed::File { path: &file, observer: &mut Quiet }, 1).await.unwrap();
    assert_eq!(r.rejected, 0, "{:?}", r.issues);
    let _ = std::fs::remove_dir_all(dir);
    ids
}

/// Stores a threshold change (as a received one: it writes the outbox rows like a computed one).
async fn change(store: &Store, part: &str, seq: i64) {
    let t = ReceivedThresholds {
        part_id: part.to_owned(),
        sequence_id: seq,
        limits: [seq as f64, seq as f64 + 1.0, seq as f64 + 2.0],
        current_stock: 3.0,
        sync_timestamp: NOW,
        client_id: None,
        received_by: None,
    };
    store.receive_thresholds(&t, NOW + seq).await.unwrap();
}

async fn pending(store: &Store) -> i64 {
    store.outbox_depths().await.unwrap().rows.iter().filter(|r| r.1 == OutboxStatus::Pending).map(|r| r.2).sum()
}

/// Runs passes until nothing is pending (retries included), within `limit`.
async fn drain(store: &Store, targets: &[Target], s: &PublisherSettings, limit: Duration) -> PassReport {
    let transport = Arc::new(HttpTransport::new().unwrap());
    let started = Instant::now();
    let mut total = PassReport::default();
    loop {
        let r = publish_pass(store, &transport, targets, s).await.unwrap();
        total.delivered += r.delivered;
        total.already_applied += r.already_applied;
        total.retried += r.retried;
        total.dead_lettered += r.dead_lettered;
        total.superseded += r.superseded;
        if pending(store).await == 0 {
            return total;
        }
        assert!(started.elapsed() < limit, "outbox not drained in {limit:?}: {total:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Acceptance 1: instance A computes thresholds and publishes them to instance B, a cmms server
/// on its own store; B's thresholds in force equal A's computed ones.
async fn publishes_computed_thresholds_to_a_cmms_server(db: Db) {
    let b = TestDb::new(Backend::Sqlite).await;
    master(&b.store).await;
    let (_, token) = cmms_pipeline::auth::create_token(&b.store, Some("a"), &[Scope::Ingest], 1).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(cmms_server::serve(listener, AppState::new(b.store.clone()), async {
        let _ = stopped.await;
    }));

    let mut to_b = target("plant-b", &base);
    to_b.token = Some(token);
    let a = db.store.clone().with_publication(vec![to_b.route()]);
    master(&a).await;
    import::<ConsumptionRecord>(&a, "consumption.csv").await;
    import::<SnapshotRecord>(&a, "inventory.csv").await;
    cmms_pipeline::inventory::process(&a, NOW).await.unwrap();
    let as_of = cmms_core::time::parse_timestamp("2026-11-01T00:00:00Z").unwrap();
    let run = cmms_pipeline::thresholds::recompute_thresholds(&a, as_of, NOW).await.unwrap();
    assert!(run.changed > 0);
    let computed = a.current_thresholds().await.unwrap();
    assert!(!computed.is_empty());
    assert_eq!(pending(&a).await, computed.len() as i64, "one outbox row per published change");

    let report = drain(&a, std::slice::from_ref(&to_b), &settings(), Duration::from_secs(30)).await;
    assert_eq!(report.delivered, computed.len() as u64, "{report:?}");
    let received = b.store.current_thresholds().await.unwrap();
    for (part, t) in &computed {
        let r = &received[part];
        assert_eq!(r.published, t.published, "{part}");
        assert_eq!(r.sequence_id, t.sequence_id, "{part}");
        assert_eq!(r.basis, ThresholdBasis::Received);
    }

    // An operator approval is a change too: published to B with the next sequence.
    if let Some(part) = computed.values().find(|t| t.basis == ThresholdBasis::Fallback).map(|t| t.part_id.clone()) {
        cmms_pipeline::thresholds::approve(&a, &part, NOW + 1).await.unwrap();
        drain(&a, std::slice::from_ref(&to_b), &settings(), Duration::from_secs(30)).await;
        let now_a = a.current_threshold(&part).await.unwrap().unwrap();
        let now_b = b.store.current_threshold(&part).await.unwrap().unwrap();
        assert_eq!((now_b.published, now_b.sequence_id), (now_a.published, now_a.sequence_id));
    }
    let _ = stop.send(());
    b.cleanup().await;
}

/// Target filters by part and class; a store without routes writes no outbox rows.
async fn outbox_rows_follow_the_target_filters(db: Db) {
    let parts = many_parts(&db.store, 6).await;
    let plain = db.store.clone();
    change(&plain, &parts[0], 1).await;
    assert_eq!(db.store.count_rows("outbox").await.unwrap(), 0);
    let mut only_even = target("even", "http://127.0.0.1:9");
    only_even.classes = vec!["EVEN".into()];
    let mut only_p1 = target("p1", "http://127.0.0.1:9");
    only_p1.parts = vec![parts[1].clone()];
    let routed = db.store.clone().with_publication(vec![only_even.route(), only_p1.route()]);
    for p in &parts {
        change(&routed, p, 2).await;
    }
    let mut rows = routed.column_texts("outbox", "target").await.unwrap();
    rows.sort();
    assert_eq!(rows, ["even", "even", "even", "p1"]);
}

/// Acceptance 2: 5xx bursts, timeouts, dropped connections (before and after applying) and 409s:
/// every part ends at its latest sequence, applied in increasing order, none applied twice,
/// nothing dead-lettered (no change fails three times), no row lost.
async fn faults_are_retried_and_applied_once_in_order(db: Db) {
    let parts = many_parts(&db.store, 24).await;
    let script: target::Script = Arc::new(|part: &str, seq: i64, nth: u32| {
        let k = part.bytes().map(u32::from).sum::<u32>() + seq as u32;
        match (k % 6, nth) {
            (0, 1) => Fault::Status(503),
            (0, 2) => Fault::Status(500),
            (1, 1) => Fault::HangAfterApply,
            (2, 1) => Fault::DropBeforeApply,
            (3, 1) => Fault::DropAfterApply,
            (4, 1) => Fault::Status(429),
            _ => Fault::None,
        }
    });
    let t = target::Target::start("127.0.0.1:0", script).await;
    let cfg = target("faulty", &t.base);
    let store = db.store.clone().with_publication(vec![cfg.route()]);
    let targets = vec![cfg];
    // Changes keep arriving while the publisher works: three sequences per part.
    for seq in 1..=3 {
        for p in &parts {
            change(&store, p, seq).await;
        }
        drain(&store, &targets, &settings(), Duration::from_secs(60)).await;
    }
    let applied = t.applied();
    for p in &parts {
        let list = &applied[p];
        assert!(list.windows(2).all(|w| w[0] < w[1]), "{p}: applied out of order or twice: {list:?}");
        assert_eq!(list.last(), Some(&3), "{p}: {list:?}");
    }
    assert_eq!(store.count_rows("dead_letters").await.unwrap(), 0);
    let statuses = store.column_texts("outbox", "status").await.unwrap();
    assert!(statuses.iter().all(|s| s == "DELIVERED" || s == "SUPERSEDED"), "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| *s == "DELIVERED").count(), parts.len() * 3);
    let attempts = store.count_rows("delivery_attempts").await.unwrap();
    assert!(attempts > (parts.len() * 3) as i64, "faults caused retries: {attempts}");
    assert!(t.seen.lock().unwrap().auth.iter().all(|a| a == "Bearer secret-token"));
}

/// A target down for a while: changes exhaust their retries into the dead-letter queue with the
/// full request and every error; once the target is back, replay delivers them; replaying an
/// entry whose change the target already has (or a newer one) supersedes it instead of sending.
async fn target_down_dead_letters_then_replay_delivers(db: Db) {
    let parts = many_parts(&db.store, 4).await;
    let probe = target::Target::start("127.0.0.1:0", Arc::new(|_: &str, _: i64, _: u32| Fault::None)).await;
    let addr = probe.addr();
    probe.stop();
    drop(probe);
    let cfg = target("down", &format!("http://{addr}"));
    let store = db.store.clone().with_publication(vec![cfg.route()]);
    let targets = vec![cfg];
    for p in &parts {
        change(&store, p, 1).await;
    }
    let report = drain(&store, &targets, &settings(), Duration::from_secs(30)).await;
    assert_eq!(report.dead_lettered, 4, "{report:?}");
    assert_eq!(report.retried, 8, "two retries each before the third failure: {report:?}");
    let dead = store.dead_letters(false).await.unwrap();
    assert_eq!(dead.len(), 4);
    for d in &dead {
        assert!(d.reason.contains("connection error") && d.reason.contains("3 attempt"), "{}", d.reason);
        let req: serde_json::Value = serde_json::from_str(d.request.as_deref().unwrap()).unwrap();
        assert_eq!(req["method"], "PUT");
        assert_eq!(req["url"], format!("http://{addr}/api/v1/inventory/thresholds/{}", d.part_id));
        assert_eq!(req["headers"]["authorization"], "Bearer ***", "the token is never stored");
        assert_eq!(req["body"]["part_id"], d.part_id.as_str());
        assert_eq!(d.sequence_id, Some(1));
        let attempts = store.delivery_attempts(&d.target, &d.part_id, 1).await.unwrap();
        assert_eq!(attempts.len(), 3);
        assert!(attempts.windows(2).all(|w| w[0].at <= w[1].at));
        assert!(attempts.iter().all(|a| a.http_status.is_none() && a.error.is_some()));
    }
    let mut watch = DlqWatch::default();
    watch.refresh(&store, &targets, &settings()).await.unwrap();
    let alert = store.open_alerts().await.unwrap().into_iter().find(|a| a.kind == AlertKind::Dlq).expect("a DLQ alert");
    assert_eq!(alert.subject, "down");
    assert!(alert.message.contains("4 publication(s)"), "{}", alert.message);

    // The target comes back on the same address; one part got a newer change meanwhile.
    let back = target::Target::start(&addr, Arc::new(|_: &str, _: i64, _: u32| Fault::None)).await;
    change(&store, &parts[0], 2).await;
    drain(&store, &targets, &settings(), Duration::from_secs(30)).await;
    for d in &dead {
        assert!(store.replay_dead_letter(d.id, NOW).await.unwrap().is_some());
        assert!(store.replay_dead_letter(d.id, NOW).await.unwrap().is_none(), "replayed once only");
    }
    let report = drain(&store, &targets, &settings(), Duration::from_secs(30)).await;
    assert_eq!(report.delivered, 3, "{report:?}");
    assert_eq!(report.superseded, 1, "part 0's sequence 1 is older than its delivered sequence 2: {report:?}");
    let applied = back.applied();
    assert_eq!(applied[&parts[0]], vec![2]);
    for p in &parts[1..] {
        assert_eq!(applied[p], vec![1]);
    }
    assert!(store.dead_letters(false).await.unwrap().is_empty());
    watch.refresh(&store, &targets, &settings()).await.unwrap();
    assert!(store.open_alerts().await.unwrap().iter().all(|a| a.kind != AlertKind::Dlq), "the alert resolves");
}

/// Other 4xx are dead-lettered at once with the response; 409 counts as delivered.
async fn client_errors_dead_letter_at_once_and_409_is_done(db: Db) {
    let parts = many_parts(&db.store, 2).await;
    let first = parts[0].clone();
    let script: target::Script =
        Arc::new(move |part: &str, _: i64, _: u32| if part == first { Fault::Status(422) } else { Fault::Status(409) });
    let t = target::Target::start("127.0.0.1:0", script).await;
    let cfg = target("strict", &t.base);
    let store = db.store.clone().with_publication(vec![cfg.route()]);
    for p in &parts {
        change(&store, p, 1).await;
    }
    let report = drain(&store, &[cfg], &settings(), Duration::from_secs(30)).await;
    assert_eq!((report.dead_lettered, report.already_applied, report.retried), (1, 1, 0), "{report:?}");
    let dead = store.dead_letters(false).await.unwrap();
    assert_eq!(dead[0].part_id, parts[0]);
    assert!(dead[0].reason.contains("HTTP 422") && dead[0].reason.contains("not retryable"), "{}", dead[0].reason);
    let attempts = store.delivery_attempts("strict", &parts[0], 1).await.unwrap();
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].http_status, Some(422));
    assert!(attempts[0].response.as_deref().unwrap().contains("FAULT"));
}

/// Two publishers on one store never deliver the same change twice, and a lease held by an
/// instance that died is taken over once it expires.
async fn publishers_share_the_outbox_and_take_over_expired_leases(db: Db) {
    let parts = many_parts(&db.store, 40).await;
    let t = target::Target::start("127.0.0.1:0", Arc::new(|_: &str, _: i64, _: u32| Fault::None)).await;
    let cfg = target("shared", &t.base);
    let store = db.store.clone().with_publication(vec![cfg.route()]);
    for p in &parts {
        change(&store, p, 1).await;
    }
    // A dead instance holds part 0's lease for 3 s.
    let names = vec!["shared".to_owned()];
    let now = jiff::Timestamp::now().as_millisecond();
    let claims = store.claim_publications(&names, "dead-instance", now, 3_000, 1000).await.unwrap();
    assert_eq!(claims.len(), parts.len());
    for c in claims.iter().filter(|c| c.part_id != parts[0]) {
        store.release_publication(c, "dead-instance").await.unwrap();
    }
    let targets = vec![cfg];
    let (ta, tb) = (Arc::new(HttpTransport::new().unwrap()), Arc::new(HttpTransport::new().unwrap()));
    let (sa, sb) = (settings(), settings());
    assert_ne!(sa.owner, sb.owner);
    let (a, b) = tokio::join!(publish_pass(&store, &ta, &targets, &sa), publish_pass(&store, &tb, &targets, &sb));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.delivered + b.delivered, parts.len() as u64 - 1, "all but the leased part: {a:?} {b:?}");
    assert!(!t.applied().contains_key(&parts[0]), "a live lease is respected");
    assert!(jiff::Timestamp::now().as_millisecond() < now + 3_000, "the passes ran while the lease lived");
    tokio::time::sleep(Duration::from_millis((now + 3_100 - jiff::Timestamp::now().as_millisecond()).max(0) as u64))
        .await;
    let report = drain(&store, &targets, &settings(), Duration::from_secs(10)).await;
    assert_eq!(report.delivered, 1, "the expired lease is taken over: {report:?}");
    let seen = t.seen.lock().unwrap();
    assert!(seen.requests.values().all(|n| *n == 1), "no change was sent twice");
    assert_eq!(seen.applied.len(), parts.len());
}

fn main() -> std::process::ExitCode {
    run_suite(&[
        case!(publishes_computed_thresholds_to_a_cmms_server),
        case!(outbox_rows_follow_the_target_filters),
        case!(faults_are_retried_and_applied_once_in_order),
        case!(target_down_dead_letters_then_replay_delivers),
        case!(client_errors_dead_letter_at_once_and_409_is_done),
        case!(publishers_share_the_outbox_and_take_over_expired_leases),
    ])
}
