-- Ballast local workspace, version 4: each table keeps the checksum it last verified.
--
-- A sync verifies every table on every run. For a large table it does not ask Postgres to
-- sum every row again: the checksum Postgres would give is the one both sides agreed on last
-- time, plus the rows written since the watermark (summed by Postgres), minus the versions
-- those rows replaced on the laptop. `checksum` is that agreed value (JSON of
-- `TableChecksum`); NULL means the next run sums the whole table in Postgres.

ALTER TABLE sync_state ADD COLUMN checksum VARCHAR;
