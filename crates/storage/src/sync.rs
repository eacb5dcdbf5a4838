//! Applying one sync run to the mirrors: a [`SyncWriter`] holds a single DuckDB transaction on
//! its own connection to the workspace, so the app keeps reading the last committed data while
//! a sync runs, and a killed or cancelled run leaves nothing half-written.
//!
//! A table pulled whole arrives as a CSV file (what Postgres' `COPY` wrote) and replaces the
//! table's rows; a delta arrives as an Arrow batch, replaces the rows whose ids it carries and
//! removes tombstoned ids. Both are delete-by-id then insert, so applying the same rows twice
//! changes nothing.

use std::collections::BTreeMap;
use std::path::Path;

use ballast_engine::schema::{normalize_decimal, SharedTable, TableChecksum, SHARED_TABLES};
use chrono::{DateTime, Utc};
use duckdb::arrow::array::{Array, Decimal128Array, Int64Array};
pub use duckdb::arrow::record_batch::RecordBatch;
use duckdb::types::Value;
use duckdb::vtab::arrow::ArrowBatchRegistration;
use duckdb::{params, params_from_iter, Connection};

use crate::{PooledConnection, Result, SourceInfo, Workspace};

/// Rows a load brought in and removed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LoadCounts {
    pub rows_in: u64,
    pub rows_deleted: u64,
    /// A delta only: the checksum of the mirror's rows it replaced or deleted, so verification
    /// can tell what the table should now sum to without Postgres summing all of it.
    pub replaced: Option<TableChecksum>,
    /// A delta only: the checksum of the rows it brought in, as DuckDB's insert wrote them.
    pub staged: Option<TableChecksum>,
}

/// The sync bookkeeping of one mirrored table.
#[derive(Debug, Clone, PartialEq)]
pub struct TableSyncState {
    pub rows: i64,
    pub last_synced_at: DateTime<Utc>,
    pub watermark: Option<String>,
    pub verified_at: Option<DateTime<Utc>>,
    /// The checksum both sides agreed on when the table was last verified.
    pub checksum: Option<TableChecksum>,
}

/// What the last committed run left for the next one to start from.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SyncInputs {
    /// Per mirrored table, by name.
    pub states: BTreeMap<String, TableSyncState>,
    pub source: Option<SourceInfo>,
    /// Every workspace setting, by key (the sync's own and the user's tuning).
    pub settings: BTreeMap<String, String>,
}

/// What a run records for one table when it commits.
#[derive(Debug, Clone, PartialEq)]
pub struct TableState<'a> {
    pub table: &'a str,
    /// `None`: pull the table in full next time.
    pub watermark: Option<&'a str>,
    /// The checksum this run verified (both sides agreed on it); `None` if not verified.
    pub verified: Option<&'a TableChecksum>,
}

/// What every mirror holds, in the figures verification compares: per table its checksum,
/// and the NAV totals per portfolio.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MirrorFigures {
    /// Every mirrored table, by name.
    pub checksums: BTreeMap<&'static str, TableChecksum>,
    pub nav_totals: BTreeMap<String, String>,
}

type SharedFigures = std::sync::Arc<std::sync::Mutex<Option<MirrorFigures>>>;

fn lock_figures(figures: &SharedFigures) -> std::sync::MutexGuard<'_, Option<MirrorFigures>> {
    // A cache of plain data: a panic elsewhere cannot leave it half-written.
    figures.lock().unwrap_or_else(|e| e.into_inner())
}

/// One sync run's open transaction. Dropping it without [`SyncWriter::commit`] rolls back.
pub struct SyncWriter {
    conn: PooledConnection,
    open: bool,
    /// The workspace's record of what its last sync committed, set again on commit.
    committed_figures: SharedFigures,
    /// Tables with tombstones loaded by [`SyncWriter::load_tombstones`].
    tombstoned: std::collections::BTreeSet<String>,
    /// Whether this run made the temporary table of tombstones, which a committed run drops
    /// (its connection is kept for the next run).
    tombstones_loaded: bool,
}

fn quote_path(path: &Path) -> String {
    path.to_string_lossy().replace('\'', "''")
}

/// The `read_csv(…)` table function call that reads a whole table's file (as Postgres writes
/// CSV) with the mirror's column types: what [`SyncWriter::load_full`] loads.
pub fn read_csv(table: &SharedTable, path: &Path) -> String {
    let mut columns = vec!["'id': 'UUID'".to_string()];
    columns.extend(
        table
            .columns
            .iter()
            .map(|(name, kind)| format!("'{name}': '{}'", kind.duckdb_type())),
    );
    columns.push("'updated_at': 'TIMESTAMPTZ'".to_string());
    // Postgres' CSV: NULL is an empty unquoted field, an empty string is "" (kept as such).
    format!(
        "read_csv('{}', header = false, auto_detect = false, delim = ',', quote = '\"', \
         escape = '\"', allow_quoted_nulls = false, columns = {{{}}})",
        quote_path(path),
        columns.join(", ")
    )
}

/// `count, version sum, column sums…` of the rows of `source` (holding `table`'s columns), as
/// one comma-separated text (decimal texts hold no commas).
fn checksum_select(table: &SharedTable, source: &str) -> String {
    let mut figures =
        String::from("count(*)::VARCHAR, coalesce(sum(epoch_us(updated_at)), 0)::VARCHAR");
    for column in table.decimal_columns() {
        figures.push_str(&format!(", coalesce(sum({column}), 0)::VARCHAR"));
    }
    format!("SELECT concat_ws(',', {figures}) FROM {source}")
}

fn parse_checksum(table: &SharedTable, text: &str) -> TableChecksum {
    let texts: Vec<String> = text.split(',').map(str::to_string).collect();
    TableChecksum::from_texts(table, &texts)
}

/// The checksums of whole tables, in one query.
fn checksums(conn: &Connection, tables: &[&SharedTable]) -> Result<Vec<TableChecksum>> {
    if tables.is_empty() {
        return Ok(Vec::new());
    }
    let sql = tables
        .iter()
        .enumerate()
        .map(|(k, t)| {
            format!(
                "SELECT {k} AS k, ({}) AS figures",
                checksum_select(t, t.name)
            )
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    let mut stmt = conn.prepare_cached(&format!("{sql} ORDER BY k"))?;
    let rows = stmt.query_map([], |r| r.get::<_, String>(1))?;
    let texts = rows.collect::<std::result::Result<Vec<String>, _>>()?;
    Ok(tables
        .iter()
        .zip(texts)
        .map(|(t, text)| parse_checksum(t, &text))
        .collect())
}

fn checksum(conn: &Connection, table: &SharedTable) -> Result<TableChecksum> {
    Ok(checksums(conn, &[table])?.remove(0))
}

/// Sum of NAV per portfolio, as normalised decimal text.
fn nav_totals(conn: &Connection) -> Result<BTreeMap<String, String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT portfolio_id::VARCHAR, sum(nav)::VARCHAR FROM portfolio_nav GROUP BY ALL",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            normalize_decimal(&r.get::<_, String>(1)?),
        ))
    })?;
    Ok(rows.collect::<std::result::Result<_, _>>()?)
}

/// The mirrors as last committed, read on a connection of their own: a sync sums them on
/// another thread while its [`SyncWriter`] loads (the writer's changes are invisible here).
pub struct MirrorReader {
    conn: PooledConnection,
}

impl MirrorReader {
    /// What the last committed run left: sync states, source and settings, from one snapshot.
    pub fn sync_inputs(&self) -> Result<SyncInputs> {
        self.conn.execute_batch("BEGIN TRANSACTION")?;
        let inputs = (|| {
            let settings = {
                let mut stmt = self
                    .conn
                    .prepare_cached("SELECT key, value FROM settings")?;
                let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
                rows.collect::<std::result::Result<_, _>>()?
            };
            Ok(SyncInputs {
                states: read_sync_states(&self.conn)?,
                source: crate::read_source(&self.conn)?,
                settings,
            })
        })();
        // Nothing was written: ending the transaction either way is the same.
        let _ = self.conn.execute_batch("ROLLBACK");
        inputs
    }

    /// The checksums of `tables` and the NAV totals per portfolio, from one snapshot.
    pub fn figures(
        &self,
        tables: &[&SharedTable],
    ) -> Result<(Vec<TableChecksum>, BTreeMap<String, String>)> {
        self.conn.execute_batch("BEGIN TRANSACTION")?;
        let figures =
            checksums(&self.conn, tables).and_then(|sums| Ok((sums, nav_totals(&self.conn)?)));
        // Nothing was written: ending the transaction either way is the same.
        let _ = self.conn.execute_batch("ROLLBACK");
        figures
    }
}

fn read_sync_states(conn: &Connection) -> Result<BTreeMap<String, TableSyncState>> {
    let mut stmt = conn.prepare_cached(
        "SELECT table_name, row_count, last_synced_at, watermark, verified_at, checksum
         FROM sync_state",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            TableSyncState {
                rows: r.get(1)?,
                last_synced_at: r.get(2)?,
                watermark: r.get(3)?,
                verified_at: r.get(4)?,
                // Unreadable JSON is no baseline: the next run sums the whole table.
                checksum: r
                    .get::<_, Option<String>>(5)?
                    .and_then(|json| serde_json::from_str(&json).ok()),
            },
        ))
    })?;
    Ok(rows.collect::<std::result::Result<_, _>>()?)
}

/// The tombstone Postgres leaves for a `TRUNCATE` (migration `…05`): the nil id.
const TRUNCATED_MARKER: &str = "00000000-0000-0000-0000-000000000000";
/// The tombstone an `ALTER TABLE`, `CREATE` or `DROP TRIGGER` leaves (migration `…08`): the
/// largest uuid.
const ALTERED_MARKER: &str = "ffffffff-ffff-ffff-ffff-ffffffffffff";
/// The tombstone removing or rewriting tombstones leaves (migration `…09`): the uuid just
/// below the largest. None of the three is ever a row's: gen_random_uuid() sets version bits.
const PRUNED_MARKER: &str = "ffffffff-ffff-ffff-ffff-fffffffffffe";

/// Tables named by marker tombstones since the watermark.
#[derive(Debug, Default)]
pub struct TombstoneMarkers {
    /// Emptied by `TRUNCATE`: a delta cannot say which rows went, so they are pulled in full.
    pub truncated: std::collections::BTreeSet<String>,
    /// Altered (`ALTER TABLE`, `CREATE` or `DROP TRIGGER`; `tombstones` itself included): their
    /// sync triggers may have been off meanwhile, so their changes cannot be trusted to be
    /// complete.
    pub altered: std::collections::BTreeSet<String>,
    /// Their tombstones were pruned or rewritten: a delete recorded before may never reach
    /// this laptop, so their changes cannot be trusted to be complete, unless the laptop had
    /// read every tombstone removed. Each with how far those reached: the newest `sync_xid`
    /// among them (`None`: not known, after a `TRUNCATE` or from a shared schema before
    /// migration `…14`), the highest over the table's markers.
    pub pruned: BTreeMap<String, Option<u64>>,
}

/// The checksum figures of the rows one statement removed or wrote, summed exactly from what
/// its `RETURNING` clause hands back: `updated_at` in microseconds and each money/quantity
/// column as the integer mantissa of its `DECIMAL(38,10)` (so no figure is rounded on the
/// way, and a sum leaves the exact range only past 10^28).
struct RowFigures {
    rows: i64,
    versions: Option<i128>,
    /// Per decimal column, in [`SharedTable::decimal_columns`] order.
    sums: Vec<Option<i128>>,
}

/// The scale of every mirrored decimal column (`ColumnKind::Decimal`).
const DECIMAL_SCALE: i8 = 10;

impl RowFigures {
    fn new(table: &SharedTable) -> RowFigures {
        RowFigures {
            rows: 0,
            versions: Some(0),
            sums: vec![Some(0); table.decimal_columns().count()],
        }
    }

    /// The `RETURNING` list this accumulator reads, in its order.
    fn returning_clause(table: &SharedTable) -> String {
        let mut figures = vec!["epoch_us(updated_at)".to_string()];
        figures.extend(table.decimal_columns().map(str::to_string));
        format!("RETURNING {}", figures.join(", "))
    }

    /// Add one batch of [`RowFigures::returning_clause`]'s columns. A column of another type than
    /// expected (never, unless the schema changed under us) makes its figure unknown.
    fn add(&mut self, batch: &RecordBatch) {
        self.rows += batch.num_rows() as i64;
        let versions = batch.column(0).as_any().downcast_ref::<Int64Array>();
        self.versions = match (self.versions, versions) {
            (Some(total), Some(values)) => values
                .iter()
                .flatten()
                .try_fold(total, |t, v| t.checked_add(i128::from(v))),
            _ => None,
        };
        for (k, total) in self.sums.iter_mut().enumerate() {
            let values = batch
                .column(k + 1)
                .as_any()
                .downcast_ref::<Decimal128Array>()
                .filter(|a| a.scale() == DECIMAL_SCALE);
            // NULL adds nothing, as in SQL's `sum`.
            *total = match (*total, values) {
                (Some(t), Some(values)) => values.iter().flatten().try_fold(t, i128::checked_add),
                _ => None,
            };
        }
    }

    /// The checksum of the rows; `None` if a figure left the exact range, so the table is
    /// summed whole instead.
    fn checksum(&self, table: &SharedTable) -> Option<TableChecksum> {
        let mut texts = vec![self.rows.to_string(), self.versions?.to_string()];
        for sum in &self.sums {
            texts.push(normalize_decimal(&decimal_text(
                (*sum)?,
                DECIMAL_SCALE as u32,
            )));
        }
        Some(TableChecksum::from_texts(table, &texts))
    }
}

/// `mantissa / 10^scale` as plain decimal text (`-12.3400000000` for -123400000000, 10).
fn decimal_text(mantissa: i128, scale: u32) -> String {
    let digits = mantissa.unsigned_abs().to_string();
    let digits = format!("{digits:0>width$}", width = scale as usize + 1);
    let (whole, fraction) = digits.split_at(digits.len() - scale as usize);
    let sign = if mantissa < 0 { "-" } else { "" };
    if fraction.is_empty() {
        format!("{sign}{whole}")
    } else {
        format!("{sign}{whole}.{fraction}")
    }
}

impl Workspace {
    /// The committed checksum of every mirror, in [`SHARED_TABLES`] order.
    pub fn mirror_checksums(&self) -> Result<Vec<(&'static str, TableChecksum)>> {
        let conn = self.conn();
        SHARED_TABLES
            .iter()
            .map(|t| Ok((t.name, checksum(&conn, t)?)))
            .collect()
    }

    /// Rows in `table` that share an id with another row (always 0 unless a bug).
    pub fn duplicate_ids(&self, table: &SharedTable) -> Result<i64> {
        Ok(self.conn().query_row(
            &format!("SELECT count(*) - count(DISTINCT id) FROM {}", table.name),
            [],
            |r| r.get(0),
        )?)
    }

    /// The mirrors' figures as the last sync through this handle committed them, if nothing
    /// else has written the mirrors since. The process holds DuckDB's lock on the file while
    /// the handle is open, so no other process can have changed them; within the process
    /// only a [`SyncWriter`] and [`Workspace::replace_dataset`] write mirrors, and both forget
    /// the figures first. A sync that finds them need not sum the mirrors to learn what they
    /// hold; a newly opened handle has none, so the first sync after opening sums them.
    pub fn committed_mirror_figures(&self) -> Option<MirrorFigures> {
        lock_figures(&self.committed_figures).clone()
    }

    pub(crate) fn forget_mirror_figures(&self) {
        *lock_figures(&self.committed_figures) = None;
    }

    /// A reader of the committed mirrors on a connection of its own.
    pub fn mirror_reader(&self) -> Result<MirrorReader> {
        Ok(MirrorReader {
            conn: self.sync_connection()?,
        })
    }

    /// Start a sync run's transaction on a connection of its own.
    pub fn sync_writer(&self) -> Result<SyncWriter> {
        self.forget_mirror_figures();
        let conn = self.sync_connection()?;
        // Row order inside a mirror carries no meaning: let DuckDB load files in parallel.
        conn.execute_batch("SET preserve_insertion_order = false; BEGIN TRANSACTION")?;
        Ok(SyncWriter {
            conn,
            open: true,
            committed_figures: self.committed_figures.clone(),
            tombstoned: Default::default(),
            tombstones_loaded: false,
        })
    }

    /// The sync state of every mirrored table that has one.
    pub fn table_sync_states(&self) -> Result<BTreeMap<String, TableSyncState>> {
        read_sync_states(&self.conn())
    }
}

impl SyncWriter {
    /// Load the tombstones file (`table,row_id,removed_through` per line) the deltas will apply.
    pub fn load_tombstones(&mut self, path: &Path) -> Result<u64> {
        if std::fs::metadata(path).map(|m| m.len()).unwrap_or(0) == 0 {
            return Ok(0);
        }
        self.conn.execute_batch(&format!(
            "CREATE OR REPLACE TEMP TABLE sync_tombstones AS
             SELECT * FROM read_csv('{}', header = false, auto_detect = false,
                                    columns = {{'table_name': 'VARCHAR', 'row_id': 'UUID',
                                               'removed_through': 'UBIGINT'}})",
            quote_path(path)
        ))?;
        self.tombstones_loaded = true;
        let mut stmt = self
            .conn
            .prepare_cached("SELECT DISTINCT table_name FROM sync_tombstones")?;
        let tables = stmt.query_map([], |r| r.get::<_, String>(0))?;
        self.tombstoned = tables.collect::<std::result::Result<_, _>>()?;
        Ok(self
            .conn
            .prepare_cached("SELECT count(*) FROM sync_tombstones")?
            .query_row([], |r| r.get::<_, i64>(0))? as u64)
    }

    /// The tables each marker tombstone names since the watermark, read in one pass over the
    /// run's tombstones ([`TombstoneMarkers`]).
    pub fn tombstone_markers(&self) -> Result<TombstoneMarkers> {
        let mut markers = TombstoneMarkers::default();
        if self.tombstoned.is_empty() {
            return Ok(markers);
        }
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT row_id::VARCHAR, table_name,
                    CASE WHEN bool_and(removed_through IS NOT NULL) THEN max(removed_through) END
             FROM sync_tombstones
             WHERE row_id IN ('{TRUNCATED_MARKER}', '{ALTERED_MARKER}', '{PRUNED_MARKER}')
             GROUP BY ALL"
        ))?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<u64>>(2)?,
            ))
        })?;
        for row in rows {
            let (marker, table, removed_through) = row?;
            match marker.as_str() {
                TRUNCATED_MARKER => {
                    markers.truncated.insert(table);
                }
                ALTERED_MARKER => {
                    markers.altered.insert(table);
                }
                _ => {
                    markers.pruned.insert(table, removed_through);
                }
            }
        }
        Ok(markers)
    }

    /// Replace the table's rows with those of the file (every row Postgres shows; an empty
    /// file empties the table).
    pub fn load_full(&self, table: &SharedTable, path: &Path) -> Result<LoadCounts> {
        let empty_file = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0) == 0;
        let name = table.name;
        let local_rows: i64 =
            self.conn
                .query_row(&format!("SELECT count(*) FROM {name}"), [], |r| r.get(0))?;
        if local_rows == 0 || empty_file {
            let rows_deleted = self.clear(table)?;
            let rows_in = if empty_file {
                0
            } else {
                // The first pull of a table: straight from the file, no staging.
                self.conn.execute(
                    &format!("INSERT INTO {name} SELECT * FROM {}", read_csv(table, path)),
                    [],
                )?
            };
            return Ok(LoadCounts {
                rows_in: rows_in as u64,
                rows_deleted,
                replaced: None,
                staged: None,
            });
        }
        // A table pulled again (a repair): the rows no longer in Postgres count as deleted.
        self.conn.execute_batch(&format!(
            "CREATE OR REPLACE TEMP TABLE sync_stage AS SELECT * FROM {}",
            read_csv(table, path)
        ))?;
        let deleted = self.conn.execute(
            &format!("DELETE FROM {name} WHERE id NOT IN (SELECT id FROM sync_stage)"),
            [],
        )?;
        self.conn.execute(
            &format!("DELETE FROM {name} WHERE id IN (SELECT id FROM sync_stage)"),
            [],
        )?;
        let rows_in = self
            .conn
            .execute(&format!("INSERT INTO {name} SELECT * FROM sync_stage"), [])?;
        self.conn.execute_batch("DROP TABLE sync_stage")?;
        Ok(LoadCounts {
            rows_in: rows_in as u64,
            rows_deleted: deleted as u64,
            replaced: None,
            staged: None,
        })
    }

    /// Apply a delta: replace the rows whose ids `rows` carries (the rows written since the
    /// watermark, as decoded from Postgres; `None` when none were) and remove the tombstoned
    /// ones, straight from the Arrow batch (two statements for a table that changed, and no
    /// text to parse). The statements hand back the figures of the rows they remove and
    /// write, so verification knows what the delta replaced and brought without another pass
    /// over the table.
    pub fn load_delta(
        &self,
        table: &SharedTable,
        rows: Option<&RecordBatch>,
    ) -> Result<LoadCounts> {
        let name = table.name;
        // Cloning a batch shares its buffers.
        let rows = rows.map(|batch| ArrowBatchRegistration::new(batch.clone()));
        let mut gone = RowFigures::new(table);
        let mut arrived = RowFigures::new(table);
        let mut rows_deleted = 0;
        if self.tombstoned.contains(name) {
            let tombstoned = format!(
                "DELETE FROM {name} WHERE id IN (SELECT row_id FROM sync_tombstones
                                                 WHERE table_name = '{name}')"
            );
            rows_deleted = match &rows {
                None => self.returning(&tombstoned, [], table, &mut gone)?,
                // A row deleted and written again since the watermark stays.
                Some(rows) => self.returning(
                    &format!("{tombstoned} AND id NOT IN (SELECT id FROM arrow(?))"),
                    [rows],
                    table,
                    &mut gone,
                )?,
            };
        }
        if let Some(rows) = &rows {
            self.returning(
                &format!("DELETE FROM {name} WHERE id IN (SELECT id FROM arrow(?))"),
                [rows],
                table,
                &mut gone,
            )?;
            self.returning(
                &format!("INSERT INTO {name} SELECT * FROM arrow(?)"),
                [rows],
                table,
                &mut arrived,
            )?;
        }
        Ok(LoadCounts {
            rows_in: arrived.rows as u64,
            rows_deleted,
            replaced: gone.checksum(table),
            staged: arrived.checksum(table),
        })
    }

    /// Run `statement` (a `DELETE` or `INSERT` on `table`) with [`RowFigures::returning_clause`],
    /// add the figures of the rows it removed or wrote to `figures`, and return how many
    /// there were. The figures come back as Arrow batches: summed column by column, not
    /// converted value by value.
    fn returning(
        &self,
        statement: &str,
        params: impl duckdb::Params,
        table: &SharedTable,
        figures: &mut RowFigures,
    ) -> Result<u64> {
        let before = figures.rows;
        let mut stmt = self.conn.prepare_cached(&format!(
            "{statement} {}",
            RowFigures::returning_clause(table)
        ))?;
        for batch in stmt.query_arrow(params)? {
            figures.add(&batch);
        }
        Ok((figures.rows - before) as u64)
    }

    /// Remove every row of `table` (the role may no longer read it). Returns the rows removed.
    pub fn clear(&self, table: &SharedTable) -> Result<u64> {
        Ok(self
            .conn
            .prepare_cached(&format!("DELETE FROM {}", table.name))?
            .execute([])? as u64)
    }

    /// The same figures [`ballast_engine::schema::TableChecksum`] holds for Postgres, of
    /// the mirror as this (uncommitted) run sees it.
    pub fn checksum(&self, table: &SharedTable) -> Result<TableChecksum> {
        checksum(&self.conn, table)
    }

    /// [`SyncWriter::checksum`] of several tables in one query.
    pub fn checksums(&self, tables: &[&SharedTable]) -> Result<Vec<TableChecksum>> {
        checksums(&self.conn, tables)
    }

    /// Sum of NAV per portfolio, as normalised decimal text.
    pub fn nav_totals(&self) -> Result<BTreeMap<String, String>> {
        nav_totals(&self.conn)
    }

    /// Record every table's state after this run in one statement (two when a table has no
    /// state yet): row count (a verified table's from its checksum, which counted it), sync
    /// time, watermark and, for the tables verified, the time and the checksum agreed on (a
    /// table not verified loses its checksum, so the next run sums it whole in Postgres).
    pub fn set_table_states(
        &self,
        states: &[TableState<'_>],
        synced_at: DateTime<Utc>,
    ) -> Result<()> {
        // The values are parameters, so the statements' text is the same every run (for the
        // same number of tables) and this connection keeps their plans (see [`crate::pool`]).
        let mut values: Vec<Value> = Vec::with_capacity(states.len() * 5);
        for state in states {
            // A verified table's count is in its checksum; counting again costs a pass.
            let rows = match state.verified {
                Some(checksum) => checksum.rows,
                None => self
                    .conn
                    .prepare_cached(&format!("SELECT count(*) FROM {}", state.table))?
                    .query_row([], |r| r.get(0))?,
            };
            let checksum = state
                .verified
                .map(|c| serde_json::to_string(c).expect("a checksum serialises"));
            values.extend([
                Value::Text(state.table.to_string()),
                Value::BigInt(rows),
                state
                    .watermark
                    .map_or(Value::Null, |w| Value::Text(w.to_string())),
                Value::Boolean(state.verified.is_some()),
                checksum.map_or(Value::Null, Value::Text),
            ]);
        }
        let mut parameters: Vec<&dyn duckdb::ToSql> = vec![&synced_at, &synced_at];
        parameters.extend(values.iter().map(|v| v as &dyn duckdb::ToSql));
        let rows =
            vec!["(?::VARCHAR, ?::BIGINT, ?::VARCHAR, ?::BOOLEAN, ?::VARCHAR)"; states.len()]
                .join(", ");
        // Every run after the first finds every table's row already there: an update from the
        // values (about two thirds of what DuckDB's upsert costs, at the end of every run).
        // Only when a state is missing (the first run, a newly mirrored table) the upsert runs.
        let updated = self
            .conn
            .prepare_cached(&format!(
                "UPDATE sync_state SET row_count = s.n, last_synced_at = ?::TIMESTAMPTZ,
                     watermark = s.w,
                     verified_at = coalesce(CASE WHEN s.v THEN ?::TIMESTAMPTZ END, sync_state.verified_at),
                     checksum = s.c
                 FROM (VALUES {rows}) s(t, n, w, v, c)
                 WHERE sync_state.table_name = s.t"
            ))?
            .execute(params_from_iter(&parameters))?;
        if updated < states.len() {
            self.conn
                .prepare_cached(&format!(
                    "INSERT INTO sync_state (table_name, row_count, last_synced_at, watermark, verified_at, checksum)
                     SELECT t, n, ?::TIMESTAMPTZ, w, CASE WHEN v THEN ?::TIMESTAMPTZ END, c
                     FROM (VALUES {rows}) states(t, n, w, v, c)
                     ON CONFLICT (table_name) DO UPDATE SET row_count = excluded.row_count,
                         last_synced_at = excluded.last_synced_at, watermark = excluded.watermark,
                         verified_at = coalesce(excluded.verified_at, sync_state.verified_at),
                         checksum = excluded.checksum"
                ))?
                .execute(params_from_iter(&parameters))?;
        }
        Ok(())
    }

    /// Record where the data now comes from.
    pub fn set_source(&self, source: &SourceInfo) -> Result<()> {
        // One row (its key is the constant `singleton`), there after the first load: updated,
        // as DuckDB's `INSERT OR REPLACE` costs five times an update (2.2 against 0.4 ms).
        let values = params![source.kind, source.label, source.loaded_at];
        let updated = self
            .conn
            .prepare_cached("UPDATE workspace_source SET kind = ?, label = ?, loaded_at = ?")?
            .execute(values)?;
        if updated == 0 {
            self.conn
                .prepare_cached(
                    "INSERT INTO workspace_source (kind, label, loaded_at) VALUES (?, ?, ?)",
                )?
                .execute(values)?;
        }
        Ok(())
    }

    /// Store a setting inside the run's transaction.
    pub fn set_setting(&self, key: &str, value: &str) -> Result<()> {
        self.conn
            .prepare_cached("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)")?
            .execute(params![key, value])?;
        Ok(())
    }

    /// Record in the sync history that run `id` ended as `outcome`, in this transaction: a run
    /// that succeeded is in the history as such exactly when its data is committed (a process
    /// killed right after the commit cannot leave it marked as interrupted).
    pub fn record_run(&self, id: &str, outcome: &crate::RunOutcome) -> Result<()> {
        crate::finish_sync_run(&self.conn, id, outcome)
    }

    /// Make the whole run visible at once. `figures`: what the mirrors now hold, when the run
    /// knows it for every table (it verified them all), for the next sync through this
    /// handle to start from ([`Workspace::committed_mirror_figures`]).
    pub fn commit(mut self, figures: Option<MirrorFigures>) -> Result<()> {
        if self.tombstones_loaded {
            self.conn
                .execute_batch("DROP TABLE sync_tombstones; COMMIT")?;
        } else {
            self.conn.execute_batch("COMMIT")?;
        }
        // Only now: a commit that failed is rolled back as the writer drops, before its
        // connection goes back to the pool.
        self.open = false;
        *lock_figures(&self.committed_figures) = figures;
        Ok(())
    }
}

impl Drop for SyncWriter {
    fn drop(&mut self) {
        if self.open {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ballast_engine::schema::shared_table;
    use duckdb::arrow::datatypes::{DataType, Field, Schema};
    use std::sync::Arc;

    /// One `RETURNING` batch of positions' figures: versions, quantities and market values
    /// (mantissas at `scale`).
    fn batch(
        versions: &[i64],
        quantities: &[Option<i128>],
        values: &[Option<i128>],
        scale: i8,
    ) -> RecordBatch {
        let decimal = |v: &[Option<i128>]| {
            Arc::new(
                Decimal128Array::from(v.to_vec())
                    .with_precision_and_scale(38, scale)
                    .unwrap(),
            ) as Arc<dyn Array>
        };
        let schema = Schema::new(vec![
            Field::new("v", DataType::Int64, false),
            Field::new("q", DataType::Decimal128(38, scale), true),
            Field::new("m", DataType::Decimal128(38, scale), true),
        ]);
        RecordBatch::try_new(
            Arc::new(schema),
            vec![
                Arc::new(Int64Array::from(versions.to_vec())),
                decimal(quantities),
                decimal(values),
            ],
        )
        .unwrap()
    }

    #[test]
    fn returned_rows_sum_exactly_and_give_up_past_the_exact_range() {
        let positions = shared_table("positions").unwrap();
        let e10 = 10_000_000_000_i128; // 1 at scale 10
        let big = 9 * 10_i128.pow(37); // 9e27 at scale 10: two of them pass 10^38 - 1
                                       // (batches, the checksum as (rows, versions, quantity, market value) or None)
        let cases: Vec<(Vec<RecordBatch>, Option<[&str; 4]>)> = vec![
            (vec![], Some(["0", "0", "0", "0"])),
            (
                vec![
                    batch(
                        &[1_700_000_000_000_000],
                        &[Some(105 * e10 / 10)],
                        &[Some(100_025 * e10 / 100)],
                        10,
                    ),
                    batch(
                        &[1_700_000_000_000_001],
                        &[Some(-5 * e10 / 10)],
                        &[Some(1)],
                        10,
                    ),
                ],
                Some(["2", "3400000000000001", "10", "1000.2500000001"]),
            ),
            // NULL adds nothing, as SQL's sum; negative sums keep their sign
            (
                vec![batch(
                    &[5, -7],
                    &[None, Some(-3 * e10 / 100)],
                    &[Some(2 * e10), None],
                    10,
                )],
                Some(["2", "-2", "-0.03", "2"]),
            ),
            // figures beyond Decimal's 28 digits still add up exactly here
            (
                vec![batch(
                    &[1, 1],
                    &[Some(big), Some(-big)],
                    &[Some(e10), Some(0)],
                    10,
                )],
                Some(["2", "2", "0", "1"]),
            ),
            // out of i128's range: no checksum, the table is summed whole instead
            (
                vec![batch(
                    &[1, 1],
                    &[Some(i128::MAX), Some(1)],
                    &[Some(0), Some(0)],
                    10,
                )],
                None,
            ),
            // a column at another scale than the mirror's: not trusted
            (vec![batch(&[1], &[Some(1)], &[Some(1)], 2)], None),
        ];
        for (batches, want) in cases {
            let mut figures = RowFigures::new(positions);
            for b in &batches {
                figures.add(b);
            }
            let want = want.map(|w| TableChecksum::from_texts(positions, &w.map(str::to_string)));
            assert_eq!(figures.checksum(positions), want, "{batches:?}");
        }
    }

    #[test]
    fn mantissas_read_as_decimal_text() {
        for (mantissa, scale, text) in [
            (0, 10, "0.0000000000"),
            (1, 10, "0.0000000001"),
            (-1, 10, "-0.0000000001"),
            (123_400_000_000, 10, "12.3400000000"),
            (-123_400_000_000, 10, "-12.3400000000"),
            (42, 0, "42"),
            (i128::MIN, 10, "-17014118346046923173168730371.5884105728"),
        ] {
            assert_eq!(decimal_text(mantissa, scale), text, "{mantissa} at {scale}");
        }
    }
    #[test]
    fn markers_say_which_tables_and_how_far_their_pruned_tombstones_reached() {
        let dir = tempfile::tempdir().unwrap();
        let workspace = Workspace::open(&dir.path().join("ws.duckdb")).unwrap();
        let mut writer = workspace.sync_writer().unwrap();
        // As Postgres' COPY writes them: table, row id, removed_through (empty: NULL).
        let rows = [
            "prices,0f1e2d3c-4b5a-4678-9abc-def012345678,",
            &format!("prices,{PRUNED_MARKER},41"),
            &format!("prices,{PRUNED_MARKER},57"),
            // A TRUNCATE's marker does not say: the table's reach is unknown.
            &format!("positions,{PRUNED_MARKER},12"),
            &format!("positions,{PRUNED_MARKER},"),
            &format!("trades,{TRUNCATED_MARKER},"),
            &format!("accounts,{ALTERED_MARKER},"),
            // Past i64: xid8 is unsigned.
            &format!("tombstones,{PRUNED_MARKER},18446744073709551615"),
        ];
        let path = dir.path().join("tombstones.csv");
        std::fs::write(&path, rows.join("\n") + "\n").unwrap();
        assert_eq!(writer.load_tombstones(&path).unwrap(), rows.len() as u64);
        let markers = writer.tombstone_markers().unwrap();
        let names = |tables: &std::collections::BTreeSet<String>| -> Vec<String> {
            tables.iter().cloned().collect()
        };
        assert_eq!(names(&markers.truncated), ["trades"]);
        assert_eq!(names(&markers.altered), ["accounts"]);
        assert_eq!(
            markers.pruned,
            BTreeMap::from([
                ("positions".to_string(), None),
                ("prices".to_string(), Some(57)),
                ("tombstones".to_string(), Some(u64::MAX)),
            ])
        );
    }
}
