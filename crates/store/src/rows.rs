//! A backend-neutral row codec and batched upsert for keyed tables.
//!
//! Master-data imports need exact counts (inserted / updated / unchanged) and must leave a
//! re-imported file without any write. A batch therefore first reads the existing rows for its
//! keys, compares them value by value in Rust, and writes only new and changed rows with one
//! multi-row `INSERT … ON CONFLICT DO UPDATE`.

use crate::{Backend, Store, StoreError};
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, AssertSqlSafe, Row, Transaction};
use std::collections::{HashMap, HashSet};

/// One SQL value as both backends carry it.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    /// Text.
    Text(String),
    /// 64-bit integer (ids, epoch milliseconds).
    Int(i64),
    /// Double (quantities, days).
    Real(f64),
    /// A NULL of the given column type.
    Null(ColType),
}

impl SqlValue {
    /// Exact equality, with doubles compared bit for bit so `-0.0`/`NaN` never surprise.
    fn same(&self, other: &SqlValue) -> bool {
        match (self, other) {
            (SqlValue::Real(a), SqlValue::Real(b)) => a.to_bits() == b.to_bits(),
            (SqlValue::Null(_), SqlValue::Null(_)) => true,
            (a, b) => a == b,
        }
    }

    /// Text, or NULL when absent.
    pub fn opt_text(v: Option<&str>) -> SqlValue {
        v.map_or(SqlValue::Null(ColType::Text), |s| SqlValue::Text(s.to_owned()))
    }

    /// A double, or NULL when absent.
    pub fn opt_real(v: Option<f64>) -> SqlValue {
        v.map_or(SqlValue::Null(ColType::Real), SqlValue::Real)
    }

    /// An integer, or NULL when absent.
    pub fn opt_int(v: Option<i64>) -> SqlValue {
        v.map_or(SqlValue::Null(ColType::Int), SqlValue::Int)
    }

    fn key_text(&self) -> String {
        match self {
            SqlValue::Text(s) => s.clone(),
            SqlValue::Int(i) => i.to_string(),
            SqlValue::Real(f) => f.to_bits().to_string(),
            SqlValue::Null(_) => String::new(),
        }
    }
}

/// The storage type of a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColType {
    /// TEXT.
    Text,
    /// INTEGER / BIGINT.
    Int,
    /// REAL / DOUBLE PRECISION.
    Real,
}

/// A keyed table as the batch writer sees it. `columns` start with the key columns; the
/// `stamp` column (epoch ms of the write) is appended by the writer and never compared.
#[derive(Debug)]
pub struct TableSpec {
    /// Table name.
    pub table: &'static str,
    /// All data columns with their types, key columns first.
    pub columns: &'static [(&'static str, ColType)],
    /// How many leading columns form the primary key.
    pub key_len: usize,
    /// The write-time column (`updated_at` for master data, `received_at` for feeds).
    pub stamp: &'static str,
    /// What a row whose key already exists with other values does.
    pub mode: WriteMode,
    /// How many trailing columns are derived by the pipeline (e.g. the part a SKU maps to)
    /// rather than delivered: they are written but not compared when judging a re-delivery.
    pub derived: usize,
}

/// How the batch writer treats a key that already exists with different values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    /// Master data: the new values replace the old (counted as updated).
    Upsert,
    /// Event feeds: the first delivery wins; a later copy with other values is a conflict,
    /// reported back and not written.
    FirstWins,
}

/// What a batch write did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct UpsertCounts {
    /// Rows that did not exist before.
    pub inserted: u64,
    /// Rows that existed with other values and were replaced ([`WriteMode::Upsert`]).
    pub updated: u64,
    /// Rows that existed with exactly these values (nothing written): re-imports and
    /// re-deliveries.
    pub unchanged: u64,
}

/// What a batch write did with one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RowOutcome {
    /// The key did not exist: the row was written.
    Inserted,
    /// The key existed with other values and the row replaced them ([`WriteMode::Upsert`]).
    Updated,
    /// The key existed with exactly these values: nothing written (a re-delivery).
    Unchanged,
    /// The key existed with other values and the first delivery wins ([`WriteMode::FirstWins`]):
    /// not written.
    Conflict,
}

impl UpsertCounts {
    /// Counts per-row outcomes (conflicts are not counted here).
    pub fn of(outcomes: &[RowOutcome]) -> UpsertCounts {
        let mut c = UpsertCounts::default();
        for o in outcomes {
            match o {
                RowOutcome::Inserted => c.inserted += 1,
                RowOutcome::Updated => c.updated += 1,
                RowOutcome::Unchanged => c.unchanged += 1,
                RowOutcome::Conflict => {}
            }
        }
        c
    }

    /// Adds another batch's counts.
    pub fn add(&mut self, o: UpsertCounts) {
        self.inserted += o.inserted;
        self.updated += o.updated;
        self.unchanged += o.unchanged;
    }
}

/// Binds one value. Every nullable double must be bound through here (or [`bind_opt_f64`]).
///
/// sqlx 0.9.0's `Any` driver swaps the NULL encodings of `f32` and `f64` (`Null(Double)` is sent
/// as a `float4` NULL). PostgreSQL then prepares the statement with a `float4` parameter, and the
/// next execution of the same cached statement with a real `f64` fails with "incorrect binary
/// data format". Binding a NULL `f32` goes through the swapped arm and arrives as `float8`.
/// The store test `null_then_value_doubles_share_a_prepared_statement` fails if sqlx changes this.
pub(crate) fn bind(q: Query<'_, Any, AnyArguments>, v: SqlValue) -> Query<'_, Any, AnyArguments> {
    match v {
        SqlValue::Text(s) => q.bind(s),
        SqlValue::Int(i) => q.bind(i),
        SqlValue::Real(f) => q.bind(f),
        SqlValue::Null(ColType::Text) => q.bind(None::<String>),
        SqlValue::Null(ColType::Int) => q.bind(None::<i64>),
        SqlValue::Null(ColType::Real) => q.bind(None::<f32>),
    }
}

/// [`bind`] without taking the value (the driver copies text into its arguments either way).
fn bind_ref<'q>(q: Query<'q, Any, AnyArguments>, v: &'q SqlValue) -> Query<'q, Any, AnyArguments> {
    match v {
        SqlValue::Text(s) => q.bind(s.as_str()),
        SqlValue::Int(i) => q.bind(*i),
        SqlValue::Real(f) => q.bind(*f),
        SqlValue::Null(ty) => bind(q, SqlValue::Null(*ty)),
    }
}

/// Binds optional doubles in order (see [`bind`]).
pub fn bind_opt_f64s<'q>(mut q: Query<'q, Any, AnyArguments>, vals: &[Option<f64>]) -> Query<'q, Any, AnyArguments> {
    for v in vals {
        q = bind_opt_f64(q, *v);
    }
    q
}

/// Binds an optional double safely (see [`bind`]).
pub fn bind_opt_f64(q: Query<'_, Any, AnyArguments>, v: Option<f64>) -> Query<'_, Any, AnyArguments> {
    bind(q, SqlValue::opt_real(v))
}

/// [`bind_opt_f64`] for a query whose rows decode into `O`.
pub(crate) fn bind_opt_f64_as<O>(
    q: sqlx::query::QueryAs<'_, Any, O, AnyArguments>,
    v: Option<f64>,
) -> sqlx::query::QueryAs<'_, Any, O, AnyArguments> {
    match v {
        Some(f) => q.bind(f),
        None => q.bind(None::<f32>),
    }
}

fn decode(row: &AnyRow, i: usize, ty: ColType) -> Result<SqlValue, sqlx::Error> {
    Ok(match ty {
        ColType::Text => SqlValue::opt_text(row.try_get::<Option<String>, _>(i)?.as_deref()),
        ColType::Int => SqlValue::opt_int(row.try_get(i)?),
        ColType::Real => SqlValue::opt_real(row.try_get(i)?),
    })
}

/// The leading `columns` of a result row, decoded by their types.
fn decode_row(r: &AnyRow, columns: &[(&str, ColType)]) -> Result<Vec<SqlValue>, sqlx::Error> {
    columns.iter().enumerate().map(|(i, (_, ty))| decode(r, i, *ty)).collect()
}

/// The `n`-th (1-based) bind placeholder of a statement: `?` on SQLite (whose `$n` costs O(n²)
/// per statement), `$n` on PostgreSQL.
pub(crate) fn placeholder(backend: Backend, n: usize) -> String {
    match backend {
        Backend::Sqlite => "?".to_owned(),
        Backend::Postgres => format!("${n}"),
    }
}

/// `($1, $2), ($3, $4)` for `rows` tuples of `width` placeholders starting after `offset`.
///
/// SQLite gets anonymous `?` instead: sqlx resolves every named parameter of a statement through
/// `sqlite3_bind_parameter_name`, which walks a list, so `$n` costs O(parameters²) per statement —
/// 87 % of a large import's time before this change.
pub(crate) fn placeholders(backend: Backend, rows: usize, width: usize, offset: usize) -> String {
    let mut s = String::with_capacity(rows * width * 5);
    for r in 0..rows {
        if r > 0 {
            s.push_str(", ");
        }
        s.push('(');
        for c in 0..width {
            if c > 0 {
                s.push_str(", ");
            }
            s.push_str(&placeholder(backend, offset + r * width + c + 1));
        }
        s.push(')');
    }
    s
}

/// `items` cut into runs for multi-row statements: at most `max` items each, no key twice in one
/// run (an upsert may not touch a row twice in one statement) and each item joining its run's
/// first only where `joins(first, item)` holds. Order is kept.
pub(crate) fn distinct_runs<'a, T, K: Eq + std::hash::Hash>(
    items: &'a [T],
    max: usize,
    key: impl Fn(&'a T) -> K,
    joins: impl Fn(&T, &T) -> bool,
) -> Vec<&'a [T]> {
    let mut runs = Vec::new();
    let mut start = 0;
    while start < items.len() {
        let mut seen = std::collections::HashSet::new();
        let mut end = start;
        while end < items.len()
            && end - start < max
            && joins(&items[start], &items[end])
            && seen.insert(key(&items[end]))
        {
            end += 1;
        }
        runs.push(&items[start..end]);
        start = end;
    }
    runs
}

/// Binds whole rows followed by the write stamp.
fn bind_rows<'q>(
    mut q: Query<'q, Any, AnyArguments>,
    rows: Vec<Vec<SqlValue>>,
    now_ms: i64,
) -> Query<'q, Any, AnyArguments> {
    for row in rows {
        for v in row {
            q = bind(q, v);
        }
        q = q.bind(now_ms);
    }
    q
}

/// Equal delivered content: every column but the trailing derived ones, compared exactly.
pub(crate) fn same_content(spec: &TableSpec, old: &[SqlValue], new: &[SqlValue]) -> bool {
    let n = spec.columns.len() - spec.derived;
    old.len() == new.len() && old[..n].iter().zip(&new[..n]).all(|(a, b)| a.same(b))
}

/// A row's key columns, hashed and compared where they are (no key `String` per row); doubles bit
/// for bit, as [`SqlValue::same`].
struct KeyRef<'a>(&'a [SqlValue]);

impl std::hash::Hash for KeyRef<'_> {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        for v in self.0 {
            match v {
                SqlValue::Text(s) => (0u8, s.as_str()).hash(h),
                SqlValue::Int(i) => (1u8, *i).hash(h),
                SqlValue::Real(f) => (2u8, f.to_bits()).hash(h),
                SqlValue::Null(_) => 3u8.hash(h),
            }
        }
    }
}

impl PartialEq for KeyRef<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.0.len() == other.0.len() && self.0.iter().zip(other.0).all(|(a, b)| a.same(b))
    }
}

impl Eq for KeyRef<'_> {}

fn key_of(spec: &TableSpec, row: &[SqlValue]) -> String {
    row[..spec.key_len].iter().map(SqlValue::key_text).collect::<Vec<_>>().join("\u{1f}")
}

/// Repeats of a key inside `rows`: the first copy is to be written; later ones are judged against
/// it here (a statement cannot see its own earlier rows): `Unchanged` when equal, `Conflict`
/// otherwise. Returns the indices of the first copies, in order.
pub(crate) fn first_copies(spec: &TableSpec, rows: &[Vec<SqlValue>], outcomes: &mut [RowOutcome]) -> Vec<usize> {
    let mut first_of: HashMap<KeyRef<'_>, usize> = HashMap::with_capacity(rows.len());
    let mut pending = Vec::with_capacity(rows.len());
    for (i, row) in rows.iter().enumerate() {
        match first_of.entry(KeyRef(&row[..spec.key_len])) {
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(i);
                pending.push(i);
            }
            std::collections::hash_map::Entry::Occupied(o) if same_content(spec, &rows[*o.get()], row) => {
                outcomes[i] = RowOutcome::Unchanged;
            }
            std::collections::hash_map::Entry::Occupied(_) => outcomes[i] = RowOutcome::Conflict,
        }
    }
    pending
}

/// Rows per `INSERT` statement of a first-wins (feed) batch. SQLite keeps a statement journal in
/// memory (`temp_store = MEMORY`) holding a copy of every page the statement first touches: with
/// random-order index inserts about three pages per row, so 1,000 rows held some 50 MB of it at
/// the peak of a consumption import. The total copying is the same for smaller statements (each
/// row touches its own pages either way); only the peak shrinks.
const FIRST_WINS_ROWS_PER_STATEMENT: usize = 250;

/// Batches of at least this many rows get [`BULK_CACHE_KIB`] of SQLite page cache.
const BULK_ROWS: usize = 10_000;

/// The SQLite page cache for a bulk batch, KiB: most of the index pages that a 25,000-row batch
/// of random inserts touches in a table of a few million events. 64 MiB imported 1,000,000 events
/// no faster than 32 MiB (63-64 % of the `sqlite3` shell's rate either way) and took 32 MB more.
const BULK_CACHE_KIB: i64 = 32_768;

impl Store {
    /// Writes `rows` (each in `spec.columns` order, keys unique within the batch) in one
    /// transaction, following `spec.mode`: upserts write only new and changed rows; first-wins
    /// inserts new rows and compares the others with what is stored.
    ///
    /// Returns the counts and, in [`WriteMode::FirstWins`], the indices (into `rows`) of rows whose
    /// key exists with other values: conflicts, not written.
    pub async fn upsert_batch(
        &self,
        spec: &TableSpec,
        rows: Vec<Vec<SqlValue>>,
        now_ms: i64,
    ) -> Result<(UpsertCounts, Vec<usize>), StoreError> {
        let outcomes = self.write_rows(spec, rows, now_ms).await?;
        let conflicts = outcomes.iter().enumerate().filter(|(_, o)| **o == RowOutcome::Conflict).map(|(i, _)| i);
        Ok((UpsertCounts::of(&outcomes), conflicts.collect()))
    }

    /// [`Store::upsert_batch`], telling what happened to each row (same order as `rows`).
    pub async fn write_rows(
        &self,
        spec: &TableSpec,
        rows: Vec<Vec<SqlValue>>,
        now_ms: i64,
    ) -> Result<Vec<RowOutcome>, StoreError> {
        let mut outcomes = Vec::with_capacity(rows.len());
        if rows.is_empty() {
            return Ok(outcomes);
        }
        if let (WriteMode::FirstWins, Some(bulk)) = (spec.mode, self.bulk()) {
            return crate::copy::first_wins(bulk, spec, &rows, now_ms).await;
        }
        // Statements stay under SQLite's 32,766 bound parameters and at most 1,000 keys per
        // lookup; the transaction spans the whole batch, because with random-order index
        // inserts each commit rewrites the touched index pages into the WAL.
        let most = match spec.mode {
            WriteMode::Upsert => 1000,
            WriteMode::FirstWins => FIRST_WINS_ROWS_PER_STATEMENT,
        };
        let per_statement = (30_000 / (spec.columns.len() + 1)).clamp(1, most);
        let mut conn = self.writer().acquire().await?;
        // A large batch on SQLite touches many index pages: with the default 2 MB page cache the
        // dirty pages spill to the WAL mid-transaction and are written again at commit. A larger
        // cache for this transaction only keeps each page written once; the connection's own
        // setting is restored afterwards, so pooled connections keep their usual footprint.
        let restore = if self.backend() == Backend::Sqlite && rows.len() >= BULK_ROWS {
            let previous: i64 = sqlx::query_scalar("PRAGMA cache_size").fetch_one(&mut *conn).await?;
            sqlx::query(AssertSqlSafe(format!("PRAGMA cache_size = -{BULK_CACHE_KIB}"))).execute(&mut *conn).await?;
            Some(previous)
        } else {
            None
        };
        let written = async {
            let mut tx = match self.backend() {
                Backend::Sqlite => sqlx::Connection::begin_with(&mut *conn, "BEGIN IMMEDIATE").await?,
                Backend::Postgres => sqlx::Connection::begin(&mut *conn).await?,
            };
            let mut rows = rows.into_iter();
            // Whether a chunk of this batch held rows stored before (see `insert_first_wins`).
            let mut repeats = false;
            loop {
                let chunk: Vec<Vec<SqlValue>> = rows.by_ref().take(per_statement).collect();
                if chunk.is_empty() {
                    break;
                }
                outcomes.extend(match spec.mode {
                    WriteMode::Upsert => self.upsert_rows(&mut tx, spec, chunk, now_ms).await?,
                    WriteMode::FirstWins => {
                        let (chunk_outcomes, had_repeats) =
                            self.insert_first_wins(&mut tx, spec, chunk, now_ms, !repeats).await?;
                        repeats |= had_repeats;
                        chunk_outcomes
                    }
                });
            }
            tx.commit().await?;
            Ok::<(), StoreError>(())
        }
        .await;
        if let Some(previous) = restore {
            sqlx::query(AssertSqlSafe(format!("PRAGMA cache_size = {previous}"))).execute(&mut *conn).await?;
        }
        written?;
        Ok(outcomes)
    }

    async fn upsert_rows(
        &self,
        tx: &mut Transaction<'_, Any>,
        spec: &TableSpec,
        rows: Vec<Vec<SqlValue>>,
        now_ms: i64,
    ) -> Result<Vec<RowOutcome>, StoreError> {
        let existing = self.existing_rows(tx, spec, rows.iter().map(|r| &r[..spec.key_len])).await?;
        let mut outcomes = Vec::with_capacity(rows.len());
        let mut to_write = Vec::with_capacity(rows.len());
        for row in rows {
            let outcome = match existing.get(&key_of(spec, &row)) {
                None => RowOutcome::Inserted,
                Some(old) if same_content(spec, old, &row) => RowOutcome::Unchanged,
                Some(_) => RowOutcome::Updated,
            };
            outcomes.push(outcome);
            if outcome != RowOutcome::Unchanged {
                to_write.push(row);
            }
        }
        if !to_write.is_empty() {
            let sets = spec.columns[spec.key_len..]
                .iter()
                .map(|(c, _)| *c)
                .chain(std::iter::once(spec.stamp))
                .map(|c| format!("{c} = excluded.{c}"))
                .collect::<Vec<_>>()
                .join(", ");
            let (insert, _) = self.insert_sql(spec, to_write.len(), &format!("DO UPDATE SET {sets}"), false);
            bind_rows(sqlx::query(AssertSqlSafe(insert)), to_write, now_ms).execute(&mut **tx).await?;
        }
        Ok(outcomes)
    }

    /// Inserts the rows whose keys are new and judges the others (first delivery wins); also
    /// says whether any row's key was stored before this call.
    ///
    /// `optimistic`: insert at once; the affected-row count proves that every row was new, with
    /// nothing read before or after. Otherwise the stored rows among the keys are read first
    /// (usually few), judged, and only the rest inserted. Callers stay optimistic until a chunk of
    /// the batch had repeats: on re-delivered data, undoing optimistic inserts and streaming the
    /// written keys back made a consumption import three times slower.
    async fn insert_first_wins(
        &self,
        tx: &mut Transaction<'_, Any>,
        spec: &TableSpec,
        rows: Vec<Vec<SqlValue>>,
        now_ms: i64,
        optimistic: bool,
    ) -> Result<(Vec<RowOutcome>, bool), StoreError> {
        let mut outcomes = vec![RowOutcome::Inserted; rows.len()];
        let mut pending = first_copies(spec, &rows, &mut outcomes);
        let mut repeats = false;
        if !optimistic {
            let before = self.judge_stored(tx, spec, &rows, &pending, &mut outcomes).await?;
            repeats = before.len() < pending.len();
            pending = before;
        }
        if self.insert_all_new(tx, spec, &rows, &pending, now_ms).await? {
            return Ok((outcomes, repeats));
        }
        // Some keys were stored before (optimistic), or by another writer since the read
        // (PostgreSQL): insert returning the keys written; the rows not returned were stored.
        let (insert, _) = self.insert_sql(spec, pending.len(), "DO NOTHING", true);
        let chosen = pending.iter().map(|&i| rows[i].clone()).collect();
        let returned = bind_rows(sqlx::query(AssertSqlSafe(insert)), chosen, now_ms).fetch_all(&mut **tx).await?;
        let mut inserted = std::collections::HashSet::with_capacity(returned.len());
        for r in &returned {
            let key = decode_row(r, &spec.columns[..spec.key_len])?;
            inserted.insert(key_of(spec, &key));
        }
        let others: Vec<usize> = pending.into_iter().filter(|&i| !inserted.contains(&key_of(spec, &rows[i]))).collect();
        // Not written and not found: never counted as inserted.
        for i in self.judge_stored(tx, spec, &rows, &others, &mut outcomes).await? {
            outcomes[i] = RowOutcome::Conflict;
        }
        Ok((outcomes, true))
    }

    /// Judges the rows `chosen` whose keys are stored (Unchanged when the content is the same,
    /// Conflict otherwise) and returns the others, in order.
    async fn judge_stored(
        &self,
        tx: &mut Transaction<'_, Any>,
        spec: &TableSpec,
        rows: &[Vec<SqlValue>],
        chosen: &[usize],
        outcomes: &mut [RowOutcome],
    ) -> Result<Vec<usize>, StoreError> {
        if chosen.is_empty() {
            return Ok(Vec::new());
        }
        let existing = self.existing_rows(tx, spec, chosen.iter().map(|&i| &rows[i][..spec.key_len])).await?;
        let mut absent = Vec::with_capacity(chosen.len());
        for &i in chosen {
            match existing.get(&key_of(spec, &rows[i])) {
                Some(old) if same_content(spec, old, &rows[i]) => outcomes[i] = RowOutcome::Unchanged,
                Some(_) => outcomes[i] = RowOutcome::Conflict,
                None => absent.push(i),
            }
        }
        Ok(absent)
    }

    /// Inserts the rows `chosen` (`DO NOTHING` on a stored key) if every one of them is new;
    /// otherwise undoes the insert to a savepoint and returns false.
    async fn insert_all_new(
        &self,
        tx: &mut Transaction<'_, Any>,
        spec: &TableSpec,
        rows: &[Vec<SqlValue>],
        chosen: &[usize],
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        if chosen.is_empty() {
            return Ok(true);
        }
        let (plain, _) = self.insert_sql(spec, chosen.len(), "DO NOTHING", false);
        let mut attempt = sqlx::Connection::begin(&mut **tx).await?;
        let mut q = sqlx::query(AssertSqlSafe(plain));
        for &i in chosen {
            for v in &rows[i] {
                q = bind_ref(q, v);
            }
            q = q.bind(now_ms);
        }
        let written = q.execute(&mut *attempt).await?;
        if usize::try_from(written.rows_affected()).is_ok_and(|n| n == chosen.len()) {
            attempt.commit().await?;
            return Ok(true);
        }
        attempt.rollback().await?;
        Ok(false)
    }

    /// `INSERT INTO t (cols, stamp) VALUES … ON CONFLICT (keys) <action> [RETURNING keys]`.
    fn insert_sql(&self, spec: &TableSpec, n: usize, action: &str, returning: bool) -> (String, usize) {
        let cols: Vec<&str> = spec.columns.iter().map(|(c, _)| *c).collect();
        let keys = cols[..spec.key_len].join(", ");
        let width = cols.len() + 1;
        let mut sql = format!(
            "INSERT INTO {} ({}, {}) VALUES {} ON CONFLICT ({keys}) {action}",
            spec.table,
            cols.join(", "),
            spec.stamp,
            placeholders(self.backend(), n, width, 0),
        );
        if returning {
            sql.push_str(&format!(" RETURNING {keys}"));
        }
        (sql, width)
    }

    /// The stored rows for `keys`, by key. SQLite scans the table for a composite
    /// `(a, b) IN (VALUES …)` (and an OR chain of 1,000 equalities exceeds its expression depth),
    /// so composite keys become `a IN (…) AND b IN (…)` over the distinct values there: an index
    /// lookup that may over-fetch a few rows, which the exact-key map below ignores. PostgreSQL
    /// plans a row-value list as index lookups, while a prepared `IN (VALUES …)` drifts to a
    /// generic plan that scans.
    async fn existing_rows<'k>(
        &self,
        tx: &mut Transaction<'_, Any>,
        spec: &TableSpec,
        keys: impl Iterator<Item = &'k [SqlValue]>,
    ) -> Result<HashMap<String, Vec<SqlValue>>, StoreError> {
        let keys: Vec<&[SqlValue]> = keys.collect();
        let cols: Vec<&str> = spec.columns.iter().map(|(c, _)| *c).collect();
        let key_cols = &cols[..spec.key_len];
        let mut binds: Vec<SqlValue> = Vec::new();
        let filter = match (self.backend(), spec.key_len) {
            (Backend::Sqlite, k) if k > 1 => {
                let mut parts = Vec::with_capacity(k);
                for (i, col) in key_cols.iter().enumerate() {
                    let mut seen = std::collections::HashSet::new();
                    let distinct: Vec<&SqlValue> =
                        keys.iter().map(|key| &key[i]).filter(|v| seen.insert(v.key_text())).collect();
                    parts.push(format!("{col} IN ({})", placeholders(self.backend(), distinct.len(), 1, 0)));
                    binds.extend(distinct.into_iter().cloned());
                }
                parts.join(" AND ")
            }
            _ => {
                binds.extend(keys.iter().flat_map(|k| k.iter().cloned()));
                format!("({}) IN ({})", key_cols.join(", "), placeholders(self.backend(), keys.len(), spec.key_len, 0))
            }
        };
        let select = format!("SELECT {} FROM {} WHERE {filter}", cols.join(", "), spec.table);
        let mut q = sqlx::query(AssertSqlSafe(select));
        for v in binds {
            q = bind(q, v);
        }
        let mut existing = HashMap::new();
        for r in q.fetch_all(&mut **tx).await? {
            let vals = decode_row(&r, spec.columns)?;
            existing.insert(key_of(spec, &vals), vals);
        }
        Ok(existing)
    }

    /// Which of `ids` exist in `table.column`.
    pub async fn existing_ids(
        &self,
        table: &'static str,
        column: &'static str,
        ids: &HashSet<&str>,
    ) -> Result<HashSet<String>, StoreError> {
        let mut found = HashSet::new();
        let ids: Vec<&str> = ids.iter().copied().collect();
        for chunk in ids.chunks(1000) {
            let sql = format!(
                "SELECT {column} FROM {table} WHERE ({column}) IN ({})",
                placeholders(self.backend(), chunk.len(), 1, 0)
            );
            let mut q = sqlx::query_scalar::<_, String>(AssertSqlSafe(sql));
            for id in chunk {
                q = q.bind(*id);
            }
            found.extend(q.fetch_all(self.pool()).await?);
        }
        Ok(found)
    }

    /// Number of rows in a table (for reports and tests).
    pub async fn count_rows(&self, table: &'static str) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}"))).fetch_one(self.pool()).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholder_layout() {
        assert_eq!(placeholders(Backend::Postgres, 2, 2, 0), "($1, $2), ($3, $4)");
        assert_eq!(placeholders(Backend::Postgres, 1, 3, 2), "($3, $4, $5)");
        assert_eq!(placeholders(Backend::Sqlite, 2, 2, 0), "(?, ?), (?, ?)");
    }

    #[test]
    fn reals_compare_bitwise() {
        assert!(SqlValue::Real(1.5).same(&SqlValue::Real(1.5)));
        assert!(!SqlValue::Real(0.0).same(&SqlValue::Real(-0.0)));
        assert!(SqlValue::Null(ColType::Real).same(&SqlValue::Null(ColType::Real)));
    }
}
