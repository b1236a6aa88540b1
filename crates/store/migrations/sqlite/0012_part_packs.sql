-- Whole units (SQLite). Keep in step with ../postgres/0012_part_packs.sql.
--
-- A part's pack size (order multiple) and minimum order quantity, both optional and > 0 when
-- given (docs/contract.md#whole-units). Together with the part's unit of measure they decide how
-- its thresholds and order quantities are rounded, so a change of any of them marks the part for
-- the next incremental recompute, like its lead time.
ALTER TABLE parts ADD COLUMN pack_size REAL;
ALTER TABLE parts ADD COLUMN min_order_qty REAL;

DROP TRIGGER parts_marks_update;
CREATE TRIGGER parts_marks_update AFTER UPDATE ON parts
WHEN OLD.lead_time_days IS NOT NEW.lead_time_days OR OLD.part_class IS NOT NEW.part_class
  OR OLD.site_id IS NOT NEW.site_id OR OLD.baseline_min IS NOT NEW.baseline_min
  OR OLD.baseline_reorder IS NOT NEW.baseline_reorder OR OLD.baseline_max IS NOT NEW.baseline_max
  OR OLD.unit IS NOT NEW.unit OR OLD.pack_size IS NOT NEW.pack_size
  OR OLD.min_order_qty IS NOT NEW.min_order_qty
BEGIN
    INSERT INTO threshold_marks (part_id) VALUES (NEW.part_id)
    ON CONFLICT (part_id) DO UPDATE SET claimed = 0 WHERE claimed <> 0;
END;

-- Thresholds stored before whole units were computed without them: the next recompute computes
-- every part (as after a first run), so discrete parts publish whole units without `--all`.
DELETE FROM threshold_watermark;
