-- Whole units (PostgreSQL). Keep in step with ../sqlite/0012_part_packs.sql.
--
-- A part's pack size (order multiple) and minimum order quantity, both optional and > 0 when
-- given (docs/contract.md#whole-units). A change of either (or of the unit) marks the part for the
-- next incremental recompute: the statement trigger `parts_marks_update` (migration 7) already
-- marks every part an UPDATE writes.
ALTER TABLE parts ADD COLUMN pack_size DOUBLE PRECISION;
ALTER TABLE parts ADD COLUMN min_order_qty DOUBLE PRECISION;

-- Thresholds stored before whole units were computed without them: the next recompute computes
-- every part (as after a first run), so discrete parts publish whole units without `--all`.
DELETE FROM threshold_watermark;
