//! Thresholds received from an outside optimiser: applied when newer than the sequence in force,
//! recorded in `received_thresholds`, and announced to the publication targets.

use crate::{Store, StoreError};
use std::collections::{HashMap, HashSet};

/// Thresholds pushed by an outside optimiser (the seed article's payload, checked).
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedThresholds {
    /// The part.
    pub part_id: String,
    /// The sender's sequence: must be newer than the one in force.
    pub sequence_id: i64,
    /// `[min, reorder, max]`.
    pub limits: [f64; 3],
    /// The stock the sender saw (recorded, never applied: stock comes from snapshots).
    pub current_stock: f64,
    /// The sender's timestamp, epoch ms.
    pub sync_timestamp: i64,
    /// The sender's `X-Client-Id`, if given.
    pub client_id: Option<String>,
    /// The API token's name that delivered it.
    pub received_by: Option<String>,
}

/// Most deliveries one statement of [`Store::receive_thresholds_batch`] writes (10 parameters
/// each for the history rows).
const RECEIVE_RUN: usize = 500;

/// The outcome of [`Store::receive_thresholds`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received {
    /// Applied: the thresholds in force changed.
    Applied,
    /// Not newer than the sequence in force: nothing changed.
    NotNewer {
        /// The sequence in force.
        in_force: i64,
    },
    /// No part has this id: nothing changed.
    UnknownPart,
}

impl Store {
    /// Applies thresholds received from an outside optimiser when `sequence_id` is newer than the
    /// part's sequence in force: the thresholds in force (basis `RECEIVED`) and a history row, in
    /// one transaction. Otherwise changes nothing and says why (not newer, or unknown part).
    pub async fn receive_thresholds(&self, t: &ReceivedThresholds, now_ms: i64) -> Result<Received, StoreError> {
        let mut outcomes = self.receive_thresholds_batch(std::slice::from_ref(t), now_ms).await?;
        Ok(outcomes.pop().unwrap_or(Received::UnknownPart))
    }

    /// [`Store::receive_thresholds`] for several deliveries in one transaction (group commit):
    /// each is judged in order against what the ones before it applied, exactly as if they had
    /// arrived one after another; one outcome per delivery, in order. A store failure applies
    /// none of them.
    pub async fn receive_thresholds_batch(
        &self,
        batch: &[ReceivedThresholds],
        now_ms: i64,
    ) -> Result<Vec<Received>, StoreError> {
        let mut outcomes = vec![Received::UnknownPart; batch.len()];
        let mut tx = self.begin_write().await?;
        let mut start = 0;
        while start < batch.len() {
            // A run in which each part occurs once is written with one statement per step; a
            // second delivery for a part starts the next run, so it sees what the first applied.
            let mut parts = HashSet::new();
            let len = batch[start..].iter().take_while(|t| parts.insert(t.part_id.as_str())).count();
            let end = start + len.min(RECEIVE_RUN);
            self.receive_run(&mut tx, &batch[start..end], &mut outcomes[start..end], now_ms).await?;
            start = end;
        }
        tx.commit().await?;
        Ok(outcomes)
    }

    /// Deliveries for distinct parts: applies the newer ones (an upsert guarded by the sequence,
    /// which also skips unknown parts), records them, and reads the sequence in force for the rest.
    async fn receive_run(
        &self,
        conn: &mut sqlx::AnyConnection,
        run: &[ReceivedThresholds],
        outcomes: &mut [Received],
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let backend = self.backend();
        let upsert = format!(
            "INSERT INTO current_thresholds (part_id, min_qty, reorder_qty, max_qty, basis, sequence_id, updated_at, \
             status) SELECT p.part_id, v.column2, v.column3, v.column4, 'RECEIVED', v.column5, {now}, 'OK' \
             FROM (VALUES {values}) AS v JOIN parts p ON p.part_id = v.column1 WHERE true \
             ON CONFLICT (part_id) DO UPDATE SET threshold_id = NULL, min_qty = excluded.min_qty, \
             reorder_qty = excluded.reorder_qty, max_qty = excluded.max_qty, basis = 'RECEIVED', \
             sequence_id = excluded.sequence_id, updated_at = excluded.updated_at, status = 'OK', \
             computed_min = NULL, computed_reorder = NULL, computed_max = NULL, formula_version = NULL \
             WHERE current_thresholds.sequence_id < excluded.sequence_id RETURNING part_id",
            // SQLite binds `?` in order of appearance: `now` comes first in the text, so first here.
            now = crate::rows::placeholder(backend, 1),
            values = crate::rows::placeholders(backend, run.len(), 5, 1),
        );
        let mut q = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(upsert)).bind(now_ms);
        for t in run {
            q = q.bind(&t.part_id).bind(t.limits[0]).bind(t.limits[1]).bind(t.limits[2]).bind(t.sequence_id);
        }
        let applied: HashSet<String> = q.fetch_all(&mut *conn).await?.into_iter().collect();

        let history: Vec<&ReceivedThresholds> = run.iter().filter(|t| applied.contains(&t.part_id)).collect();
        if !history.is_empty() {
            let insert = format!(
                "INSERT INTO received_thresholds (part_id, sequence_id, min_qty, reorder_qty, max_qty, current_stock, \
                 sync_timestamp, client_id, received_by, received_at) VALUES {}",
                crate::rows::placeholders(backend, history.len(), 10, 0)
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(insert));
            for t in &history {
                q = q
                    .bind(&t.part_id)
                    .bind(t.sequence_id)
                    .bind(t.limits[0])
                    .bind(t.limits[1])
                    .bind(t.limits[2])
                    .bind(t.current_stock)
                    .bind(t.sync_timestamp)
                    .bind(t.client_id.as_deref())
                    .bind(t.received_by.as_deref())
                    .bind(now_ms);
            }
            q.execute(&mut *conn).await?;
        }

        let refused: Vec<&str> =
            run.iter().filter(|t| !applied.contains(&t.part_id)).map(|t| t.part_id.as_str()).collect();
        let mut in_force = HashMap::new();
        if !refused.is_empty() {
            let select = format!(
                "SELECT part_id, sequence_id FROM current_thresholds WHERE part_id IN ({})",
                crate::rows::placeholders(backend, refused.len(), 1, 0)
            );
            let mut q = sqlx::query_as::<_, (String, i64)>(sqlx::AssertSqlSafe(select));
            for part in &refused {
                q = q.bind(*part);
            }
            in_force.extend(q.fetch_all(&mut *conn).await?);
        }

        for (t, outcome) in run.iter().zip(outcomes.iter_mut()) {
            *outcome = if applied.contains(&t.part_id) {
                self.enqueue_publication(conn, &t.part_id, t.sequence_id, t.limits, now_ms).await?;
                Received::Applied
            } else {
                in_force.get(&t.part_id).map_or(Received::UnknownPart, |&in_force| Received::NotNewer { in_force })
            };
        }
        Ok(())
    }
}
