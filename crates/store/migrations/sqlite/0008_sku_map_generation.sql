-- SKU-map generation (SQLite). Keep in step with ../postgres/0008_sku_map_generation.sql.
--
-- A counter that every change of sku_map raises, by trigger (so every write path is covered,
-- another process's too). A process keeps the whole SKU map in memory as an index and tells with
-- this one-row read whether it is still current (`Store::sku_map_index`).
CREATE TABLE sku_map_generation (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    generation  INTEGER NOT NULL
);
INSERT INTO sku_map_generation (id, generation) VALUES (1, 0);

CREATE TRIGGER sku_map_generation_insert AFTER INSERT ON sku_map
BEGIN
    UPDATE sku_map_generation SET generation = generation + 1 WHERE id = 1;
END;

CREATE TRIGGER sku_map_generation_update AFTER UPDATE ON sku_map
BEGIN
    UPDATE sku_map_generation SET generation = generation + 1 WHERE id = 1;
END;

CREATE TRIGGER sku_map_generation_delete AFTER DELETE ON sku_map
BEGIN
    UPDATE sku_map_generation SET generation = generation + 1 WHERE id = 1;
END;
