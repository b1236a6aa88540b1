//! First-delivery-wins writes on PostgreSQL through `COPY … FROM STDIN`: a batch of feed events is
//! streamed into a temporary staging table, then moved into its table by one set-based
//! `INSERT … SELECT … ON CONFLICT DO NOTHING`, which also returns the stored rows of the keys
//! that were not inserted, for judging (same delivery or conflict).
//!
//! Same outcomes as the multi-row `INSERT` path in [`crate::rows`]: repeats inside the batch are
//! judged against their first copy; a key stored before is `Unchanged` when every delivered
//! column is equal (doubles bit for bit) and `Conflict` otherwise. A key that another writer
//! stored while this one ran (not inserted, not visible to the statement's snapshot) is read
//! again once that writer committed and judged the same way, so two senders delivering the same
//! event at once both hear "delivered before with the same content". Bound parameters are not
//! involved, so one statement takes a whole batch.

use crate::StoreError;
use crate::rows::{ColType, RowOutcome, SqlValue, TableSpec, first_copies, same_content};
use sqlx::postgres::{PgPool, PgRow};
use sqlx::{AssertSqlSafe, Row};

/// Bytes of COPY data sent per message.
const SEND_BYTES: usize = 1 << 20;

/// The column type of a staging column.
fn pg_type(ty: ColType) -> &'static str {
    match ty {
        ColType::Text => "TEXT",
        ColType::Int => "BIGINT",
        ColType::Real => "DOUBLE PRECISION",
    }
}

/// Appends `s` as a field of COPY's text format (backslash escapes for the specials).
fn push_text(buf: &mut Vec<u8>, s: &str) {
    for &b in s.as_bytes() {
        match b {
            b'\\' => buf.extend_from_slice(b"\\\\"),
            b'\t' => buf.extend_from_slice(b"\\t"),
            b'\n' => buf.extend_from_slice(b"\\n"),
            b'\r' => buf.extend_from_slice(b"\\r"),
            _ => buf.push(b),
        }
    }
}

/// Appends one value as a COPY text field. Doubles are written in Rust's shortest round-trip form,
/// which PostgreSQL reads back to the same bits.
fn push_value(buf: &mut Vec<u8>, v: &SqlValue) {
    use std::io::Write;
    match v {
        SqlValue::Text(s) => push_text(buf, s),
        SqlValue::Int(i) => {
            let _ = write!(buf, "{i}");
        }
        SqlValue::Real(f) if f.is_nan() => buf.extend_from_slice(b"NaN"),
        SqlValue::Real(f) if f.is_infinite() => {
            buf.extend_from_slice(if *f > 0.0 { b"Infinity" } else { b"-Infinity" })
        }
        SqlValue::Real(f) => {
            let _ = write!(buf, "{f:?}");
        }
        SqlValue::Null(_) => buf.extend_from_slice(b"\\N"),
    }
}

/// A stored column read back for judging, by its type (cast in the query, so the table's own
/// integer width does not matter).
fn decode(row: &PgRow, i: usize, ty: ColType) -> Result<SqlValue, sqlx::Error> {
    Ok(match ty {
        ColType::Text => SqlValue::opt_text(row.try_get::<Option<String>, _>(i)?.as_deref()),
        ColType::Int => SqlValue::opt_int(row.try_get(i)?),
        ColType::Real => SqlValue::opt_real(row.try_get(i)?),
    })
}

/// Writes `rows` of a first-wins table (see the module documentation) in one transaction on
/// `bulk`; the outcome of each row, in order.
pub(crate) async fn first_wins(
    bulk: &PgPool,
    spec: &TableSpec,
    rows: &[Vec<SqlValue>],
    now_ms: i64,
) -> Result<Vec<RowOutcome>, StoreError> {
    let mut outcomes = vec![RowOutcome::Inserted; rows.len()];
    let pending = first_copies(spec, rows, &mut outcomes);
    if pending.is_empty() {
        return Ok(outcomes);
    }
    let stage = format!("cmms_stage_{}", spec.table);
    let cols: Vec<&str> = spec.columns.iter().map(|(c, _)| *c).collect();
    let typed: Vec<String> = spec.columns.iter().map(|(c, t)| format!("{c} {}", pg_type(*t))).collect();
    let keys = &cols[..spec.key_len];
    let on = |a: &str, b: &str| keys.iter().map(|k| format!("{a}.{k} = {b}.{k}")).collect::<Vec<_>>().join(" AND ");

    let mut tx = bulk.begin().await?;
    let create = format!("CREATE TEMP TABLE {stage} (ord BIGINT NOT NULL, {}) ON COMMIT DROP", typed.join(", "));
    sqlx::query(AssertSqlSafe(create)).execute(&mut *tx).await?;
    let mut copy = tx.copy_in_raw(&format!("COPY {stage} (ord, {}) FROM STDIN", cols.join(", "))).await?;
    let mut buf = Vec::with_capacity(SEND_BYTES + 4096);
    let sent = async {
        for &i in &pending {
            use std::io::Write;
            let _ = write!(buf, "{i}");
            for v in &rows[i] {
                buf.push(b'\t');
                push_value(&mut buf, v);
            }
            buf.push(b'\n');
            if buf.len() >= SEND_BYTES {
                copy.send(std::mem::take(&mut buf)).await?;
                buf.reserve(SEND_BYTES + 4096);
            }
        }
        if !buf.is_empty() {
            copy.send(std::mem::take(&mut buf)).await?;
        }
        Ok::<(), sqlx::Error>(())
    }
    .await;
    match sent {
        Ok(()) => {
            copy.finish().await?;
        }
        Err(e) => {
            copy.abort(e.to_string()).await?;
            return Err(e.into());
        }
    }

    // The statement's snapshot predates its own insert: a row found by the join was stored
    // before; a key neither inserted nor found was stored meanwhile by another writer.
    let stored = spec.columns.iter().map(|(c, t)| format!("t.{c}::{}", pg_type(*t))).collect::<Vec<_>>().join(", ");
    let sql = format!(
        "WITH ins AS (INSERT INTO {table} ({cols}, {stamp}) SELECT {cols}, $1 FROM {stage} ORDER BY ord \
         ON CONFLICT ({keys}) DO NOTHING RETURNING {keys}) \
         SELECT s.ord, t.{key0} IS NOT NULL AS found, {stored} FROM {stage} s \
         LEFT JOIN {table} t ON {join} \
         WHERE NOT EXISTS (SELECT 1 FROM ins i WHERE {anti})",
        table = spec.table,
        cols = cols.join(", "),
        stamp = spec.stamp,
        keys = keys.join(", "),
        key0 = keys[0],
        join = on("t", "s"),
        anti = on("i", "s"),
    );
    let not_inserted = sqlx::query(AssertSqlSafe(sql)).bind(now_ms).fetch_all(&mut *tx).await?;
    let mut meanwhile = Vec::new();
    for r in &not_inserted {
        let i = staged_index(r)?;
        if r.try_get::<bool, _>(1)? {
            outcomes[i] = judge(spec, r, 2, &rows[i])?;
        } else {
            // Until read again below; a key still not found then was removed since, and is
            // never counted as inserted.
            outcomes[i] = RowOutcome::Conflict;
            meanwhile.push(i as i64);
        }
    }
    if !meanwhile.is_empty() {
        // ON CONFLICT waited for the other writer's commit, so a new statement sees its rows.
        let sql = format!(
            "SELECT s.ord, {stored} FROM {stage} s JOIN {table} t ON {join} WHERE s.ord = ANY($1)",
            table = spec.table,
            join = on("t", "s"),
        );
        for r in sqlx::query(AssertSqlSafe(sql)).bind(&meanwhile).fetch_all(&mut *tx).await? {
            let i = staged_index(&r)?;
            outcomes[i] = judge(spec, &r, 1, &rows[i])?;
        }
    }
    tx.commit().await?;
    Ok(outcomes)
}

/// The batch index a staging row was sent with (its first column).
fn staged_index(r: &PgRow) -> Result<usize, StoreError> {
    usize::try_from(r.try_get::<i64, _>(0)?).map_err(|e| StoreError::invalid("staging ord", e))
}

/// Judges a delivered row against the stored one read from `r`'s columns from `first` on.
fn judge(spec: &TableSpec, r: &PgRow, first: usize, delivered: &[SqlValue]) -> Result<RowOutcome, StoreError> {
    let stored: Vec<SqlValue> =
        spec.columns.iter().enumerate().map(|(c, (_, ty))| decode(r, c + first, *ty)).collect::<Result<_, _>>()?;
    Ok(if same_content(spec, &stored, delivered) { RowOutcome::Unchanged } else { RowOutcome::Conflict })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_text_escapes_specials_and_nulls() {
        let mut buf = Vec::new();
        push_value(&mut buf, &SqlValue::Text("a\tb\\c\nd\re".into()));
        buf.push(b'|');
        push_value(&mut buf, &SqlValue::Null(ColType::Text));
        buf.push(b'|');
        push_value(&mut buf, &SqlValue::Real(0.1));
        buf.push(b'|');
        push_value(&mut buf, &SqlValue::Real(-0.0));
        buf.push(b'|');
        push_value(&mut buf, &SqlValue::Int(-7));
        assert_eq!(String::from_utf8(buf).unwrap(), "a\\tb\\\\c\\nd\\re|\\N|0.1|-0.0|-7");
    }
}
