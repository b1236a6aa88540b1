//! PM work orders: at most one open per asset and plan (a partial unique index enforces it),
//! state changes as compare-and-set updates with an event row each, and completion that stores
//! COMPLETED and the next SCHEDULED order in one transaction.

use crate::{Store, StoreError};
use cmms_core::work_order::WoState;
use sqlx::AssertSqlSafe;

/// A stored PM work order.
#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct WorkOrderRow {
    /// Its id.
    pub id: i64,
    /// The asset.
    pub asset_id: String,
    /// The PM plan.
    pub plan_id: String,
    /// State name (`SCHEDULED`, `RELEASED` …).
    #[sqlx(try_from = "String")]
    pub state: WoState,
    /// Due instant, epoch ms.
    pub due_at: i64,
    /// The completion the due date was computed from, epoch ms.
    pub follows_at: Option<i64>,
    /// When it was completed, epoch ms.
    pub completed_at: Option<i64>,
    /// The order it follows (completed before it).
    pub previous_id: Option<i64>,
    /// Site time zone of the asset (for showing local times).
    pub timezone: String,
    /// Created, epoch ms.
    pub created_at: i64,
    /// Last changed, epoch ms.
    pub updated_at: i64,
}

const SELECT: &str = "SELECT w.id, w.asset_id, w.plan_id, w.state, w.due_at, w.follows_at, w.completed_at, \
     w.previous_id, s.timezone, w.created_at, w.updated_at \
     FROM work_orders w JOIN assets a ON a.asset_id = w.asset_id JOIN sites s ON s.site_id = a.site_id";

/// An order's id with its state (and due date, where asked).
#[derive(sqlx::FromRow)]
struct OrderState {
    id: i64,
    #[sqlx(try_from = "String")]
    state: WoState,
    #[sqlx(default)]
    due_at: i64,
}

/// The asset and plan of a work order.
#[derive(sqlx::FromRow)]
struct OrderAsset {
    asset_id: String,
    #[sqlx(default)]
    plan_id: String,
}

/// What scheduling a PM did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheduled {
    /// A new SCHEDULED order was created.
    Created(i64),
    /// The open, not yet released order got the new due date.
    Rescheduled(i64),
    /// The open order already had this due date, or is already under way (left alone).
    Unchanged(i64),
}

/// Outcome of a completion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompletionOutcome {
    /// Stored: the order is COMPLETED and the next one SCHEDULED (its id).
    Completed {
        /// The new SCHEDULED order.
        next_id: i64,
    },
    /// The order was no longer in the expected state (a concurrent change won); nothing written.
    StateChanged,
}

/// Outcome of a completion correction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CorrectionOutcome {
    /// Stored. `next` is the PM the completion scheduled (absent when there is none), and
    /// whether its due date moved.
    Corrected {
        /// The PM that follows the corrected completion, if there is one.
        next: Option<NextAfterCorrection>,
    },
    /// The order was no longer COMPLETED at the expected time (a concurrent change won); nothing
    /// written.
    StateChanged,
    /// The next PM is already COMPLETED (its id): its own completion now drives the schedule, so
    /// this one is not corrected; nothing written.
    NextCompleted(i64),
}

/// What a correction did to the PM that the corrected completion scheduled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NextAfterCorrection {
    /// Its id.
    pub id: i64,
    /// True when its due date was moved (it was SCHEDULED or MATERIAL_PENDING); false when it
    /// was already released, in progress or cancelled (only the completion it follows changed).
    pub rescheduled: bool,
}

/// The actor recorded for operator actions and scheduling.
const OPERATOR: &str = "cmms";

/// States in which a PM has not been released to technicians, so its due date may still move.
const NOT_RELEASED: &str = "('SCHEDULED', 'MATERIAL_PENDING')";

/// Whether a PM in `state` is not released yet (see [`NOT_RELEASED`]).
fn not_released(state: WoState) -> bool {
    matches!(state, WoState::Scheduled | WoState::MaterialPending)
}

impl Store {
    /// One work order.
    pub async fn work_order(&self, id: i64) -> Result<Option<WorkOrderRow>, StoreError> {
        let sql = format!("{SELECT} WHERE w.id = $1");
        Ok(sqlx::query_as(AssertSqlSafe(sql)).bind(id).fetch_optional(self.pool()).await?)
    }

    /// Work orders, optionally of one state and/or one asset, by due date.
    pub async fn work_orders(
        &self,
        state: Option<WoState>,
        asset_id: Option<&str>,
    ) -> Result<Vec<WorkOrderRow>, StoreError> {
        self.work_orders_page(state, asset_id, None, i64::MAX).await
    }

    /// At most `limit` orders of [`Store::work_orders`] after the order `(due_at, id)`.
    pub async fn work_orders_page(
        &self,
        state: Option<WoState>,
        asset_id: Option<&str>,
        after: Option<(i64, i64)>,
        limit: i64,
    ) -> Result<Vec<WorkOrderRow>, StoreError> {
        let (after_due, after_id) = after.unwrap_or((0, 0));
        let sql = format!(
            "{SELECT} WHERE ($1 = '' OR w.state = $1) AND ($2 = '' OR w.asset_id = $2) \
             AND ($3 = 0 OR w.due_at > $4 OR (w.due_at = $4 AND w.id > $5)) ORDER BY w.due_at, w.id LIMIT $6"
        );
        Ok(sqlx::query_as(AssertSqlSafe(sql))
            .bind(state.map_or("", WoState::as_str))
            .bind(asset_id.unwrap_or(""))
            .bind(i64::from(after.is_some()))
            .bind(after_due)
            .bind(after_id)
            .bind(limit)
            .fetch_all(self.pool())
            .await?)
    }

    /// The due date (epoch ms) of each asset's open work order of `plan_id`, by asset: what a PM
    /// recompute compares its new due dates with.
    pub async fn open_due_dates(&self, plan_id: &str) -> Result<std::collections::HashMap<String, i64>, StoreError> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT asset_id, due_at FROM work_orders WHERE plan_id = $1 AND state NOT IN ('COMPLETED', 'CANCELLED')",
        )
        .bind(plan_id)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().collect())
    }

    /// Makes sure the asset and plan have an open PM due at `due_at`: creates one if none is open,
    /// moves the due date of an open one not yet released, and leaves a released one alone.
    pub async fn schedule_pm(
        &self,
        asset_id: &str,
        plan_id: &str,
        due_at: i64,
        follows_at: Option<i64>,
        now_ms: i64,
    ) -> Result<Scheduled, StoreError> {
        let outcomes = self.schedule_pms(&[PmDue { asset_id, plan_id, due_at, follows_at }], now_ms).await?;
        outcomes.into_iter().next().ok_or_else(|| StoreError::invalid("scheduling outcome", "none"))
    }

    /// [`Store::schedule_pm`] for many assets in one transaction, outcomes in order (a recompute
    /// schedules every asset whose due date moved; one commit each was most of a first
    /// recompute's PM stage). Per 1,000 items, the missing orders are created with one insert
    /// (and one event insert) and the moved due dates set with one update. An asset and plan
    /// named again waits for the next pass, as does an order another writer created meanwhile
    /// (the next pass reads it), so each asset's items apply in their order.
    pub async fn schedule_pms(&self, due: &[PmDue<'_>], now_ms: i64) -> Result<Vec<Scheduled>, StoreError> {
        let mut outcomes: Vec<Option<Scheduled>> = vec![None; due.len()];
        let mut pending: Vec<usize> = (0..due.len()).collect();
        if pending.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.begin_write().await?;
        while !pending.is_empty() {
            let mut named = std::collections::HashSet::new();
            for chunk in pending.chunks(1000) {
                self.schedule_chunk(&mut tx, due, chunk, &mut named, &mut outcomes, now_ms).await?;
            }
            pending.retain(|&i| outcomes[i].is_none());
        }
        tx.commit().await?;
        Ok(outcomes.into_iter().flatten().collect())
    }

    /// Schedules with a few statements the items `chunk` of `due` whose asset and plan are not
    /// `named` yet in this pass (it names them all): the missing orders are created with one
    /// insert and one event insert, the open orders not yet released whose due date moved get it
    /// with one update, the others are unchanged. Sets their outcomes; the rest stay `None`.
    async fn schedule_chunk(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        due: &[PmDue<'_>],
        chunk: &[usize],
        named: &mut std::collections::HashSet<(String, String)>,
        outcomes: &mut [Option<Scheduled>],
        now_ms: i64,
    ) -> Result<(), StoreError> {
        use crate::rows::{placeholder, placeholders};
        let b = self.backend();
        // The open orders of the chunk's assets, from the partial index of open orders.
        let sql = format!(
            "SELECT id, asset_id, plan_id, state, due_at FROM work_orders WHERE asset_id IN ({}) \
             AND state NOT IN ('COMPLETED', 'CANCELLED')",
            placeholders(b, chunk.len(), 1, 0)
        );
        let mut q = sqlx::query_as::<_, (i64, String, String, String, i64)>(AssertSqlSafe(sql));
        for &i in chunk {
            q = q.bind(due[i].asset_id);
        }
        let mut open = std::collections::HashMap::new();
        for (id, asset, plan, state, due_at) in q.fetch_all(&mut **tx).await? {
            let state = WoState::try_from(state).map_err(|e| StoreError::invalid("work order state", e))?;
            open.insert((asset, plan), OrderState { id, state, due_at });
        }
        let (mut new, mut moved) = (Vec::new(), Vec::new());
        for &i in chunk {
            let d = &due[i];
            let key = (d.asset_id.to_owned(), d.plan_id.to_owned());
            if !named.insert(key.clone()) {
                continue;
            }
            match open.get(&key) {
                None => new.push(i),
                Some(o) if o.due_at != d.due_at && not_released(o.state) => moved.push((i, o.id)),
                Some(o) => outcomes[i] = Some(Scheduled::Unchanged(o.id)),
            }
        }
        if !moved.is_empty() {
            // Placeholders in the order of the text: SQLite's `?` are numbered by position.
            let rows: Vec<String> = (0..moved.len())
                .map(|r| {
                    let p = |i: usize| placeholder(b, 1 + 3 * r + i);
                    format!("({}, {}, {})", p(1), p(2), p(3))
                })
                .collect();
            let sql = format!(
                "UPDATE work_orders SET due_at = v.column2, follows_at = v.column3, updated_at = {} \
                 FROM (VALUES {}) AS v WHERE work_orders.id = v.column1 AND work_orders.state IN {NOT_RELEASED}",
                placeholder(b, 1),
                rows.join(", ")
            );
            let mut q = sqlx::query(AssertSqlSafe(sql)).bind(now_ms);
            for &(i, id) in &moved {
                q = q.bind(id).bind(due[i].due_at).bind(due[i].follows_at);
                outcomes[i] = Some(Scheduled::Rescheduled(id));
            }
            q.execute(&mut **tx).await?;
        }
        if new.is_empty() {
            return Ok(());
        }
        // Placeholders in the order of the text: SQLite's `?` are numbered by position.
        let rows: Vec<String> = (0..new.len())
            .map(|r| {
                let p = |i: usize| placeholder(b, 6 * r + i);
                format!("({}, {}, 'SCHEDULED', {}, {}, {}, {})", p(1), p(2), p(3), p(4), p(5), p(6))
            })
            .collect();
        let sql = format!(
            "INSERT INTO work_orders (asset_id, plan_id, state, due_at, follows_at, created_at, updated_at) \
             VALUES {} ON CONFLICT DO NOTHING RETURNING id, asset_id, plan_id",
            rows.join(", ")
        );
        let mut q = sqlx::query_as::<_, (i64, String, String)>(AssertSqlSafe(sql));
        for &i in &new {
            let d = &due[i];
            q = q.bind(d.asset_id).bind(d.plan_id).bind(d.due_at).bind(d.follows_at).bind(now_ms).bind(now_ms);
        }
        let created: std::collections::HashMap<(String, String), i64> =
            q.fetch_all(&mut **tx).await?.into_iter().map(|(id, a, p)| ((a, p), id)).collect();
        let mut events = Vec::with_capacity(created.len());
        for &i in &new {
            if let Some(&id) = created.get(&(due[i].asset_id.to_owned(), due[i].plan_id.to_owned())) {
                outcomes[i] = Some(Scheduled::Created(id));
                events.push(id);
            }
        }
        record_created(tx, b, &events, now_ms).await
    }

    /// Moves an order from `from` to `to` if it is still in `from`; false when another change
    /// got there first. Records the change with the actor `cmms` (an operator's action).
    pub async fn transition_work_order(
        &self,
        id: i64,
        from: WoState,
        to: WoState,
        reason: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        self.transition_work_order_by(id, from, to, reason, OPERATOR, now_ms).await
    }

    /// [`Store::transition_work_order`] recorded under another actor (`routing` for the routing
    /// engine's moves).
    pub async fn transition_work_order_by(
        &self,
        id: i64,
        from: WoState,
        to: WoState,
        reason: &str,
        actor: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let n = sqlx::query("UPDATE work_orders SET state = $1, updated_at = $2 WHERE id = $3 AND state = $4")
            .bind(to.as_str())
            .bind(now_ms)
            .bind(id)
            .bind(from.as_str())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        record_event(&mut tx, id, Some(from), to, reason, actor, now_ms).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Completes an IN_PROGRESS order at `completed_at`, records the completion on the asset, and
    /// schedules the next PM due at `next_due_at` — all or nothing.
    pub async fn complete_work_order(
        &self,
        id: i64,
        completed_at: i64,
        next_due_at: i64,
        actor: &str,
        now_ms: i64,
    ) -> Result<CompletionOutcome, StoreError> {
        let mut tx = self.begin_write().await?;
        let done: Option<OrderAsset> = sqlx::query_as(
            "UPDATE work_orders SET state = 'COMPLETED', completed_at = $1, updated_at = $2 \
             WHERE id = $3 AND state = 'IN_PROGRESS' RETURNING asset_id, plan_id",
        )
        .bind(completed_at)
        .bind(now_ms)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(OrderAsset { asset_id, plan_id }) = done else {
            tx.rollback().await?;
            return Ok(CompletionOutcome::StateChanged);
        };
        record_event(&mut tx, id, Some(WoState::InProgress), WoState::Completed, "completed", actor, now_ms).await?;
        sqlx::query(
            "UPDATE assets SET last_completion_at = $1, updated_at = $2 \
             WHERE asset_id = $3 AND (last_completion_at IS NULL OR last_completion_at < $1)",
        )
        .bind(completed_at)
        .bind(now_ms)
        .bind(&asset_id)
        .execute(&mut *tx)
        .await?;
        let next_id: i64 = sqlx::query_scalar(
            "INSERT INTO work_orders (asset_id, plan_id, state, due_at, follows_at, previous_id, created_at, updated_at) \
             VALUES ($1, $2, 'SCHEDULED', $3, $4, $5, $6, $6) RETURNING id",
        )
        .bind(&asset_id)
        .bind(&plan_id)
        .bind(next_due_at)
        .bind(completed_at)
        .bind(id)
        .bind(now_ms)
        .fetch_one(&mut *tx)
        .await?;
        record_event(&mut tx, next_id, None, WoState::Scheduled, "next PM after completion", OPERATOR, now_ms).await?;
        tx.commit().await?;
        Ok(CompletionOutcome::Completed { next_id })
    }
}

impl Store {
    /// Corrects the completion time of a COMPLETED order from `old_completed_at` to
    /// `completed_at`, all or nothing: the order's history records the correction (`actor`,
    /// `reason`); the PM it scheduled (`previous_id` = this order) follows the corrected time and,
    /// while not yet released (SCHEDULED or MATERIAL_PENDING), moves to `next_due_at` — earlier
    /// as well as later, the operator's exception to "due dates never move backwards"; a released
    /// or started one keeps its due date. The asset's last completion becomes the latest
    /// completion it still has.
    #[allow(clippy::too_many_arguments)]
    pub async fn correct_completion(
        &self,
        id: i64,
        old_completed_at: i64,
        completed_at: i64,
        next_due_at: i64,
        actor: &str,
        reason: &str,
        now_ms: i64,
    ) -> Result<CorrectionOutcome, StoreError> {
        let mut tx = self.begin_write().await?;
        let next: Option<OrderState> =
            sqlx::query_as("SELECT id, state FROM work_orders WHERE previous_id = $1 ORDER BY id LIMIT 1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        if let Some(OrderState { id: next_id, state: WoState::Completed, .. }) = next {
            tx.rollback().await?;
            return Ok(CorrectionOutcome::NextCompleted(next_id));
        }
        let done: Option<OrderAsset> = sqlx::query_as(
            "UPDATE work_orders SET completed_at = $1, updated_at = $2 \
             WHERE id = $3 AND state = 'COMPLETED' AND completed_at = $4 RETURNING asset_id",
        )
        .bind(completed_at)
        .bind(now_ms)
        .bind(id)
        .bind(old_completed_at)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(OrderAsset { asset_id, .. }) = done else {
            tx.rollback().await?;
            return Ok(CorrectionOutcome::StateChanged);
        };
        let why = format!(
            "completion time corrected from {} to {}: {reason}",
            cmms_core::time::from_epoch_ms(old_completed_at),
            cmms_core::time::from_epoch_ms(completed_at)
        );
        record_event(&mut tx, id, Some(WoState::Completed), WoState::Completed, &why, actor, now_ms).await?;
        let next = match next {
            None => None,
            Some(OrderState { id: next_id, state, .. }) => {
                let movable = not_released(state);
                let due = if movable { next_due_at } else { 0 };
                sqlx::query(
                    "UPDATE work_orders SET follows_at = $1, due_at = CASE WHEN $2 THEN $3 ELSE due_at END, \
                     updated_at = $4 WHERE id = $5",
                )
                .bind(completed_at)
                .bind(movable)
                .bind(due)
                .bind(now_ms)
                .bind(next_id)
                .execute(&mut *tx)
                .await?;
                if movable {
                    let note = format!("rescheduled: the completion of work order {id} it follows was corrected");
                    record_event(&mut tx, next_id, Some(state), state, &note, actor, now_ms).await?;
                }
                Some(NextAfterCorrection { id: next_id, rescheduled: movable })
            }
        };
        // The asset's last completion: the corrected time, or a later completion it still has.
        let other: Option<i64> = sqlx::query_scalar(
            "SELECT MAX(completed_at) FROM work_orders WHERE asset_id = $1 AND state = 'COMPLETED' AND id <> $2",
        )
        .bind(&asset_id)
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        let last = other.map_or(completed_at, |o| o.max(completed_at));
        sqlx::query(
            "UPDATE assets SET last_completion_at = $1, updated_at = $2 \
             WHERE asset_id = $3 AND (last_completion_at IS NULL OR last_completion_at = $4 OR last_completion_at < $1)",
        )
        .bind(last)
        .bind(now_ms)
        .bind(&asset_id)
        .bind(old_completed_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(CorrectionOutcome::Corrected { next })
    }
}

/// The reason recorded when a PM recompute creates an order.
const SCHEDULED_REASON: &str = "scheduled from the PM interval";

/// One PM to schedule: the asset, the plan, the due date and the completion it follows (epoch ms).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PmDue<'a> {
    /// The asset.
    pub asset_id: &'a str,
    /// The maintenance plan.
    pub plan_id: &'a str,
    /// When the PM is due.
    pub due_at: i64,
    /// The completion the due date was computed from, if any.
    pub follows_at: Option<i64>,
}

/// Records the creation of the orders `ids` by a PM recompute, with one insert.
async fn record_created(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    backend: crate::Backend,
    ids: &[i64],
    now_ms: i64,
) -> Result<(), StoreError> {
    if ids.is_empty() {
        return Ok(());
    }
    let rows: Vec<String> = (0..ids.len())
        .map(|r| {
            let p = |i: usize| crate::rows::placeholder(backend, 4 * r + i);
            format!("({}, NULL, 'SCHEDULED', {}, {}, {})", p(1), p(2), p(3), p(4))
        })
        .collect();
    let sql = format!(
        "INSERT INTO work_order_events (work_order_id, from_state, to_state, reason, actor, at) VALUES {}",
        rows.join(", ")
    );
    let mut q = sqlx::query(AssertSqlSafe(sql));
    for id in ids {
        q = q.bind(*id).bind(SCHEDULED_REASON).bind(OPERATOR).bind(now_ms);
    }
    q.execute(&mut **tx).await?;
    Ok(())
}

async fn record_event(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    id: i64,
    from: Option<WoState>,
    to: WoState,
    reason: &str,
    actor: &str,
    now_ms: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO work_order_events (work_order_id, from_state, to_state, reason, actor, at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(from.map(WoState::as_str))
    .bind(to.as_str())
    .bind(reason)
    .bind(actor)
    .bind(now_ms)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
