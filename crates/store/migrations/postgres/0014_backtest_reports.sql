-- Saved backtest reports (PostgreSQL). Keep in step with ../sqlite/0014_backtest_reports.sql.
--
-- `cmms backtest` saves each report it prints (docs/cli.md#backtest): when it ran (epoch ms),
-- what it replayed (the input folder, in words) and the whole report as JSON, the same document
-- `--format json` prints. The dashboard's backtest page shows the latest one.
CREATE TABLE backtest_reports (
    id         BIGSERIAL PRIMARY KEY,
    created_at BIGINT NOT NULL,
    source     TEXT NOT NULL,
    report     TEXT NOT NULL
);
