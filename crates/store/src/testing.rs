//! Test support: a fresh, isolated store per test on SQLite (a temporary file) or PostgreSQL
//! (a schema of its own in the database named by `CMMS_TEST_POSTGRES_URL`).

use crate::{Backend, Store, StoreError};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

/// The environment variable naming the PostgreSQL database for tests.
pub const POSTGRES_URL_ENV: &str = "CMMS_TEST_POSTGRES_URL";

/// The PostgreSQL URL for tests, if configured (empty counts as unset).
pub fn postgres_url() -> Option<String> {
    std::env::var(POSTGRES_URL_ENV).ok().filter(|s| !s.trim().is_empty())
}

/// The backends tests should run on here: SQLite always, PostgreSQL when configured.
pub fn backends() -> Vec<Backend> {
    let mut b = vec![Backend::Sqlite];
    if postgres_url().is_some() {
        b.push(Backend::Postgres);
    }
    b
}

/// One test's private database; dropped with [`TestDb::cleanup`].
#[derive(Debug)]
pub struct TestDb {
    /// The URL to open it with (also usable by a spawned `cmms` process).
    pub url: String,
    /// The open store.
    pub store: Store,
    sqlite_dir: Option<PathBuf>,
    pg: Option<(String, String)>,
}

fn unique_name() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    format!("t{}_{}_{}", std::process::id(), nanos, N.fetch_add(1, Ordering::Relaxed))
}

impl TestDb {
    /// Creates a fresh database on `backend`. Panics with a clear message if PostgreSQL is
    /// requested but not configured or reachable (tests only).
    pub async fn new(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => {
                let dir = std::env::temp_dir().join(format!("cmms-test-{}", unique_name()));
                std::fs::create_dir_all(&dir).expect("create temp dir");
                let url = format!("sqlite://{}", dir.join("cmms.db").display());
                let store = Store::open(&url).await.expect("open sqlite test store");
                TestDb { url, store, sqlite_dir: Some(dir), pg: None }
            }
            Backend::Postgres => {
                let base = postgres_url().unwrap_or_else(|| panic!("{POSTGRES_URL_ENV} is not set"));
                let schema = unique_name();
                let admin = Store::open_unmigrated(&base).await.expect("connect to PostgreSQL");
                admin.execute_raw(&format!("CREATE SCHEMA {schema}")).await.expect("create schema");
                admin.close().await;
                let sep = if base.contains('?') { '&' } else { '?' };
                let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
                let store = Store::open(&url).await.expect("open postgres test store");
                TestDb { url, store, sqlite_dir: None, pg: Some((base, schema)) }
            }
        }
    }

    /// Closes the store and removes the database.
    pub async fn cleanup(self) {
        self.store.close().await;
        if let Some(dir) = self.sqlite_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
        if let Some((base, schema)) = self.pg
            && let Ok(admin) = Store::open_unmigrated(&base).await
        {
            let _ = admin.execute_raw(&format!("DROP SCHEMA {schema} CASCADE")).await;
            admin.close().await;
        }
    }
}

impl Store {
    /// Connects without migrating (test administration only).
    async fn open_unmigrated(url: &str) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let (driver_url, backend) = crate::resolve_url(url)?;
        let pool = sqlx::any::AnyPoolOptions::new()
            .max_connections(1)
            .connect(&driver_url)
            .await
            .map_err(|source| StoreError::Connect { url: crate::redact(url), cause: source })?;
        Ok(Store::with_pools(pool.clone(), pool, backend))
    }

    /// Checks that a statement executed first with a NULL double and then with a value (same
    /// cached statement, same connection) works — the sqlx `Any` NULL-encoding pitfall.
    pub async fn check_null_then_value_doubles(&self) -> Result<(), StoreError> {
        let mut conn = self.pool().acquire().await?;
        sqlx::raw_sql("CREATE TEMPORARY TABLE null_probe (v DOUBLE PRECISION)").execute(&mut *conn).await?;
        for v in [None, Some(1.5), None, Some(2.5)] {
            crate::rows::bind_opt_f64(sqlx::query("INSERT INTO null_probe (v) VALUES ($1)"), v)
                .execute(&mut *conn)
                .await?;
        }
        let sum: Option<f64> = sqlx::query_scalar("SELECT SUM(v) FROM null_probe").fetch_one(&mut *conn).await?;
        assert_eq!(sum, Some(4.0));
        Ok(())
    }

    /// Runs raw SQL (test administration only).
    pub async fn execute_raw(&self, sql: &str) -> Result<(), StoreError> {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned())).execute(self.writer()).await?;
        Ok(())
    }

    /// Every value of a text column, NULLs as empty strings (test inspection only).
    pub async fn column_texts(&self, table: &str, column: &str) -> Result<Vec<String>, StoreError> {
        let sql = format!("SELECT COALESCE({column}, '') FROM {table}");
        Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_all(self.pool()).await?)
    }
}

/// What a test case receives: the fresh store and the URL to reach it from another process.
#[derive(Debug, Clone)]
pub struct Db {
    /// The open store.
    pub store: Store,
    /// Its URL.
    pub url: String,
}

/// A test case that runs against one fresh database.
pub type Case = fn(Db) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// Runs `cases` as a test binary (`harness = false`): every case once per backend, each on its own
/// database. PostgreSQL cases are listed as ignored, with a notice, when `CMMS_TEST_POSTGRES_URL`
/// is unset; under `CI=true` that is an error, so CI cannot silently skip them.
pub fn run_suite(cases: &[(&'static str, Case)]) -> std::process::ExitCode {
    let args = libtest_mimic::Arguments::from_args();
    let pg = postgres_url().is_some();
    if !pg {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            eprintln!("error: CI=true but {POSTGRES_URL_ENV} is not set; the PostgreSQL tests must run in CI");
            return std::process::ExitCode::FAILURE;
        }
        println!(
            "note: {} PostgreSQL test(s) skipped (shown as ignored): set {POSTGRES_URL_ENV}=postgres://… to run them",
            cases.len()
        );
    }
    let mut trials = Vec::new();
    for &(name, case) in cases {
        for backend in [Backend::Sqlite, Backend::Postgres] {
            let trial = libtest_mimic::Trial::test(format!("{name}::{backend}"), move || {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .map_err(|e| e.to_string())?;
                rt.block_on(async move {
                    let db = TestDb::new(backend).await;
                    let ctx = Db { store: db.store.clone(), url: db.url.clone() };
                    let outcome = tokio::spawn(case(ctx)).await;
                    db.cleanup().await;
                    outcome.map_err(|e| match e.try_into_panic() {
                        Ok(p) => p
                            .downcast_ref::<String>()
                            .cloned()
                            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                            .unwrap_or_else(|| "test panicked".into())
                            .into(),
                        Err(e) => e.to_string().into(),
                    })
                })
            });
            trials.push(trial.with_ignored_flag(backend == Backend::Postgres && !pg));
        }
    }
    libtest_mimic::run(&args, trials).exit_code()
}

/// Declares an async test case for [`run_suite`]: `case!(name)` refers to `async fn name(db: Db)`.
#[macro_export]
macro_rules! case {
    ($f:path) => {
        (stringify!($f), (|db| Box::pin($f(db))) as $crate::testing::Case)
    };
}
