//! Embedded schema migrations, applied in order on open, each in its own transaction.
//!
//! A small migrator of our own instead of sqlx's: it runs unchanged on both backends through the
//! `Any` driver and needs no proc-macro crates. Applied versions and checksums are recorded in
//! `schema_migrations`; a changed migration or a database newer than the binary is refused.
//! On PostgreSQL an advisory lock serialises instances starting at the same time.

use crate::{Backend, Store, StoreError};
use sqlx::AssertSqlSafe;

struct Migration {
    version: i64,
    description: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        description: "data model",
        sqlite: include_str!("../migrations/sqlite/0001_data_model.sql"),
        postgres: include_str!("../migrations/postgres/0001_data_model.sql"),
    },
    Migration {
        version: 2,
        description: "pm pipeline details",
        sqlite: include_str!("../migrations/sqlite/0002_pm.sql"),
        postgres: include_str!("../migrations/postgres/0002_pm.sql"),
    },
    Migration {
        version: 3,
        description: "inventory pipeline",
        sqlite: include_str!("../migrations/sqlite/0003_inventory.sql"),
        postgres: include_str!("../migrations/postgres/0003_inventory.sql"),
    },
    Migration {
        version: 4,
        description: "covering index for the threshold aggregate",
        sqlite: include_str!("../migrations/sqlite/0004_consumption_covering_index.sql"),
        postgres: include_str!("../migrations/postgres/0004_consumption_covering_index.sql"),
    },
    Migration {
        version: 5,
        description: "thresholds received over the API",
        sqlite: include_str!("../migrations/sqlite/0005_received_thresholds.sql"),
        postgres: include_str!("../migrations/postgres/0005_received_thresholds.sql"),
    },
    Migration {
        version: 6,
        description: "publication leases and dead-letter context",
        sqlite: include_str!("../migrations/sqlite/0006_publication.sql"),
        postgres: include_str!("../migrations/postgres/0006_publication.sql"),
    },
    Migration {
        version: 7,
        description: "change marks for the incremental threshold recompute",
        sqlite: include_str!("../migrations/sqlite/0007_threshold_marks.sql"),
        postgres: include_str!("../migrations/postgres/0007_threshold_marks.sql"),
    },
    Migration {
        version: 8,
        description: "sku-map generation for the in-memory SKU index",
        sqlite: include_str!("../migrations/sqlite/0008_sku_map_generation.sql"),
        postgres: include_str!("../migrations/postgres/0008_sku_map_generation.sql"),
    },
    Migration {
        version: 9,
        description: "voided events (corrections)",
        sqlite: include_str!("../migrations/sqlite/0009_event_voids.sql"),
        postgres: include_str!("../migrations/postgres/0009_event_voids.sql"),
    },
    Migration {
        version: 10,
        description: "dashboard sessions",
        sqlite: include_str!("../migrations/sqlite/0010_dashboard_sessions.sql"),
        postgres: include_str!("../migrations/postgres/0010_dashboard_sessions.sql"),
    },
    Migration {
        version: 11,
        description: "threshold method and demand class",
        sqlite: include_str!("../migrations/sqlite/0011_threshold_method.sql"),
        postgres: include_str!("../migrations/postgres/0011_threshold_method.sql"),
    },
    Migration {
        version: 12,
        description: "part pack size and minimum order quantity",
        sqlite: include_str!("../migrations/sqlite/0012_part_packs.sql"),
        postgres: include_str!("../migrations/postgres/0012_part_packs.sql"),
    },
    Migration {
        version: 13,
        description: "life models and the cost-optimal PM decision",
        sqlite: include_str!("../migrations/sqlite/0013_life_models.sql"),
        postgres: include_str!("../migrations/postgres/0013_life_models.sql"),
    },
    Migration {
        version: 14,
        description: "saved backtest reports",
        sqlite: include_str!("../migrations/sqlite/0014_backtest_reports.sql"),
        postgres: include_str!("../migrations/postgres/0014_backtest_reports.sql"),
    },
];

/// Arbitrary constant identifying cmms-pipeline's migration lock among advisory locks.
const PG_LOCK_KEY: i64 = 0x0063_6d6d_736d_6967;

/// FNV-1a over the SQL text: stable across builds and platforms, enough to detect edits.
fn checksum(sql: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in sql.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

pub(crate) async fn current_version(store: &Store) -> Result<i64, StoreError> {
    let v: Option<i64> =
        sqlx::query_scalar("SELECT MAX(version) FROM schema_migrations").fetch_one(store.pool()).await?;
    Ok(v.unwrap_or(0))
}

pub(crate) async fn run(store: &Store) -> Result<(), StoreError> {
    let mut conn = store.writer().acquire().await?;
    sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version     BIGINT PRIMARY KEY,
            description TEXT NOT NULL,
            checksum    TEXT NOT NULL,
            applied_at  TEXT NOT NULL
        )",
    )
    .execute(&mut *conn)
    .await?;
    if store.backend() == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_lock($1)").bind(PG_LOCK_KEY).execute(&mut *conn).await?;
    }
    let result = apply_pending(store.backend(), &mut conn).await;
    if store.backend() == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_unlock($1)").bind(PG_LOCK_KEY).execute(&mut *conn).await?;
    }
    result
}

async fn apply_pending(backend: Backend, conn: &mut sqlx::AnyConnection) -> Result<(), StoreError> {
    let applied: Vec<(i64, String)> =
        sqlx::query_as("SELECT version, checksum FROM schema_migrations ORDER BY version")
            .fetch_all(&mut *conn)
            .await?;
    let known = MIGRATIONS.last().map_or(0, |m| m.version);
    if let Some(&(found, _)) = applied.last()
        && found > known
    {
        return Err(StoreError::SchemaTooNew { found, known });
    }
    for m in MIGRATIONS {
        let sql = match backend {
            Backend::Sqlite => m.sqlite,
            Backend::Postgres => m.postgres,
        };
        let sum = checksum(sql);
        if let Some((_, existing)) = applied.iter().find(|(v, _)| *v == m.version) {
            if *existing != sum {
                return Err(StoreError::MigrationChanged { version: m.version });
            }
            continue;
        }
        let fail = |source| StoreError::Migration { version: m.version, description: m.description, cause: source };
        let mut tx = sqlx::Connection::begin(&mut *conn).await.map_err(fail)?;
        sqlx::raw_sql(AssertSqlSafe(sql)).execute(&mut *tx).await.map_err(fail)?;
        sqlx::query("INSERT INTO schema_migrations (version, description, checksum, applied_at) VALUES ($1, $2, $3, CAST(CURRENT_TIMESTAMP AS TEXT))")
            .bind(m.version)
            .bind(m.description)
            .bind(sum)
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
        tx.commit().await.map_err(fail)?;
        tracing::info!(version = m.version, description = m.description, "applied migration");
    }
    Ok(())
}
