//! `ballast-storage`: the local DuckDB workspace file.
//!
//! One file per profile holds mirrors of the shared tables, where they came from and when
//! ([`SourceInfo`], per-table freshness), sync history and the laptop's own tables. The schema
//! is built by versioned migrations ([`migrations`]) applied in name order. A [`Workspace`] is
//! opened once per process and shared (`Arc<Workspace>`); opening the same file twice in one
//! process is refused, so two handles can never race on one file.

mod dataset;
pub mod migrations;
mod outbox;
mod pool;
mod scenarios;
mod sync;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use chrono::{DateTime, Utc};
use duckdb::{params, Connection};
use thiserror::Error;

pub use dataset::Progress;
pub use outbox::{backoff, OutboxCounts, OutboxItem};
use pool::PooledConnection;
pub use scenarios::{SavedScenario, ScenarioRun, ScenarioSummary};
pub use sync::{
    read_csv, LoadCounts, MirrorFigures, MirrorReader, RecordBatch, SyncInputs, SyncWriter,
    TableState, TableSyncState, TombstoneMarkers,
};

#[derive(Debug, Error)]
pub enum StorageError {
    #[error("workspace {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: duckdb::Error,
    },
    #[error("workspace {0} is already open in this process; share the open handle")]
    AlreadyOpen(PathBuf),
    #[error("could not create the folder for workspace {path}: {source}")]
    Folder {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("migration {name}: {source}")]
    Migration {
        name: String,
        #[source]
        source: duckdb::Error,
    },
    #[error("workspace query failed: {0}")]
    Query(#[from] duckdb::Error),
    #[error("workspace holds an invalid value in {table}.{column}: {value}")]
    Invalid {
        table: &'static str,
        column: &'static str,
        value: String,
    },
    #[error("the sync history has no run {id} to record as {status}")]
    MissingRun { id: String, status: String },
}

pub type Result<T> = std::result::Result<T, StorageError>;

/// Where the mirrored data came from, and when it was loaded.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceInfo {
    /// `demo` or `postgres`.
    pub kind: String,
    /// A human label: the demo seed, or the Postgres URL without its password.
    pub label: String,
    pub loaded_at: DateTime<Utc>,
}

/// One row of sync history.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncRun {
    pub id: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// `running`, `succeeded`, `failed`, `cancelled`, or `interrupted` (the process died).
    pub status: String,
    pub rows_in: i64,
    pub rows_deleted: i64,
    pub verification: Option<String>,
    pub notes: Option<String>,
    pub error: Option<String>,
}

/// How a sync run ended, for the history. Every text must already be free of secrets.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RunOutcome {
    /// `succeeded`, `failed` or `cancelled`.
    pub status: String,
    pub rows_in: i64,
    pub rows_deleted: i64,
    pub verification: Option<String>,
    pub notes: Option<String>,
    pub error: Option<String>,
}

/// How fresh one mirrored table is.
#[derive(Debug, Clone, PartialEq)]
pub struct TableFreshness {
    pub table: String,
    pub rows: i64,
    pub last_synced_at: DateTime<Utc>,
    /// When its counts and checksums last matched Postgres (never for the demo).
    pub verified_at: Option<DateTime<Utc>>,
}

fn open_paths() -> &'static Mutex<HashSet<PathBuf>> {
    static OPEN: OnceLock<Mutex<HashSet<PathBuf>>> = OnceLock::new();
    OPEN.get_or_init(Default::default)
}

/// The open workspace file. Cheap to share behind an `Arc`; calls are serialised on one
/// connection, which is what DuckDB wants for a single writer.
pub struct Workspace {
    path: PathBuf,
    conn: Mutex<Connection>,
    /// The mirrors' figures as this handle's last sync committed them; `None` once anything
    /// else may have written them (see [`Workspace::committed_mirror_figures`]).
    committed_figures: Arc<Mutex<Option<MirrorFigures>>>,
    /// The sync's own connections, kept between runs (see [`pool`]).
    sync_connections: pool::ConnectionPool,
}

impl std::fmt::Debug for Workspace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Workspace")
            .field("path", &self.path)
            .finish()
    }
}

impl Workspace {
    /// Open (creating if needed) the workspace at `path` and bring its schema up to date.
    pub fn open(path: &Path) -> Result<Workspace> {
        if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(folder).map_err(|source| StorageError::Folder {
                path: path.to_path_buf(),
                source,
            })?;
        }
        let key = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        if !open_paths().lock().expect("registry").insert(key.clone()) {
            return Err(StorageError::AlreadyOpen(key));
        }
        let conn = Connection::open(path).map_err(|source| {
            open_paths().lock().expect("registry").remove(&key);
            StorageError::Open {
                path: path.to_path_buf(),
                source,
            }
        })?;
        // DuckDB is built at -O1 here (Cargo.toml says why), and at -O1 unpacking bit-packed
        // columns dominates every scan: summing prices' 1.2 M closes took 46 ms bit-packed
        // and 7.5 ms stored plainly. The file grows by about 45% (82 to 118 MB for the sync
        // benchmark's 2.1 M rows); scans, loads and every sync's verification get faster.
        //
        // Checkpoints do not merge row groups (`max_vacuum_tasks = 0`): after a sync's delta,
        // spread over every row group, merging rewrote whole row groups at each checkpoint
        // (200 ms instead of 45 ms for the benchmark's 1% change, every time). The space
        // deleted rows leave is reclaimed by [`Workspace::compact`] instead.
        conn.execute_batch(
            "SET disabled_compression_methods = 'bitpacking'; SET max_vacuum_tasks = 0",
        )
        .map_err(|source| {
            open_paths().lock().expect("registry").remove(&key);
            StorageError::Open {
                path: path.to_path_buf(),
                source,
            }
        })?;
        let workspace = Workspace {
            path: key,
            conn: Mutex::new(conn),
            committed_figures: Arc::default(),
            sync_connections: pool::ConnectionPool::default(),
        };
        migrations::apply(&mut workspace.conn())?;
        Ok(workspace)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves DuckDB itself consistent (transactions roll
        // back), so a poisoned lock is safe to reuse.
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A connection of the sync's own, kept between runs with the statements it prepared.
    fn sync_connection(&self) -> Result<PooledConnection> {
        self.sync_connections.take(&self.conn())
    }

    /// Reclaim the space deleted rows leave: a checkpoint that merges thinned-out row groups
    /// (ordinary checkpoints do not, see [`Workspace::open`]). DuckDB picks the merges, and at a
    /// table's end it merges only if that at least doubles the first row group merged (see
    /// ARCHITECTURE.md, "Sync"). Call it right after a commit:
    /// DuckDB skips a checkpoint when its write-ahead log is empty. It fails while another
    /// write transaction is open; the caller may simply try again later.
    pub fn compact(&self) -> Result<()> {
        let conn = self.conn();
        let merged = conn.execute_batch("SET max_vacuum_tasks = 100; CHECKPOINT");
        conn.execute_batch("SET max_vacuum_tasks = 0")?;
        Ok(merged?)
    }

    /// Whether any shared data has been loaded (demo or synced).
    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.source()?.is_none())
    }

    pub fn source(&self) -> Result<Option<SourceInfo>> {
        read_source(&self.conn())
    }

    /// Per-table freshness, in table order.
    pub fn freshness(&self) -> Result<Vec<TableFreshness>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT table_name, row_count, last_synced_at, verified_at FROM sync_state
             ORDER BY table_name",
        )?;
        let rows = stmt.query_map([], |row| {
            Ok(TableFreshness {
                table: row.get(0)?,
                rows: row.get(1)?,
                last_synced_at: row.get(2)?,
                verified_at: row.get(3)?,
            })
        })?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    /// The sync history on a connection of its own: a run's start is recorded on another
    /// thread while Postgres connects.
    pub fn run_log(&self) -> Result<RunLog> {
        Ok(RunLog {
            conn: self.sync_connection()?,
        })
    }

    /// Close a sync run with its outcome.
    pub fn finish_sync_run(&self, id: &str, outcome: &RunOutcome) -> Result<()> {
        finish_sync_run(&self.conn(), id, outcome)
    }

    /// The most recent sync runs, newest first.
    pub fn sync_runs(&self, limit: usize) -> Result<Vec<SyncRun>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT id::VARCHAR, started_at, finished_at, status, rows_in, rows_deleted,
                    verification, notes, error
             FROM sync_runs ORDER BY started_at DESC LIMIT ?",
        )?;
        let rows = stmt.query_map(params![limit as i64], |row| {
            Ok(SyncRun {
                id: row.get(0)?,
                started_at: row.get(1)?,
                finished_at: row.get(2)?,
                status: row.get(3)?,
                rows_in: row.get(4)?,
                rows_deleted: row.get(5)?,
                verification: row.get(6)?,
                notes: row.get(7)?,
                error: row.get(8)?,
            })
        })?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    pub fn setting(&self, key: &str) -> Result<Option<String>> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT value FROM settings WHERE key = ?")?;
        let mut rows = stmt.query(params![key])?;
        Ok(match rows.next()? {
            Some(row) => Some(row.get(0)?),
            None => None,
        })
    }

    /// Store a setting. Never pass a secret here: the file is readable by any DuckDB client.
    pub fn set_setting(&self, key: &str, value: &str) -> Result<()> {
        self.conn().execute(
            "INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)",
            params![key, value],
        )?;
        Ok(())
    }

    /// Row count of every table in the file, for diagnostics and tests.
    pub fn table_counts(&self) -> Result<Vec<(String, i64)>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT table_name FROM information_schema.tables
             WHERE table_schema = 'main' ORDER BY table_name",
        )?;
        let names: Vec<String> = stmt
            .query_map([], |row| row.get(0))?
            .collect::<std::result::Result<_, _>>()?;
        names
            .into_iter()
            .map(|name| {
                let count: i64 =
                    conn.query_row(&format!("SELECT count(*) FROM \"{name}\""), [], |r| {
                        r.get(0)
                    })?;
                Ok((name, count))
            })
            .collect()
    }
}

/// The workspace's data source, if any was loaded.
pub(crate) fn read_source(conn: &Connection) -> Result<Option<SourceInfo>> {
    let mut stmt = conn.prepare_cached("SELECT kind, label, loaded_at FROM workspace_source")?;
    let mut rows = stmt.query([])?;
    match rows.next()? {
        Some(row) => Ok(Some(SourceInfo {
            kind: row.get(0)?,
            label: row.get(1)?,
            loaded_at: row.get(2)?,
        })),
        None => Ok(None),
    }
}

impl Drop for Workspace {
    fn drop(&mut self) {
        open_paths()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.path);
    }
}

/// Record how sync run `id` ended (see [`Workspace::finish_sync_run`]).
/// A run that is not in the history (or not visible to `conn`'s transaction, which began
/// before the run's start was committed) is an error, never a silent no-op.
pub(crate) fn finish_sync_run(conn: &Connection, id: &str, outcome: &RunOutcome) -> Result<()> {
    let updated = conn
        .prepare_cached(
            "UPDATE sync_runs SET finished_at = ?, status = ?, rows_in = ?, rows_deleted = ?,
                    verification = ?, notes = ?, error = ?
             WHERE id = ?",
        )?
        .execute(params![
            Utc::now(),
            outcome.status,
            outcome.rows_in,
            outcome.rows_deleted,
            outcome.verification,
            outcome.notes,
            outcome.error,
            id
        ])?;
    if updated != 1 {
        return Err(StorageError::MissingRun {
            id: id.to_string(),
            status: outcome.status.clone(),
        });
    }
    Ok(())
}

/// See [`Workspace::run_log`].
pub struct RunLog {
    conn: PooledConnection,
}

impl RunLog {
    /// Start a sync run in the history; returns its id. A run still marked `running` belonged
    /// to a process that died (one sync runs at a time): it is marked `interrupted`.
    pub fn begin(&self) -> Result<String> {
        let id = uuid::Uuid::now_v7().to_string();
        let conn = &self.conn;
        conn.prepare_cached(
            "UPDATE sync_runs SET status = 'interrupted' WHERE status = 'running'",
        )?
        .execute([])?;
        conn.prepare_cached(
            "INSERT INTO sync_runs (id, started_at, status) VALUES (?, ?, 'running')",
        )?
        .execute(params![id, Utc::now()])?;
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoints_keep_row_groups_and_compact_merges_them() {
        let dir = tempfile::tempdir().unwrap();
        let workspace = Workspace::open(&dir.path().join("ws.duckdb")).unwrap();
        let row_groups = || -> i64 {
            workspace
                .conn()
                .query_row(
                    "SELECT count(DISTINCT row_group_id) FROM pragma_storage_info('scratch')",
                    [],
                    |r| r.get(0),
                )
                .unwrap()
        };
        workspace
            .conn()
            .execute_batch(
                "CREATE TABLE scratch AS SELECT range AS i FROM range(480000); CHECKPOINT;
                 DELETE FROM scratch WHERE i % 4 <> 0; CHECKPOINT",
            )
            .unwrap();
        // Three quarters deleted, yet an ordinary checkpoint leaves the four row groups.
        assert_eq!(row_groups(), 4);
        // A compaction runs after a sync's commit: some write is always in the log.
        workspace.set_setting("scratch", "1").unwrap();
        workspace.compact().unwrap();
        assert_eq!(row_groups(), 1, "120,000 rows fit one row group");
        let count: i64 = workspace
            .conn()
            .query_row("SELECT count(*) FROM scratch", [], |r| r.get(0))
            .unwrap();
        assert_eq!(count, 120_000);
        // And the setting is back: the next checkpoint does not merge.
        workspace
            .conn()
            .execute_batch("DELETE FROM scratch WHERE i % 8 = 0; CHECKPOINT")
            .unwrap();
        let setting: String = workspace
            .conn()
            .query_row(
                "SELECT current_setting('max_vacuum_tasks')::VARCHAR",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(setting, "0");
    }
}
