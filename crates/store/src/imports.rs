//! The audit trail of file imports: one `import_runs` row per `cmms import`.

use crate::{Store, StoreError, UpsertCounts};

impl Store {
    /// Records the start of an import and returns its run id.
    pub async fn begin_import_run(&self, kind: &str, file: &str, now_ms: i64) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("INSERT INTO import_runs (kind, file, started_at) VALUES ($1, $2, $3) RETURNING id")
            .bind(kind)
            .bind(file)
            .bind(now_ms)
            .fetch_one(self.writer())
            .await?)
    }

    /// Records how an import ended.
    pub async fn finish_import_run(
        &self,
        run_id: i64,
        counts: &UpsertCounts,
        rejected: u64,
        outcome: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        sqlx::query(
            "UPDATE import_runs SET finished_at = $1, inserted = $2, updated = $3, unchanged = $4, \
             rejected = $5, outcome = $6 WHERE id = $7",
        )
        .bind(now_ms)
        .bind(n(counts.inserted))
        .bind(n(counts.updated))
        .bind(n(counts.unchanged))
        .bind(n(rejected))
        .bind(outcome)
        .bind(run_id)
        .execute(self.writer())
        .await?;
        Ok(())
    }
}
