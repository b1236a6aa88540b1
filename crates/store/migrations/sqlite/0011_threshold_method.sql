-- Threshold method and demand class (SQLite). Keep in step with ../postgres/0011_threshold_method.sql.
--
-- Each computed threshold row names the method that gave its numbers (moving_average, the seed
-- formula, or moving_average_ss, sba, tsb, empirical: the demand-driven methods, auto's choice
-- per part) and the part's demand class (smooth, erratic, intermittent, lumpy, no_demand); the
-- forecast figures behind them are in the row's inputs document ("policy"). Rows written before
-- are the seed formula's: method NULL means moving_average.
ALTER TABLE thresholds ADD COLUMN method TEXT;
ALTER TABLE thresholds ADD COLUMN demand_class TEXT;
