-- SKU-map generation (PostgreSQL). Keep in step with ../sqlite/0008_sku_map_generation.sql.
--
-- A counter that every change of sku_map raises, by trigger (so every write path is covered,
-- another instance's too). A process keeps the whole SKU map in memory as an index and tells with
-- this one-row read whether it is still current (`Store::sku_map_index`). One raise per
-- statement, whatever its row count.
CREATE TABLE sku_map_generation (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    generation  BIGINT NOT NULL
);
INSERT INTO sku_map_generation (id, generation) VALUES (1, 0);

CREATE FUNCTION cmms_raise_sku_map_generation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE sku_map_generation SET generation = generation + 1 WHERE id = 1;
    RETURN NULL;
END
$$;

CREATE TRIGGER sku_map_generation_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON sku_map
FOR EACH STATEMENT EXECUTE FUNCTION cmms_raise_sku_map_generation();
