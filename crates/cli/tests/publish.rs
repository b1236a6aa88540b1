//! Two `cmms publish` processes share one outbox; one is killed with SIGKILL mid-run. The target
//! (a loopback HTTP server in this test that applies newer sequences and counts them) must end
//! with every change applied exactly once. Runs on SQLite, and on PostgreSQL when
//! `CMMS_TEST_POSTGRES_URL` is set.

mod common;

use cmms_store::Backend;
use cmms_store::publication::PublicationRoute;
use cmms_store::testing::{TestDb, backends};
use cmms_store::thresholds::ReceivedThresholds;
use common::wait_until;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

type Applied = Arc<Mutex<HashMap<String, Vec<i64>>>>;

/// A target that takes 15 ms per request, applies a sequence newer than the part's last (200)
/// and answers 409 otherwise.
fn start_target() -> (String, Applied) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let applied: Applied = Arc::default();
    let seen = applied.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let seen = seen.clone();
            std::thread::spawn(move || handle(stream, &seen));
        }
    });
    (base, applied)
}

fn handle(stream: TcpStream, applied: &Applied) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut length = 0;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        if line == "\r\n" {
            break;
        }
        if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let part = v["part_id"].as_str().unwrap_or_default().to_owned();
    let seq = v["sequence_id"].as_i64().unwrap_or(-1);
    std::thread::sleep(Duration::from_millis(15));
    let code = {
        let mut a = applied.lock().unwrap();
        let list = a.entry(part).or_default();
        if list.last().is_none_or(|l| seq > *l) {
            list.push(seq);
            200
        } else {
            409
        }
    };
    let mut s = stream;
    let _ = write!(s, "HTTP/1.1 {code} X\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{{}}");
}

fn cmms(dir: &Path, config: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cmms"));
    c.current_dir(dir).env_remove("CMMS_DATABASE_URL").arg("--config").arg(config);
    c
}

fn run(backend: Backend) {
    const N: usize = 600;
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let db = rt.block_on(TestDb::new(backend));
    let dir: PathBuf = std::env::temp_dir().join(format!("cmms-cli-publish-{}-{backend}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (base, applied) = start_target();
    let config = dir.join("cmms.toml");
    std::fs::write(
        &config,
        format!(
            "database_url = \"{}\"\n[publication]\nlease_ms = 2000\npoll_ms = 50\nconcurrency = 4\n\n\
             [[targets]]\nname = \"erp\"\nbase_url = \"{base}\"\ntimeout_ms = 800\n",
            db.url
        ),
    )
    .unwrap();
    let sites = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/site/sites.csv");
    let mut parts = String::from(
        "part_id,description,unit,site_id,part_class,lead_time_days,baseline_min,baseline_reorder,baseline_max\n",
    );
    for i in 0..N {
        parts += &format!("P-{i:05},part,EA,PLANT-BER,C,7,,,\n");
    }
    std::fs::write(dir.join("parts.csv"), parts).unwrap();
    for (kind, file) in [("sites", sites), ("parts", dir.join("parts.csv"))] {
        let out = cmms(&dir, &config).args(["import", kind]).arg(file).output().unwrap();
        assert!(out.status.success(), "{out:?}");
    }
    let store = db.store.clone().with_publication(vec![PublicationRoute {
        target: "erp".into(),
        parts: vec![],
        classes: vec![],
    }]);
    rt.block_on(async {
        for i in 0..N {
            let t = ReceivedThresholds {
                part_id: format!("P-{i:05}"),
                sequence_id: 1,
                limits: [1.0, 2.0, 3.0],
                current_stock: 0.0,
                sync_timestamp: 0,
                client_id: None,
                received_by: None,
            };
            store.receive_thresholds(&t, 1).await.unwrap();
        }
    });
    let spawn =
        || -> Child { cmms(&dir, &config).arg("publish").stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap() };
    let mut victim = spawn();
    let mut survivor = spawn();
    let count = || applied.lock().unwrap().len();
    wait_until(Duration::from_secs(60), "100 changes applied", || count() >= 100);
    victim.kill().unwrap(); // SIGKILL: no cleanup, its leases stay until they expire.
    victim.wait().unwrap();
    let at_kill = count();
    assert!(at_kill < N, "the kill happened mid-run ({at_kill} of {N} applied)");
    wait_until(Duration::from_secs(90), "every change applied", || count() == N);
    let pending = || {
        rt.block_on(store.outbox_depths())
            .unwrap()
            .rows
            .iter()
            .filter(|r| r.1 == cmms_store::codes::OutboxStatus::Pending)
            .map(|r| r.2)
            .sum::<i64>()
    };
    wait_until(Duration::from_secs(30), "the outbox is drained", || pending() == 0);
    survivor.kill().unwrap();
    survivor.wait().unwrap();
    let a = applied.lock().unwrap();
    assert_eq!(a.len(), N);
    assert!(a.values().all(|v| v == &[1]), "a change was applied twice");
    drop(a);
    let statuses = rt.block_on(store.column_texts("outbox", "status")).unwrap();
    assert!(statuses.iter().all(|s| s == "DELIVERED"), "no change is lost or dead-lettered");
    rt.block_on(db.cleanup());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn two_publisher_processes_one_killed_lose_nothing_and_apply_nothing_twice() {
    for backend in backends() {
        run(backend);
    }
}
