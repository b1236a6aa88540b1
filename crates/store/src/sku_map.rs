//! The SKU map (explicit mappings of a source's SKUs to parts, cached as an index) and the
//! quarantine queue of SKUs that map to no part or to several.

use crate::codes::OpenStatus;
use crate::{Store, StoreError};
use cmms_core::mapping::SkuIndex;
use std::sync::{Arc, Mutex, PoisonError};

/// One explicit SKU mapping.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SkuMapEntry {
    /// The source.
    pub source: String,
    /// The SKU as that source spells it.
    pub external_sku: String,
    /// Its normalised form (trimmed, upper-cased).
    pub norm_sku: String,
    /// The part.
    pub part_id: String,
}

/// An entry of the quarantine queue.
#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct QuarantineRow {
    /// Its id.
    pub id: i64,
    /// The source.
    pub source: String,
    /// The SKU as delivered.
    pub external_sku: String,
    /// `UNMAPPED` or `AMBIGUOUS`.
    pub reason: String,
    /// Candidate parts (for AMBIGUOUS), comma-separated.
    pub candidates: Option<String>,
    /// Records held for this SKU.
    pub held_count: i64,
    /// `OPEN` or `RESOLVED`.
    #[sqlx(try_from = "String")]
    pub status: OpenStatus,
    /// The part it was resolved to.
    pub resolved_part_id: Option<String>,
}

/// The SKU map as an index and the `sku_map_generation` it was read at, shared by a store's clones.
pub(crate) type SkuMapCache = Arc<Mutex<Option<(i64, Arc<SkuIndex>)>>>;

impl Store {
    /// The whole SKU map as an index of explicit and normalised matches (no part ids: for SKUs
    /// of a source, not scanned codes). Kept in memory between calls: each call reads the
    /// one-row `sku_map_generation`, which every change of `sku_map` raises by trigger, and loads
    /// the map again only when it moved. Webhook batches and consumption imports map with it.
    pub async fn sku_map_index(&self) -> Result<Arc<SkuIndex>, StoreError> {
        let generation: i64 =
            sqlx::query_scalar("SELECT generation FROM sku_map_generation WHERE id = 1").fetch_one(self.pool()).await?;
        let cached = |cache: &SkuMapCache| cache.lock().unwrap_or_else(PoisonError::into_inner).clone();
        if let Some((at, index)) = cached(&self.sku_map_cache)
            && at == generation
        {
            return Ok(index);
        }
        // Read after the generation: a change committed in between raises it again, so the next
        // call loads once more; the index is never older than the generation it is kept under.
        let index = Arc::new(self.sku_map_index_uncached().await?);
        let mut cache = self.sku_map_cache.lock().unwrap_or_else(PoisonError::into_inner);
        if cache.as_ref().is_none_or(|(at, _)| *at < generation) {
            *cache = Some((generation, index.clone()));
        }
        Ok(index)
    }

    /// The whole SKU map as an index (as [`Store::sku_map_index`]), read afresh and not kept:
    /// for a bulk import that needs it once. Read in pages by key, so that besides the index only
    /// one page of rows is held.
    ///
    /// All pages are read on one connection; on SQLite its page cache (up to 32 MiB of SKU-map
    /// pages, which the import does not read again) is released afterwards. Spread over the read
    /// pool, the pages filled every reader's cache and stayed there for the whole import.
    pub async fn sku_map_index_uncached(&self) -> Result<SkuIndex, StoreError> {
        let mut conn = self.pool().acquire().await?;
        let index = self.read_sku_index(&mut conn).await;
        if self.backend() == crate::Backend::Sqlite {
            sqlx::query("PRAGMA shrink_memory").execute(&mut *conn).await?;
        }
        index
    }

    async fn read_sku_index(&self, conn: &mut sqlx::AnyConnection) -> Result<SkuIndex, StoreError> {
        const PAGE: i64 = 20_000;
        let mut index = SkuIndex::for_sources();
        let mut after: Option<(String, String)> = None;
        loop {
            let page: Vec<(String, String, String)> = match &after {
                None => {
                    sqlx::query_as(
                        "SELECT source, external_sku, part_id FROM sku_map ORDER BY source, external_sku LIMIT $1",
                    )
                    .bind(PAGE)
                    .fetch_all(&mut *conn)
                    .await?
                }
                Some((source, sku)) => {
                    sqlx::query_as(
                        "SELECT source, external_sku, part_id FROM sku_map WHERE (source, external_sku) > ($1, $2) \
                         ORDER BY source, external_sku LIMIT $3",
                    )
                    .bind(source.as_str())
                    .bind(sku.as_str())
                    .bind(PAGE)
                    .fetch_all(&mut *conn)
                    .await?
                }
            };
            for (source, sku, part) in &page {
                index.add(source, sku, part);
            }
            let full = page.len() as i64 == PAGE;
            match page.into_iter().last() {
                Some((source, sku, _)) if full => after = Some((source, sku)),
                _ => return Ok(index),
            }
        }
    }

    /// The whole SKU map (small: one row per mapped SKU).
    pub async fn sku_map_entries(&self) -> Result<Vec<SkuMapEntry>, StoreError> {
        Ok(sqlx::query_as("SELECT source, external_sku, norm_sku, part_id FROM sku_map").fetch_all(self.pool()).await?)
    }

    /// The SKU-map entries that decide how these `(source, SKU)` pairs and scanned codes map
    /// (every entry of a pair's source with the same normal form, and of any source for a code),
    /// and which codes are part ids. Cost follows the request, not the size of the catalogue.
    pub async fn sku_candidates(
        &self,
        pairs: &[(String, String)],
        codes: &[String],
    ) -> Result<(Vec<SkuMapEntry>, Vec<String>), StoreError> {
        use std::collections::BTreeSet;
        let ph = |n| crate::rows::placeholders(self.backend(), n, 1, 0);
        let mut entries = Vec::new();
        let by_source: BTreeSet<(&str, String)> =
            pairs.iter().map(|(src, sku)| (src.as_str(), cmms_core::mapping::normalise(sku))).collect();
        let sources: BTreeSet<&str> = by_source.iter().map(|(s, _)| *s).collect();
        for source in sources {
            let norms: Vec<&String> = by_source.iter().filter(|(s, _)| *s == source).map(|(_, n)| n).collect();
            for chunk in norms.chunks(900) {
                let first = if self.backend() == crate::Backend::Postgres { "$1" } else { "?" };
                let sql = format!(
                    "SELECT source, external_sku, norm_sku, part_id FROM sku_map WHERE source = {first} AND norm_sku IN ({})",
                    crate::rows::placeholders(self.backend(), chunk.len(), 1, 1)
                );
                let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(source);
                for n in chunk {
                    q = q.bind(n.as_str());
                }
                entries.extend(q.fetch_all(self.pool()).await?);
            }
        }
        let norms: BTreeSet<String> = codes.iter().map(|c| cmms_core::mapping::normalise(c)).collect();
        let norms: Vec<String> = norms.into_iter().collect();
        let mut parts = Vec::new();
        for chunk in norms.chunks(900) {
            let sql = format!(
                "SELECT source, external_sku, norm_sku, part_id FROM sku_map WHERE norm_sku IN ({})",
                ph(chunk.len())
            );
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql));
            for n in chunk {
                q = q.bind(n.as_str());
            }
            entries.extend(q.fetch_all(self.pool()).await?);
        }
        let trimmed: BTreeSet<&str> = codes.iter().map(|c| c.trim()).collect();
        let trimmed: Vec<&str> = trimmed.into_iter().collect();
        for chunk in trimmed.chunks(900) {
            let sql = format!("SELECT part_id FROM parts WHERE part_id IN ({})", ph(chunk.len()));
            let mut q = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql));
            for c in chunk {
                q = q.bind(*c);
            }
            parts.extend(q.fetch_all(self.pool()).await?);
        }
        Ok((entries, parts))
    }

    /// Every part id (scans may name a part directly).
    pub async fn part_ids(&self) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT part_id FROM parts").fetch_all(self.pool()).await?)
    }

    /// Adds an explicit SKU mapping (an operator's quarantine decision).
    pub async fn add_sku_mapping(
        &self,
        source: &str,
        sku: &str,
        norm: &str,
        part_id: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sku_map (source, external_sku, norm_sku, part_id, updated_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (source, external_sku) DO UPDATE SET part_id = excluded.part_id, updated_at = excluded.updated_at",
        )
        .bind(source)
        .bind(sku)
        .bind(norm)
        .bind(part_id)
        .bind(now_ms)
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// Holds SKUs in quarantine (or refreshes their open entries): `(source, external_sku,
    /// reason, candidates, held_count)` each, a few thousand per write transaction and up to a
    /// thousand per statement — a recompute over a large feed holds tens of thousands of SKUs,
    /// and one commit per SKU took seconds. Each transaction holds or refreshes its entries
    /// whole, so a failure part-way loses nothing already written.
    pub async fn quarantine_hold(&self, held: &[QuarantineHold], now_ms: i64) -> Result<(), StoreError> {
        for chunk in held.chunks(5000) {
            self.quarantine_hold_in_one(chunk, now_ms).await?;
        }
        Ok(())
    }

    async fn quarantine_hold_in_one(&self, held: &[QuarantineHold], now_ms: i64) -> Result<(), StoreError> {
        use crate::rows::placeholder;
        let backend = self.backend();
        let mut tx = self.begin_write().await?;
        let runs =
            crate::rows::distinct_runs(held, 1000, |h| (h.source.as_str(), h.external_sku.as_str()), |_, _| true);
        for run in runs {
            let rows: Vec<String> = (0..run.len())
                .map(|r| {
                    let p = |i: usize| placeholder(backend, 7 * r + i);
                    format!("({}, {}, {}, {}, {}, 'OPEN', {}, {})", p(1), p(2), p(3), p(4), p(5), p(6), p(7))
                })
                .collect();
            let sql = format!(
                "INSERT INTO quarantine (source, external_sku, reason, candidates, held_count, status, first_seen, last_seen) \
                 VALUES {} ON CONFLICT (source, external_sku) WHERE status = 'OPEN' DO UPDATE SET reason = excluded.reason, \
                 candidates = excluded.candidates, held_count = excluded.held_count, last_seen = excluded.last_seen",
                rows.join(", ")
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for h in run {
                q = q.bind(h.source.as_str()).bind(h.external_sku.as_str()).bind(h.reason);
                q = q.bind(h.candidates.as_deref()).bind(h.held_count).bind(now_ms).bind(now_ms);
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Closes the open quarantine entry of a SKU that now maps to `part_id`.
    pub async fn quarantine_release(
        &self,
        source: &str,
        sku: &str,
        part_id: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE quarantine SET status = 'RESOLVED', resolved_part_id = $1, resolved_at = $2 \
             WHERE source = $3 AND external_sku = $4 AND status = 'OPEN'",
        )
        .bind(part_id)
        .bind(now_ms)
        .bind(source)
        .bind(sku)
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// Quarantine entries, open ones first.
    pub async fn quarantine(&self, only_open: bool) -> Result<Vec<QuarantineRow>, StoreError> {
        self.quarantine_page(only_open, None, i64::MAX).await
    }

    /// At most `limit` entries of [`Store::quarantine`] after the entry `(status, id)`.
    pub async fn quarantine_page(
        &self,
        only_open: bool,
        after: Option<(&str, i64)>,
        limit: i64,
    ) -> Result<Vec<QuarantineRow>, StoreError> {
        let (after_status, after_id) = after.unwrap_or(("", 0));
        Ok(sqlx::query_as(
            "SELECT id, source, external_sku, reason, candidates, held_count, status, resolved_part_id FROM quarantine \
             WHERE ($1 = 0 OR status = 'OPEN') AND ($2 = '' OR status < $2 OR (status = $2 AND id > $3)) \
             ORDER BY status DESC, id LIMIT $4",
        )
        .bind(i64::from(only_open))
        .bind(after_status)
        .bind(after_id)
        .bind(limit)
        .fetch_all(self.pool())
        .await?)
    }
}

/// A SKU to hold in quarantine (see [`Store::quarantine_hold`]).
#[derive(Debug, Clone)]
pub struct QuarantineHold {
    /// The feed's source.
    pub source: String,
    /// The SKU as delivered.
    pub external_sku: String,
    /// `UNMAPPED` or `AMBIGUOUS`.
    pub reason: &'static str,
    /// The parts an ambiguous SKU could name, comma-separated.
    pub candidates: Option<String>,
    /// How many records are held.
    pub held_count: i64,
}
