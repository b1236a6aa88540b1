//! Persistence for cmms-pipeline: one [`Store`] over SQLite (embedded default) or PostgreSQL,
//! chosen by URL, with embedded migrations applied on open.
//!
//! Queries are written once with `$n` placeholders and run on both backends through sqlx's `Any`
//! driver; instants are stored as epoch milliseconds and quantities as doubles, so both backends
//! round-trip every value bit for bit. The clock is never read here: callers pass `now`.
//!
//! House rule: an `Option<f64>` is never bound with `.bind(..)` directly; use
//! [`rows::bind_opt_f64`] (sqlx 0.9.0's `Any` driver sends a NULL double as `float4`, which breaks
//! the next execution of the cached statement on PostgreSQL — see `rows::bind`).

pub mod alerts;
pub mod backtests;
pub mod codes;
mod copy;
pub mod corrections;
pub mod dashboard;
pub mod demand;
mod imports;
pub mod inventory;
pub mod master;
mod migrate;
pub mod outbox;
pub mod publication;
pub mod received;
pub mod reliability;
pub mod routing;
pub mod rows;
pub mod sessions;
pub mod sku_map;
pub mod staging;
pub mod stock;
#[cfg(feature = "test-support")]
pub mod testing;
pub mod threshold_history;
pub mod thresholds;
pub mod tokens;
pub mod work_orders;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, AssertSqlSafe, Executor};
use std::time::Duration;

pub use rows::{RowOutcome, SqlValue, UpsertCounts};

/// Which database engine a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite file (WAL mode).
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        })
    }
}

/// Errors of the storage layer, each a reason an operator can act on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URL is neither `sqlite:` nor `postgres:`.
    #[error("unsupported database URL {0:?}: use sqlite://PATH or postgres://USER@HOST/DB")]
    UnsupportedUrl(String),
    /// The database could not be reached or opened. The message holds the driver's error (not
    /// chained as a source too, so an error chain says it once).
    #[error("cannot open the database at {url}: {cause}")]
    Connect {
        /// The URL with any password removed.
        url: String,
        /// The driver's error.
        cause: sqlx::Error,
    },
    /// A migration failed; the database is left at the last good version. The message holds the
    /// driver's error (not chained too).
    #[error("migration {version} ({description}) failed: {cause}")]
    Migration {
        /// The migration's version number.
        version: i64,
        /// What the migration does.
        description: &'static str,
        /// The driver's error.
        cause: sqlx::Error,
    },
    /// An applied migration differs from the one this binary carries.
    #[error(
        "migration {version} in the database differs from this build's (checksum mismatch): \
         the database was created by a different cmms version"
    )]
    MigrationChanged {
        /// The migration's version number.
        version: i64,
    },
    /// The database holds migrations newer than this binary knows.
    #[error("the database is at schema version {found}, newer than this build's {known}: upgrade cmms")]
    SchemaTooNew {
        /// Highest version in the database.
        found: i64,
        /// Highest version this build carries.
        known: i64,
    },
    /// A query failed.
    #[error("database error: {0}")]
    Query(#[from] sqlx::Error),
    /// A stored value breaks a domain rule (written by another tool or an older version).
    #[error("stored {column} is invalid: {reason}")]
    Invalid {
        /// Table and column.
        column: &'static str,
        /// Why it was refused.
        reason: String,
    },
}

impl StoreError {
    /// True when the store is overloaded rather than broken: no pooled connection came free
    /// within the pool's acquire timeout. The request may succeed when retried later.
    pub fn is_overloaded(&self) -> bool {
        matches!(self, StoreError::Query(sqlx::Error::PoolTimedOut))
    }

    /// A stored value that does not parse into its domain type.
    pub fn invalid(column: &'static str, reason: impl std::fmt::Display) -> Self {
        StoreError::Invalid { column, reason: reason.to_string() }
    }
}

/// The persistence handle shared by every stage; cheap to clone.
///
/// On SQLite, writes go through one dedicated writer connection and reads through a separate
/// pool: SQLite admits one writer at a time anyway, and several pooled writers only wait for each
/// other in SQLite's busy handler (sleeps of 1–100 ms), while waiting for the one writer
/// connection is a fair async queue with no sleeping. Write transactions start with
/// `BEGIN IMMEDIATE`, so a writer in another process (`cmms import`) is waited for at the start
/// instead of failing a transaction half-way. On PostgreSQL both are the same pool.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    writer: AnyPool,
    /// One connection of its own for `/healthz`, so a health check never queues behind requests
    /// waiting for `pool` (the same pool where there is only one connection).
    health: AnyPool,
    backend: Backend,
    /// Targets that threshold changes are published to (see [`Store::with_publication`]).
    publication: std::sync::Arc<[publication::PublicationRoute]>,
    /// The SKU map as an index, with the generation it was read at (see [`Store::sku_map_index`]).
    sku_map_cache: inventory::SkuMapCache,
    /// PostgreSQL only: native connections (opened on first use) for `COPY`, which the `Any`
    /// driver does not offer; feed events are written through them (see `copy`).
    bulk: Option<sqlx::PgPool>,
}

/// The default embedded database: `./cmms.db`.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://cmms.db";

/// Turns a user-supplied database location into a driver URL and its backend. A bare path is
/// an SQLite file; SQLite files are created on first use.
pub fn resolve_url(url: &str) -> Result<(String, Backend), StoreError> {
    let url = url.trim();
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok((url.to_owned(), Backend::Postgres));
    }
    let sqlite = if url.starts_with("sqlite:") {
        url.to_owned()
    } else if !url.contains("://") && !url.is_empty() {
        format!("sqlite://{url}")
    } else {
        return Err(StoreError::UnsupportedUrl(redact(url)));
    };
    let with_mode = if sqlite.contains("mode=") || sqlite.contains(":memory:") {
        sqlite
    } else if sqlite.contains('?') {
        format!("{sqlite}&mode=rwc")
    } else {
        format!("{sqlite}?mode=rwc")
    };
    Ok((with_mode, Backend::Sqlite))
}

/// The URL with its password replaced, for messages and logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// Native PostgreSQL connections for `COPY` writes, at most.
const BULK_CONNECTIONS: u32 = 8;

/// Connections of the SQLite read pool.
const SQLITE_READERS: u32 = 4;

/// Pool options for SQLite connections: WAL, foreign keys, a busy timeout for writers of other
/// processes, and a page cache of [`WRITER_CACHE_KIB`] for the writer, [`READER_CACHE_KIB`] for
/// each reader.
///
/// Temporary storage in memory (`temp_store = MEMORY`): the statement and savepoint journals of
/// multi-row writes (a copy of every page a statement first touches) are kept in memory rather
/// than written to a temporary file; they were a fifth of a bulk consumption import's time.
///
/// Durability: `synchronous = NORMAL` in WAL mode. A transaction is in the WAL file (written with
/// `write()`, in the operating system's page cache) when its COMMIT returns, so a crash or
/// `kill -9` of the process loses nothing acknowledged; the WAL is flushed to disk (`fsync`) at
/// each checkpoint. An operating-system crash or power loss can lose the commits since the last
/// checkpoint (the database stays consistent). `FULL` would `fsync` at every commit (about 5 ms on
/// this class of disk), capping a single writer near 200 transactions per second.
///
/// The writer does not checkpoint on commit (`wal_autocheckpoint = 0`, set when `writer` is
/// true): [`checkpoint_in_background`] does it, mostly from a read connection, so the copy of WAL
/// pages into the database and its `fsync` rarely stall a request's commit. A WAL file larger than
/// 128 MiB is cut back to that size when it starts over (`journal_size_limit`), so a burst of
/// writes does not keep its disk space.
fn sqlite_options(connections: u32, writer: bool) -> AnyPoolOptions {
    AnyPoolOptions::new()
        .max_connections(connections)
        .acquire_timeout(Duration::from_secs(30))
        // The writer keeps its connection (and page cache) for the life of the store.
        .idle_timeout(if writer { None } else { Some(Duration::from_secs(600)) })
        .max_lifetime(if writer { None } else { Some(Duration::from_secs(1800)) })
        .after_connect(move |conn, _meta| {
            Box::pin(async move {
                conn.execute(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
                     PRAGMA temp_store = MEMORY; PRAGMA journal_size_limit = 134217728;",
                )
                .await?;
                let cache_kib = if writer { WRITER_CACHE_KIB } else { READER_CACHE_KIB };
                conn.execute(AssertSqlSafe(format!("PRAGMA cache_size = -{cache_kib}"))).await?;
                conn.execute(AssertSqlSafe(format!("PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}"))).await?;
                if writer {
                    conn.execute("PRAGMA wal_autocheckpoint = 0").await?;
                }
                Ok(())
            })
        })
}

/// The health check's PostgreSQL pool: one connection, opened on first use, and a short wait for
/// it (a health check that cannot get it within a second reports the store unavailable).
fn health_options() -> AnyPoolOptions {
    AnyPoolOptions::new().max_connections(1).min_connections(0).acquire_timeout(Duration::from_secs(1))
}

/// SQLite page cache of the writer connection, KiB.
const WRITER_CACHE_KIB: u32 = 32_768;

/// SQLite page cache of each read connection, KiB. Reads mostly scan, and the operating system
/// caches the file for all connections alike; at 32 MiB each the caches of the four readers grew
/// with the tables (a 6 M-row consumption import peaked 25 MB higher, a `recompute --all` over
/// 300,000 parts 120 MB higher) and the recompute was no faster.
const READER_CACHE_KIB: u32 = 8_192;

/// How long a connection waits for another process's lock on the database before it fails.
const BUSY_TIMEOUT_MS: u32 = 10_000;

/// How often the background checkpoint runs.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

/// WAL frames (pages) from which the background checkpoint finishes its work on the writer
/// connection, so that the WAL starts over instead of growing (64 MiB of 4 KiB pages).
const WAL_FINISH_FRAMES: i64 = 16_384;

/// How long the writer's part of a checkpoint waits for readers of older WAL frames, at most.
const WAL_RESTART_WAIT_MS: u32 = 50;

/// Checkpoints the WAL of an SQLite store every [`CHECKPOINT_EVERY`] until the pools close.
///
/// First from a read connection (`PASSIVE`: it copies what no reader still needs while the writer
/// goes on). Under continuous writes that alone never completes — new frames arrive while it
/// copies — and a WAL never completely checkpointed never starts over: it grew by gigabytes in a
/// minute of webhook ingestion, and extending the file cost the writer a sixth of its time. So
/// once the WAL holds [`WAL_FINISH_FRAMES`], the writer connection, between two write
/// transactions, copies the rest (what arrived during the first pass) and waits briefly for
/// readers of old frames (`RESTART`, at most [`WAL_RESTART_WAIT_MS`]); the next transaction then
/// writes the WAL from its start again. When readers stay longer, the next tick tries again.
fn checkpoint_in_background(readers: AnyPool, writer: AnyPool) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if readers.is_closed() || writer.is_closed() {
                return;
            }
            let finished = async {
                let (_, frames, _): (i64, i64, i64) =
                    sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)").fetch_one(&readers).await?;
                if frames >= WAL_FINISH_FRAMES {
                    let mut conn = writer.acquire().await?;
                    let wait = format!("PRAGMA busy_timeout = {WAL_RESTART_WAIT_MS}");
                    sqlx::query(AssertSqlSafe(wait)).execute(&mut *conn).await?;
                    let restarted = sqlx::query("PRAGMA wal_checkpoint(RESTART)").execute(&mut *conn).await;
                    sqlx::query(AssertSqlSafe(format!("PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")))
                        .execute(&mut *conn)
                        .await?;
                    restarted?;
                }
                Ok::<(), sqlx::Error>(())
            };
            if let Err(e) = finished.await {
                if readers.is_closed() || writer.is_closed() {
                    return;
                }
                tracing::warn!(error = %e, "background WAL checkpoint failed; retrying");
            }
        }
    });
}

impl Store {
    /// Opens (creating if needed) the database at `url` and brings its schema up to date.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        install_default_drivers();
        let (driver_url, backend) = resolve_url(url)?;
        let connect_error = |source| StoreError::Connect { url: redact(url), cause: source };
        let store = match backend {
            Backend::Postgres => {
                let pool = AnyPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect(&driver_url)
                    .await
                    .map_err(connect_error)?;
                let health = health_options().connect_lazy(&driver_url).map_err(connect_error)?;
                let bulk = sqlx::postgres::PgPoolOptions::new()
                    .max_connections(BULK_CONNECTIONS)
                    .min_connections(0)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect_lazy(&driver_url)
                    .map_err(connect_error)?;
                Store { bulk: Some(bulk), ..Store::with_pools(pool.clone(), pool, backend).with_health_pool(health) }
            }
            // An in-memory database exists once per connection: one connection does everything.
            Backend::Sqlite if driver_url.contains(":memory:") => {
                let pool = sqlite_options(1, false).connect(&driver_url).await.map_err(connect_error)?;
                Store::with_pools(pool.clone(), pool, backend)
            }
            Backend::Sqlite => {
                // The writer first: it switches the file to WAL before any reader opens it.
                let writer = sqlite_options(1, true).connect(&driver_url).await.map_err(connect_error)?;
                let pool = sqlite_options(SQLITE_READERS, false).connect(&driver_url).await.map_err(connect_error)?;
                checkpoint_in_background(pool.clone(), writer.clone());
                let health = sqlite_options(1, false).connect(&driver_url).await.map_err(connect_error)?;
                Store::with_pools(writer, pool, backend).with_health_pool(health)
            }
        };
        migrate::run(&store).await?;
        Ok(store)
    }

    /// A store over these pools (the same pool twice where one pool does everything).
    pub(crate) fn with_pools(writer: AnyPool, pool: AnyPool, backend: Backend) -> Store {
        let health = pool.clone();
        Store {
            pool,
            writer,
            health,
            backend,
            publication: Vec::new().into(),
            sku_map_cache: Default::default(),
            bulk: None,
        }
    }

    /// The same store with a dedicated pool for [`Store::health_version`].
    fn with_health_pool(self, health: AnyPool) -> Store {
        Store { health, ..self }
    }

    /// The engine behind this store.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The connection pool for reads, for the store's own modules.
    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The writer connection (SQLite) or the pool (PostgreSQL), for single-statement writes.
    pub(crate) fn writer(&self) -> &AnyPool {
        &self.writer
    }

    /// The native PostgreSQL pool for `COPY` writes (`None` on SQLite).
    pub(crate) fn bulk(&self) -> Option<&sqlx::PgPool> {
        self.bulk.as_ref()
    }

    /// Starts a write transaction on the writer: `BEGIN IMMEDIATE` on SQLite (the write lock is
    /// taken at once, so the transaction never fails half-way on a lock), `BEGIN` on PostgreSQL.
    pub(crate) async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => self.writer.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.writer.begin().await,
        }
    }

    /// Checks that the database answers; used by `/healthz`.
    pub async fn health(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// The schema version, read on the health check's own connection (never waiting for the
    /// request pool): what `/healthz` asks.
    pub async fn health_version(&self) -> Result<i64, StoreError> {
        let v: Option<i64> =
            sqlx::query_scalar("SELECT MAX(version) FROM schema_migrations").fetch_one(&self.health).await?;
        Ok(v.unwrap_or(0))
    }

    /// The schema version the database is at.
    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        migrate::current_version(self).await
    }

    /// Closes every connection (waits for in-flight queries).
    pub async fn close(&self) {
        self.pool.close().await;
        self.writer.close().await;
        self.health.close().await;
        if let Some(bulk) = &self.bulk {
            bulk.close().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_urls() {
        assert_eq!(resolve_url("cmms.db").unwrap(), ("sqlite://cmms.db?mode=rwc".into(), Backend::Sqlite));
        assert_eq!(resolve_url("sqlite://x.db?foo=1").unwrap().0, "sqlite://x.db?foo=1&mode=rwc");
        assert_eq!(resolve_url("sqlite::memory:").unwrap().0, "sqlite::memory:");
        assert_eq!(resolve_url("postgres://u@h/db").unwrap().1, Backend::Postgres);
        assert!(resolve_url("mysql://h/db").is_err());
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
    }
}
