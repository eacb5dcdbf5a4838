//! Sync: bring the laptop to exactly what the connected role sees in Postgres, as of one
//! snapshot, pulling only what changed since the last run.
//!
//! One run = one Postgres snapshot ([`Snapshot`]) and one DuckDB transaction ([`SyncWriter`]):
//! 1. read the catalog (tables, columns, access rules) and report drift;
//! 2. per table, copy rows written since the table's watermark (all rows the first time, after
//!    a change of source, or when the role may no longer read the table) and apply them by id,
//!    with the tombstones written since: two connections in the one snapshot copy, largest
//!    tables first, while a DuckDB worker applies each file as it lands;
//! 3. verify: row counts, version sums and exact column sums per table, and NAV totals per
//!    portfolio, compared between Postgres (same snapshot) and the uncommitted mirrors; a table
//!    that differs is pulled again in full, then must match;
//! 4. record each table's new watermark, the source and the run, and commit.
//!
//! A run killed at any point leaves the previous commit intact and the next run starts from
//! the previous watermarks (the history marks the dead run `interrupted`). Cancelling rolls
//! back the same way.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use ballast_engine::schema::{SharedTable, TableChecksum, SHARED_TABLES, UNMIRRORED_TABLES};
use ballast_pg::snapshot::{
    trigger_problems_text, Catalog, Copied, KeptConnections, Snapshot, TriggerProblem,
};
use ballast_pg::{ConnectSpec, PgError};
use ballast_storage::{
    MirrorFigures, RecordBatch, RunOutcome, SourceInfo, SyncInputs, SyncWriter, TableState,
    Workspace,
};
use chrono::{DateTime, Duration, Utc};
use futures_util::future::join;

use crate::{Result, WorkflowError};

/// Setting: hours between full verifications of the large tables (default 24).
pub const FULL_VERIFY_HOURS_SETTING: &str = "sync.full_verify_hours";
const LAST_FULL_VERIFICATION_SETTING: &str = "sync.last_full_verification";
const ACCESS_FINGERPRINT_SETTING: &str = "sync.access_fingerprint";
const DEFAULT_FULL_VERIFY_HOURS: i64 = 24;

/// Every run verifies every table. Tables up to this many rows are summed whole in Postgres;
/// larger ones are checked from their changes (the checksum agreed last time, plus the rows
/// written since, minus the versions they replaced) unless the run is a full verification
/// ([`SyncOptions::verify_all`], [`FULL_VERIFY_HOURS_SETTING`]) or their visibility may have
/// changed.
pub const SMALL_TABLE_ROWS: i64 = 50_000;
/// Setting: overrides [`SMALL_TABLE_ROWS`].
pub const SMALL_TABLE_ROWS_SETTING: &str = "sync.small_table_rows";

/// How to run a sync.
#[derive(Debug, Clone, Default)]
pub struct SyncOptions {
    /// Verify every table, whatever its size and however recently it was verified.
    pub verify_all: bool,
    /// Set to stop the run; it then rolls back and is recorded as cancelled.
    pub cancel: Arc<AtomicBool>,
    /// Where the run takes its Postgres connections from and leaves them, if anywhere: the
    /// app keeps them between syncs ([`KeptConnections`] says why); `None` connects anew.
    pub connections: Option<Arc<KeptConnections>>,
}

/// A step of a sync, for progress displays.
#[derive(Debug, Clone, PartialEq)]
pub enum SyncProgress {
    Connecting,
    /// Copying `table` out of Postgres: `bytes` so far; `index` copies started before it (two
    /// connections copy at once, largest tables first).
    Copying {
        table: &'static str,
        bytes: usize,
        index: usize,
        tables: usize,
    },
    /// `table` applied to the mirrors; `index` tables applied before it.
    Applied {
        table: &'static str,
        rows_in: u64,
        rows_deleted: u64,
        index: usize,
        tables: usize,
    },
    Verifying {
        table: &'static str,
        index: usize,
        tables: usize,
    },
    Repairing {
        table: &'static str,
        reason: String,
    },
    Committing,
}

impl SyncProgress {
    /// Share of the run done, 0–100.
    pub fn percent(&self) -> f64 {
        let share = |index: usize, tables: usize, within: f64| {
            (index as f64 + within) / tables.max(1) as f64
        };
        match self {
            SyncProgress::Connecting => 0.0,
            SyncProgress::Copying { index, tables, .. } => 5.0 + 60.0 * share(*index, *tables, 0.0),
            SyncProgress::Applied { index, tables, .. } => {
                65.0 + 15.0 * share(*index, *tables, 1.0)
            }
            SyncProgress::Verifying { index, tables, .. } => {
                80.0 + 15.0 * share(*index, *tables, 0.0)
            }
            SyncProgress::Repairing { .. } => 90.0,
            SyncProgress::Committing => 97.0,
        }
    }

    /// The table the step concerns, if any.
    pub fn table(&self) -> Option<&'static str> {
        match self {
            SyncProgress::Copying { table, .. }
            | SyncProgress::Applied { table, .. }
            | SyncProgress::Verifying { table, .. }
            | SyncProgress::Repairing { table, .. } => Some(table),
            SyncProgress::Connecting | SyncProgress::Committing => None,
        }
    }

    /// One line for a person.
    pub fn describe(&self) -> String {
        match self {
            SyncProgress::Connecting => "connecting to Postgres".to_string(),
            SyncProgress::Copying { table, bytes, .. } => {
                format!("copying {table} ({:.1} MB)", *bytes as f64 / 1e6)
            }
            SyncProgress::Applied {
                table,
                rows_in,
                rows_deleted,
                ..
            } => format!("applied {table}: {rows_in} rows in, {rows_deleted} deleted"),
            SyncProgress::Verifying { table, .. } => format!("verifying {table}"),
            SyncProgress::Repairing { table, reason } => {
                format!("repairing {table} ({reason}): pulling it again in full")
            }
            SyncProgress::Committing => "committing".to_string(),
        }
    }
}

/// What the verification of one table found.
#[derive(Debug, Clone, PartialEq)]
pub struct TableCheck {
    pub table: String,
    /// Postgres' figures came from its changes since the last check, not a sum of every row.
    pub from_changes: bool,
    /// `None` when it matched at once; the difference found when it had to be repaired.
    pub repaired: Option<String>,
}

/// The verification step of a run.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Verification {
    /// Postgres summed every row of every table (no figure came from changes).
    pub full: bool,
    /// Every table the login may read, in [`SHARED_TABLES`] order.
    pub checked: Vec<TableCheck>,
    /// NAV totals per portfolio matched to the cent.
    pub nav_totals_match: bool,
}

impl Verification {
    /// One line for the history: `passed: 14 of 14 tables (full), 1 repaired (positions: …)`,
    /// or `(3 from their changes)` for the large tables checked that way.
    pub fn summary(&self) -> String {
        let total = self.checked.len();
        let from_changes = self.checked.iter().filter(|c| c.from_changes).count();
        let how = if self.full {
            " (full)".to_string()
        } else if from_changes > 0 {
            format!(" ({from_changes} from their changes)")
        } else {
            String::new()
        };
        let mut text = format!("passed: {total} of {total} tables{how}");
        let repaired: Vec<String> = self
            .checked
            .iter()
            .filter_map(|c| c.repaired.as_ref().map(|r| format!("{}: {r}", c.table)))
            .collect();
        if !repaired.is_empty() {
            text.push_str(&format!(
                ", {} repaired ({})",
                repaired.len(),
                repaired.join("; ")
            ));
        }
        if self.nav_totals_match {
            text.push_str(", NAV totals match");
        }
        text
    }
}

/// The mirrors as a run found them (the last commit): for a large table checked from its
/// changes, the check that nothing changed it behind the app's back; for a table the run
/// leaves untouched (no row in or out), its figures at the end of the run too, so
/// verification need not sum it again. Summed on a thread and a DuckDB connection of their
/// own from the moment the run starts, while Postgres connects and copies and the writer
/// loads; or, when this workspace handle's last sync committed them and nothing has written
/// the mirrors since, those figures ([`Workspace::committed_mirror_figures`]).
type Before = MirrorFigures;

/// [`Before`] being summed, after the last run's [`SyncInputs`] were read and the run's start
/// recorded on the same thread (while Postgres connects). Dropping it waits for the thread,
/// so a failed run never leaves a connection to the workspace behind.
struct BeforeTask {
    /// The last run's inputs.
    inputs: std::sync::mpsc::Receiver<Result<SyncInputs>>,
    sums: Option<std::thread::JoinHandle<Result<Before>>>,
}

impl BeforeTask {
    /// Start the thread. It reads the last run's inputs first (the run waits for them), then
    /// records the run's start in the history and hands back its id (the [`RunStarted`]
    /// returned; the run's DuckDB transaction begins only once it has the id, so that
    /// transaction sees the row it records the outcome in, and nothing a run commits is ever
    /// without its history row), then sums the mirrors unless their figures are known.
    fn start(workspace: &Workspace) -> Result<(BeforeTask, RunStarted)> {
        let log = workspace.run_log()?;
        let reader = workspace.mirror_reader()?;
        let known = workspace.committed_mirror_figures();
        let (send_run, run) = std::sync::mpsc::sync_channel(1);
        let (send, inputs) = std::sync::mpsc::sync_channel(1);
        let sums = std::thread::spawn(move || {
            let _ = send.send(reader.sync_inputs().map_err(WorkflowError::from));
            let begun = log.begin().map_err(WorkflowError::from);
            let recorded = begun.is_ok();
            let _ = send_run.send(begun);
            if !recorded {
                return Err(WorkflowError::Invalid(
                    "the sync run could not be recorded".into(),
                ));
            }
            if let Some(figures) = known {
                return Ok(figures);
            }
            let tables: Vec<&'static SharedTable> = SHARED_TABLES.iter().collect();
            let (checksums, nav_totals) = reader.figures(&tables)?;
            Ok(Before {
                checksums: tables.iter().map(|t| t.name).zip(checksums).collect(),
                nav_totals,
            })
        });
        Ok((
            BeforeTask {
                inputs,
                sums: Some(sums),
            },
            RunStarted {
                receiver: run,
                id: std::sync::OnceLock::new(),
            },
        ))
    }

    /// The last run's sync states, source and settings (call once).
    fn inputs(&self) -> Result<SyncInputs> {
        self.inputs.recv().map_err(|_| {
            WorkflowError::Invalid("the sync's DuckDB reader stopped before reading".into())
        })?
    }

    fn finish(mut self) -> Result<Before> {
        self.sums
            .take()
            .expect("joined once")
            .join()
            .map_err(|_| WorkflowError::Invalid("the sync's DuckDB reader panicked".into()))?
    }
}

impl Drop for BeforeTask {
    fn drop(&mut self) {
        if let Some(handle) = self.sums.take() {
            let _ = handle.join();
        }
    }
}

/// The id of a run's row in the sync history, from [`BeforeTask`]'s thread.
struct RunStarted {
    receiver: std::sync::mpsc::Receiver<Result<String>>,
    id: std::sync::OnceLock<String>,
}

impl RunStarted {
    /// The id, once the row is written (the same id every call; an error if it could not be).
    fn id(&self) -> Result<String> {
        if let Some(id) = self.id.get() {
            return Ok(id.clone());
        }
        let id = self.receiver.recv().map_err(|_| {
            WorkflowError::Invalid("the sync's DuckDB reader stopped before recording".into())
        })??;
        Ok(self.id.get_or_init(|| id).clone())
    }
}

/// A verification and, per table checked (same order), the checksum both sides agreed on:
/// the next run's starting point for checking that table from its changes.
struct AgreedVerification {
    verification: Verification,
    agreed: Vec<TableChecksum>,
    /// The NAV totals per portfolio both sides agreed on (`None`: portfolio_nav unreadable).
    nav_totals: Option<BTreeMap<String, String>>,
}

/// Summary of a finished sync.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncSummary {
    pub rows_in: u64,
    pub rows_deleted: u64,
    pub tables: usize,
    /// Tables pulled in full this run (first sync, new source, lost access, repairs).
    pub full_tables: Vec<String>,
    pub source: String,
    pub verification: Verification,
    /// Schema drift and access changes the user should know about.
    pub notes: Vec<String>,
}

/// Pull what changed into the workspace, recorded in the sync history. On failure or cancel
/// the workspace keeps its previous data.
pub async fn sync(
    workspace: &Workspace,
    spec: &ConnectSpec,
    options: &SyncOptions,
    progress: &mut (dyn FnMut(SyncProgress) + Send),
) -> Result<SyncSummary> {
    progress(SyncProgress::Connecting);
    // The last run's inputs are read, the run's start recorded and the mirrors summed on a
    // thread of their own while Postgres connects.
    let (before, started) = BeforeTask::start(workspace)?;
    let outcome = run_once(workspace, spec, options, progress, before, &started).await;
    let run = match started.id() {
        Ok(id) => id,
        // The run could not be recorded: its own error, if it had one, says more.
        Err(e) => return outcome.and(Err(e)),
    };
    let record = match &outcome {
        // Recorded with the data, in the run's own transaction.
        Ok(_) => return outcome,
        Err(WorkflowError::Cancelled) => RunOutcome {
            status: "cancelled".into(),
            error: Some("cancelled by the user; nothing was applied".into()),
            ..RunOutcome::default()
        },
        Err(e) => RunOutcome {
            status: "failed".into(),
            error: Some(spec.redact(&e.to_string())),
            ..RunOutcome::default()
        },
    };
    workspace.finish_sync_run(&run, &record)?;
    outcome
}

/// The history's record of a run that succeeded.
fn succeeded(summary: &SyncSummary) -> RunOutcome {
    RunOutcome {
        status: "succeeded".into(),
        rows_in: summary.rows_in as i64,
        rows_deleted: summary.rows_deleted as i64,
        verification: Some(summary.verification.summary()),
        notes: (!summary.notes.is_empty()).then(|| summary.notes.join("; ")),
        error: None,
    }
}

fn cancelled(e: PgError) -> WorkflowError {
    match e {
        PgError::Cancelled => WorkflowError::Cancelled,
        other => other.into(),
    }
}

async fn run_once(
    workspace: &Workspace,
    spec: &ConnectSpec,
    options: &SyncOptions,
    progress: &mut (dyn FnMut(SyncProgress) + Send),
    before: BeforeTask,
    run: &RunStarted,
) -> Result<SyncSummary> {
    let mut snapshot = Snapshot::open_kept(spec, options.connections.as_ref()).await?;
    let started = Utc::now();
    let mut helper = None;
    let outcome = Run {
        workspace,
        spec,
        options,
        progress,
        started,
        files: tempfile::tempdir().map_err(|e| WorkflowError::Io {
            context: "creating a folder for the sync's files".into(),
            source: e,
        })?,
        rows_in: 0,
        rows_deleted: 0,
        applied_tables: 0,
        replaced: BTreeMap::new(),
        staged: BTreeMap::new(),
    }
    .apply(&mut snapshot, &mut helper, before, run)
    .await;
    // Both connections end at once, after the commit: the helper has been idle since the
    // checksums, and its round trip need not delay the run.
    let clean = outcome.is_ok();
    join(snapshot.close(clean), async {
        if let Some(helper) = helper {
            helper.close(clean).await;
        }
    })
    .await;
    outcome
}

/// Why a table is checked whole while some of its sync triggers do not fire for every writer,
/// and what puts each right.
fn unrecorded_writes_note(table: &str, triggers: &[(String, TriggerProblem)]) -> String {
    format!(
        "{table}: {}, so some writes to it may leave no trace for the sync; every sync checks \
         it whole against Postgres (and pulls it again if it differs) until {}",
        trigger_problems_text(triggers),
        trigger_fixes(table, triggers)
    )
}

/// Why the tables that would be checked from their changes are checked whole while a trigger
/// marking removed tombstones does not fire for every writer, and what puts each right.
fn unrecorded_tombstone_removals_note(
    triggers: &[(String, TriggerProblem)],
    tables: &[&str],
) -> String {
    format!(
        "tombstones: {}, so a tombstone removed meanwhile may leave no trace for the sync, \
         and with it a delete; every sync checks {} whole against Postgres (and pulls a table \
         again if it differs) until {}",
        trigger_problems_text(triggers),
        tables.join(", "),
        trigger_fixes("tombstones", triggers)
    )
}

/// What puts each of `table`'s `triggers` right.
fn trigger_fixes(table: &str, triggers: &[(String, TriggerProblem)]) -> String {
    triggers
        .iter()
        .map(|(name, problem)| match problem {
            TriggerProblem::Missing => format!("{name} is created again as migrations/ define it"),
            _ => format!("its owner runs ALTER TABLE {table} ENABLE ALWAYS TRIGGER {name}"),
        })
        .collect::<Vec<_>>()
        .join(" and ")
}

/// What a sync cannot see while the event triggers marking an altered table are not in place,
/// how soon a full verification would, and what puts them right.
fn unwatched_ddl_note(problems: &[(String, TriggerProblem)], full_every_hours: i64) -> String {
    format!(
        "{} (a sync runs one once the last is {full_every_hours} hours old)",
        ballast_pg::snapshot::unwatched_ddl_text(problems)
    )
}

/// Why a table altered since the last run is checked whole this once.
fn altered_note(table: &str) -> String {
    format!(
        "{table} was altered since the last sync (ALTER TABLE, CREATE or DROP TRIGGER): \
         writes made while its sync triggers were off would leave no trace, so it was checked \
         whole against Postgres"
    )
}

/// Why tables whose tombstones were pruned since the last run are checked whole this once.
fn pruned_note(tables: &[&str]) -> String {
    format!(
        "tombstones (Postgres' record of deleted rows) were pruned, or their table altered, \
         since the last sync, so a delete might not have reached this laptop: {} checked \
         whole against Postgres",
        match tables {
            [one] => format!("{one} was"),
            more => format!("{} were", more.join(", ")),
        }
    )
}

/// What a run read from a hot standby says of its data: as of the newest change the standby
/// had replayed, which may be behind the primary.
fn standby_note(standby: &ballast_pg::snapshot::Standby) -> String {
    match standby.last_replayed {
        Some((at, ago)) => format!(
            "read from a hot standby (a read-only replica): the newest change it had replayed \
             was committed {} ({} UTC); anything its primary committed after that is not in \
             this sync",
            age_label(ago),
            at.format("%Y-%m-%d %H:%M:%S")
        ),
        None => "read from a hot standby (a read-only replica) that had replayed no change \
                 since it started: anything its primary committed since is not in this sync"
            .to_string(),
    }
}

/// What a run read from a subscriber of logical replication says of its data: as of the
/// changes the subscription had applied, which may be behind its publisher, and for how long
/// if the subscription is not running.
fn subscription_note(subscription: &ballast_pg::snapshot::Subscription) -> String {
    let name = &subscription.name;
    let prefix = "read from a subscriber of logical replication";
    match (
        subscription.enabled,
        subscription.running,
        subscription.last_heard,
    ) {
        (false, _, _) => format!(
            "{prefix} whose subscription {name} is disabled: anything its publisher committed \
             since is not in this sync"
        ),
        (true, false, _) => format!(
            "{prefix} whose subscription {name} is not running (its apply worker stopped; the \
             subscriber's server log says why): anything its publisher committed since is not \
             in this sync"
        ),
        (true, true, Some((at, ago))) => format!(
            "{prefix}: subscription {name} last heard from its publisher {} ({} UTC); anything \
             its publisher committed that it had not applied yet is not in this sync",
            age_label(ago),
            at.format("%Y-%m-%d %H:%M:%S")
        ),
        (true, true, None) => format!(
            "{prefix}: subscription {name} has not heard from its publisher yet; anything its \
             publisher committed that it had not applied is not in this sync"
        ),
    }
}

/// Columns Ballast needs that Postgres lacks are an error; tables and columns Postgres has
/// that Ballast does not mirror are notes.
fn schema_drift(catalog: &Catalog) -> Result<Vec<String>> {
    let mut notes = Vec::new();
    for table in SHARED_TABLES {
        let access = catalog
            .tables
            .get(table.name)
            .ok_or_else(|| WorkflowError::SchemaDrift {
                table: table.name.to_string(),
                problem: "the table is missing from Postgres".into(),
            })?;
        if let Some(missing) = table
            .all_columns()
            .into_iter()
            .find(|c| !access.columns.contains(*c))
        {
            return Err(WorkflowError::SchemaDrift {
                table: table.name.to_string(),
                problem: format!("column {missing} is missing from Postgres"),
            });
        }
        let known = table.all_columns();
        let extra: Vec<&str> = access
            .columns
            .iter()
            .map(String::as_str)
            .filter(|c| !known.contains(c) && *c != "created_at" && *c != "sync_xid")
            .collect();
        if !extra.is_empty() {
            notes.push(format!(
                "{} has new column(s) not mirrored yet: {}",
                table.name,
                extra.join(", ")
            ));
        }
    }
    let new_tables: Vec<&str> = catalog
        .tables
        .keys()
        .map(String::as_str)
        .filter(|t| SHARED_TABLES.iter().all(|s| s.name != *t) && !UNMIRRORED_TABLES.contains(t))
        .collect();
    if !new_tables.is_empty() {
        notes.push(format!(
            "Postgres has new table(s) not mirrored yet: {}",
            new_tables.join(", ")
        ));
    }
    Ok(notes)
}

struct Run<'a> {
    workspace: &'a Workspace,
    spec: &'a ConnectSpec,
    options: &'a SyncOptions,
    progress: &'a mut (dyn FnMut(SyncProgress) + Send),
    started: DateTime<Utc>,
    files: tempfile::TempDir,
    /// Rows brought in and removed so far, repairs included.
    rows_in: u64,
    rows_deleted: u64,
    /// Tables the DuckDB worker has applied so far, for progress.
    applied_tables: usize,
    /// Per table loaded as a delta: the checksum of the laptop's rows it replaced, and of the
    /// rows it brought in.
    replaced: BTreeMap<&'static str, TableChecksum>,
    staged: BTreeMap<&'static str, TableChecksum>,
}

/// A table to copy, and what of it.
struct CopyJob {
    table: &'static SharedTable,
    rows: CopyRows,
}

enum CopyRows {
    /// Every row the login sees.
    All,
    /// The rows written since this watermark.
    Since(String),
    /// Nothing was written since the watermark (Postgres said so for every table in one
    /// round trip): an empty delta, no copy.
    Unchanged,
    /// The login may no longer read the table: an empty full pull, so it leaves the laptop.
    Unreadable,
}

/// What the copying connections share: the tables still to copy, the DuckDB worker's queue,
/// and the run's progress, cancel flag and bytes copied per table.
struct CopyLanes<'a, 'p> {
    queue: &'a std::sync::Mutex<std::collections::VecDeque<CopyJob>>,
    jobs: &'a std::sync::mpsc::Sender<LoadJob>,
    files: &'a std::path::Path,
    cancel: &'a AtomicBool,
    /// Set when a lane fails, so the other stops at its next table.
    stop: &'a AtomicBool,
    /// Copies started so far (tables Postgres actually streams), for progress.
    started: &'a std::sync::atomic::AtomicUsize,
    progress: &'a std::sync::Mutex<&'p mut (dyn FnMut(SyncProgress) + Send)>,
    copied: &'a std::sync::Mutex<BTreeMap<&'static str, Copied>>,
}

impl CopyLanes<'_, '_> {
    /// Copy tables on `snapshot`'s connection until none is left, handing each file to the
    /// DuckDB worker as soon as it is written.
    async fn run(&self, snapshot: &mut Snapshot) -> Result<()> {
        let outcome = self.copy_all(snapshot).await;
        if outcome.is_err() {
            self.stop.store(true, Ordering::Relaxed);
        }
        outcome
    }

    async fn copy_all(&self, snapshot: &mut Snapshot) -> Result<()> {
        let tables = SHARED_TABLES.len();
        loop {
            if self.cancel.load(Ordering::Relaxed) {
                return Err(WorkflowError::Cancelled);
            }
            if self.stop.load(Ordering::Relaxed) {
                return Ok(()); // the other lane failed; its error is reported
            }
            let Some(job) = self
                .queue
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .pop_front()
            else {
                return Ok(());
            };
            let CopyJob { table, rows } = job;
            let arrived = match rows {
                CopyRows::Unchanged => Arrived::Delta(None),
                CopyRows::Unreadable => {
                    let path = self.files.join(format!("{}.csv", table.name));
                    std::fs::write(&path, b"").map_err(|e| WorkflowError::Io {
                        context: format!("writing {}", path.display()),
                        source: e,
                    })?;
                    Arrived::Whole(path)
                }
                CopyRows::All | CopyRows::Since(_) => {
                    let order = self.started.fetch_add(1, Ordering::Relaxed);
                    let mut report = |bytes| {
                        (self.progress.lock().unwrap_or_else(|e| e.into_inner()))(
                            SyncProgress::Copying {
                                table: table.name,
                                bytes,
                                index: order,
                                tables,
                            },
                        )
                    };
                    report(0);
                    let (copied, arrived) = match &rows {
                        CopyRows::Since(since) => {
                            let (copied, rows) = snapshot
                                .copy_delta(table, since, self.cancel, &mut report)
                                .await
                                .map_err(cancelled)?;
                            (copied, Arrived::Delta(rows))
                        }
                        _ => {
                            let path = self.files.join(format!("{}.csv", table.name));
                            let copied = snapshot
                                .copy_table(table, &path, self.cancel, &mut report)
                                .await
                                .map_err(cancelled)?;
                            (copied, Arrived::Whole(path))
                        }
                    };
                    self.copied
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(table.name, copied);
                    arrived
                }
            };
            let job = LoadJob { table, arrived };
            if self.jobs.send(job).is_err() {
                return Ok(()); // the worker stopped on an error; it is reported
            }
        }
    }
}

/// Copy the tombstones written at or after `since` into `path` (nothing without a watermark).
async fn copy_tombstones(
    snapshot: &mut Snapshot,
    since: Option<&str>,
    has_reach: bool,
    path: &std::path::Path,
    cancel: &AtomicBool,
) -> Result<()> {
    if let Some(since) = since {
        snapshot
            .copy_tombstones(since, has_reach, path, cancel)
            .await
            .map_err(cancelled)?;
    }
    Ok(())
}

/// A table's rows, waiting for the DuckDB worker.
struct LoadJob {
    table: &'static SharedTable,
    arrived: Arrived,
}

/// How a table's rows arrived.
enum Arrived {
    /// Every row Postgres shows, in a CSV file (empty: the login may not read the table).
    Whole(std::path::PathBuf),
    /// The rows written since the watermark (`None`: none were).
    Delta(Option<RecordBatch>),
}

/// What the DuckDB worker did with a [`LoadJob`].
struct Loaded {
    job: LoadJob,
    result: std::result::Result<ballast_storage::LoadCounts, ballast_storage::StorageError>,
}

impl Run<'_> {
    /// Account for one applied table (or keep the first failure).
    fn applied(
        &mut self,
        done: Loaded,
        changed: &mut BTreeSet<&'static str>,
        unreadable: &BTreeSet<&'static str>,
        notes: &mut Vec<String>,
        failure: &mut Option<WorkflowError>,
    ) {
        let table = done.job.table.name;
        match done.result {
            Ok(counts) => {
                if let Some(replaced) = counts.replaced {
                    self.replaced.insert(table, replaced);
                }
                if let Some(staged) = counts.staged {
                    self.staged.insert(table, staged);
                }
                self.rows_in += counts.rows_in;
                self.rows_deleted += counts.rows_deleted;
                if counts.rows_in > 0 || counts.rows_deleted > 0 {
                    changed.insert(table);
                }
                if unreadable.contains(table) && counts.rows_deleted > 0 {
                    notes.push(format!(
                        "this login may no longer read {table}: its {} rows left the laptop",
                        counts.rows_deleted
                    ));
                }
                (self.progress)(SyncProgress::Applied {
                    table,
                    rows_in: counts.rows_in,
                    rows_deleted: counts.rows_deleted,
                    index: self.applied_tables.min(SHARED_TABLES.len() - 1),
                    tables: SHARED_TABLES.len(),
                });
                self.applied_tables += 1;
            }
            Err(e) => {
                failure.get_or_insert(e.into());
            }
        }
    }

    fn check_cancel(&self) -> Result<()> {
        if self.options.cancel.load(Ordering::Relaxed) {
            Err(WorkflowError::Cancelled)
        } else {
            Ok(())
        }
    }

    /// Copy every row of `table` into its file, reporting progress; returns the file.
    async fn copy_out(
        &mut self,
        snapshot: &mut Snapshot,
        table: &'static SharedTable,
        index: usize,
    ) -> Result<std::path::PathBuf> {
        let path = self.files.path().join(format!("{}.csv", table.name));
        let tables = SHARED_TABLES.len();
        let progress = &mut *self.progress;
        let mut report = |bytes| {
            progress(SyncProgress::Copying {
                table: table.name,
                bytes,
                index,
                tables,
            })
        };
        report(0);
        snapshot
            .copy_table(table, &path, &self.options.cancel, &mut report)
            .await
            .map_err(cancelled)?;
        Ok(path)
    }

    /// Copy every row of `table` and apply it.
    async fn pull(
        &mut self,
        snapshot: &mut Snapshot,
        writer: &SyncWriter,
        table: &'static SharedTable,
        index: usize,
    ) -> Result<ballast_storage::LoadCounts> {
        let path = self.copy_out(snapshot, table, index).await?;
        if self.options.cancel.load(Ordering::Relaxed) {
            return Err(WorkflowError::Cancelled);
        }
        let counts = writer.load_full(table, &path)?;
        let _ = std::fs::remove_file(&path);
        self.rows_in += counts.rows_in;
        self.rows_deleted += counts.rows_deleted;
        (self.progress)(SyncProgress::Applied {
            table: table.name,
            rows_in: counts.rows_in,
            rows_deleted: counts.rows_deleted,
            index,
            tables: SHARED_TABLES.len(),
        });
        Ok(counts)
    }

    async fn apply(
        mut self,
        snapshot: &mut Snapshot,
        helper: &mut Option<Snapshot>,
        before: BeforeTask,
        run: &RunStarted,
    ) -> Result<SyncSummary> {
        // A second connection joins the run's snapshot while the catalog is read, so two
        // tables copy at once; without it (a server at its connection limit) one does.
        let (exported, xmin) = (snapshot.exported().to_string(), snapshot.xmin().to_string());
        let (catalog, attached) = join(
            snapshot.catalog(),
            Snapshot::attach(
                self.spec,
                self.options.connections.as_ref(),
                &exported,
                &xmin,
            ),
        )
        .await;
        let catalog = catalog?;
        *helper = attached.ok();
        let mut notes = schema_drift(&catalog)?;
        if let Some(standby) = snapshot.standby() {
            notes.push(standby_note(standby));
        }
        notes.extend(catalog.subscriptions.iter().map(subscription_note));
        let workspace = self.workspace;
        let SyncInputs {
            states,
            source,
            settings,
        } = before.inputs()?;
        let setting = |key: &str| settings.get(key).map(String::as_str);
        let same_source =
            source.is_some_and(|s| s.kind == "postgres" && s.label == self.spec.display_url());
        let fingerprint_changed =
            setting(ACCESS_FINGERPRINT_SETTING) != Some(catalog.fingerprint.as_str());
        let can_see_deletes = catalog
            .tables
            .get("tombstones")
            .is_some_and(|t| t.selectable);
        let watermark = |table: &str| -> Option<String> {
            if !(same_source && can_see_deletes) {
                return None;
            }
            states.get(table).and_then(|s| s.watermark.clone())
        };

        let unreadable: BTreeSet<&'static str> = SHARED_TABLES
            .iter()
            .filter(|t| !catalog.tables[t.name].selectable)
            .map(|t| t.name)
            .collect();
        // Postgres first, on both connections at once when there are two: the tombstones
        // written since the oldest watermark, and which tables hold rows written since theirs
        // (an index probe each, one round trip: over a network each empty COPY would cost
        // one; a table a TRUNCATE emptied is probed too, and then pulled whole regardless).
        // Neither needs the run's DuckDB transaction, which must wait until the run's start is
        // recorded (below); the reader thread records it meanwhile.
        let oldest = SHARED_TABLES
            .iter()
            .filter_map(|t| watermark(t.name))
            .min_by_key(|w| w.parse::<u64>().unwrap_or(0));
        let tombstones = self.files.path().join("tombstones.csv");
        let watermarked: Vec<(&SharedTable, String)> = SHARED_TABLES
            .iter()
            .filter(|t| !unreadable.contains(t.name))
            .filter_map(|t| watermark(t.name).map(|since| (t, since)))
            .collect();
        let probe: Vec<(&SharedTable, &str)> = watermarked
            .iter()
            .map(|(t, since)| (*t, since.as_str()))
            .collect();
        let since = oldest.as_deref();
        // Pruning markers say how far the pruned tombstones reached (migration 14).
        let has_reach = catalog
            .tables
            .get("tombstones")
            .is_some_and(|t| t.columns.contains("removed_through"));
        let cancel = &self.options.cancel;
        let written = match helper.as_mut() {
            Some(second) => {
                let (copied, written) = join(
                    copy_tombstones(snapshot, since, has_reach, &tombstones, cancel),
                    second.written_since(&probe),
                )
                .await;
                copied?;
                written?
            }
            None => {
                copy_tombstones(snapshot, since, has_reach, &tombstones, cancel).await?;
                snapshot.written_since(&probe).await?
            }
        };

        // The run's row in the history must be committed before the writer's transaction
        // starts: DuckDB's snapshot would not show it otherwise, and the run's outcome,
        // recorded in that transaction, would update nothing (the run left as `running`).
        let run_id = run.id()?;
        let mut writer = workspace.sync_writer()?;
        let mut cleared = BTreeSet::new();
        if !same_source {
            // Another source's rows (the demo, another database) are replaced, not deleted.
            for table in SHARED_TABLES {
                if writer.clear(table)? > 0 {
                    cleared.insert(table.name);
                }
            }
        }
        if oldest.is_some() {
            writer.load_tombstones(&tombstones)?;
        }
        // A TRUNCATE left one nil-id tombstone: that table comes over whole.
        let markers = writer.tombstone_markers()?;
        let truncated = &markers.truncated;
        // A table whose sync triggers are off now, or may have been since its watermark (it
        // was altered), may have had writes that left no trace: it is summed whole.
        let altered = &markers.altered;
        let since_for = |table: &str| -> Option<String> {
            if truncated.contains(table) {
                None
            } else {
                watermark(table)
            }
        };
        let small_rows = setting(SMALL_TABLE_ROWS_SETTING)
            .and_then(|n| n.parse::<i64>().ok())
            .unwrap_or(SMALL_TABLE_ROWS);

        let full_every = setting(FULL_VERIFY_HOURS_SETTING)
            .and_then(|h| h.parse::<i64>().ok())
            .unwrap_or(DEFAULT_FULL_VERIFY_HOURS);
        let last_full = setting(LAST_FULL_VERIFICATION_SETTING)
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc));
        let full = self.options.verify_all
            || fingerprint_changed
            || !same_source
            || last_full.is_none_or(|t| self.started - t > Duration::hours(full_every));

        // Large tables checked from their changes this run (unless a change of visibility
        // later asks for a whole sum): readable, with an agreed checksum, loaded as a delta.
        let mut from_changes: Vec<&'static SharedTable> = SHARED_TABLES
            .iter()
            .filter(|t| {
                let state = states.get(t.name);
                catalog.tables[t.name].selectable
                    && !full
                    && state.is_some_and(|s| s.rows > small_rows && s.checksum.is_some())
                    && since_for(t.name).is_some()
            })
            .collect();
        for (table, problems) in &catalog.unrecorded_writes {
            notes.push(unrecorded_writes_note(table, problems));
        }
        if !catalog.unwatched_ddl.is_empty() {
            notes.push(unwatched_ddl_note(&catalog.unwatched_ddl, full_every));
        }
        for table in altered.iter().filter(|t| {
            !catalog.unrecorded_writes.contains_key(*t)
                && SHARED_TABLES.iter().any(|s| s.name == *t)
        }) {
            notes.push(altered_note(table));
        }
        from_changes.retain(|t| {
            !catalog.unrecorded_writes.contains_key(t.name) && !altered.contains(t.name)
        });
        // A table whose tombstones were pruned since its watermark may have lost a delete
        // this laptop never got, unless every one removed was below its watermark (read
        // already); so may every table while the tombstones' own triggers were off (the
        // tombstones table was altered), or once the marker saying so was pruned unread.
        let tombstone_triggers = &catalog.unrecorded_tombstone_removals;
        let unread = |table: &str, removed_through: Option<u64>| {
            let since = watermark(table).and_then(|w| w.parse::<u64>().ok());
            removed_through
                .zip(since)
                .is_none_or(|(through, since)| through >= since)
        };
        let mut deletes_may_be_missing: BTreeSet<String> = BTreeSet::new();
        for (marked, removed_through) in &markers.pruned {
            let tables: Vec<&str> = match marked.as_str() {
                "tombstones" => SHARED_TABLES.iter().map(|t| t.name).collect(),
                table => vec![table],
            };
            deletes_may_be_missing.extend(
                tables
                    .into_iter()
                    .filter(|t| unread(t, *removed_through))
                    .map(str::to_string),
            );
        }
        if altered.contains("tombstones") || !tombstone_triggers.is_empty() {
            deletes_may_be_missing.extend(SHARED_TABLES.iter().map(|t| t.name.to_string()));
        }
        let checked_whole: Vec<&str> = from_changes
            .iter()
            .map(|t| t.name)
            .filter(|t| deletes_may_be_missing.contains(*t))
            .collect();
        if !checked_whole.is_empty() {
            notes.push(if tombstone_triggers.is_empty() {
                pruned_note(&checked_whole)
            } else {
                unrecorded_tombstone_removals_note(tombstone_triggers, &checked_whole)
            });
            from_changes.retain(|t| !deletes_may_be_missing.contains(t.name));
        }
        // A table the login sees only in part, written to by anyone since its watermark, may
        // have had a row moved out of the login's sight: neither in the delta nor deleted, so
        // checking it from its changes could not see it. It is summed whole instead (and
        // pulled again if the laptop holds a row it may no longer see).
        let partly_seen: Vec<(&'static SharedTable, String)> = from_changes
            .iter()
            .filter(|t| catalog.seen_in_part.contains(t.name))
            .filter_map(|t| since_for(t.name).map(|since| (*t, since)))
            .collect();
        if !partly_seen.is_empty() {
            let out_of_sight: BTreeSet<String> = if catalog.can_probe_unseen_writes {
                let probe: Vec<(&SharedTable, &str)> = partly_seen
                    .iter()
                    .map(|(t, since)| (*t, since.as_str()))
                    .collect();
                snapshot.written_since_by_anyone(&probe).await?
            } else {
                // An older shared schema cannot say: assume the worst.
                partly_seen
                    .iter()
                    .map(|(t, _)| t.name.to_string())
                    .collect()
            };
            from_changes.retain(|t| !out_of_sight.contains(t.name));
        }

        let mut full_tables: Vec<String> = SHARED_TABLES
            .iter()
            .filter(|t| !unreadable.contains(t.name) && since_for(t.name).is_none())
            .map(|t| t.name.to_string())
            .collect();

        // Copy and apply overlap: a worker thread (which owns the run's DuckDB transaction
        // meanwhile) applies each file as soon as it lands, while Postgres streams the next.
        let (jobs, queue) = std::sync::mpsc::channel::<LoadJob>();
        let (report, loaded) = std::sync::mpsc::channel::<Loaded>();
        let cancel = self.options.cancel.clone();
        // What the run records that it knows already: written first by the worker, while
        // Postgres finds the first rows to copy, rather than at the end.
        let source = SourceInfo {
            kind: "postgres".into(),
            label: self.spec.display_url().to_string(),
            loaded_at: self.started,
        };
        let mut run_settings: Vec<(&'static str, String)> = Vec::new();
        if full {
            run_settings.push((LAST_FULL_VERIFICATION_SETTING, self.started.to_rfc3339()));
        }
        if fingerprint_changed {
            run_settings.push((ACCESS_FINGERPRINT_SETTING, catalog.fingerprint.clone()));
        }
        let recorded_source = source.clone();
        let worker = std::thread::spawn(move || {
            let recorded = writer.set_source(&recorded_source).and_then(|()| {
                run_settings
                    .iter()
                    .try_for_each(|(key, value)| writer.set_setting(key, value))
            });
            if recorded.is_err() {
                return (writer, recorded);
            }
            for job in queue {
                if cancel.load(Ordering::Relaxed) {
                    break;
                }
                let result = match &job.arrived {
                    Arrived::Whole(path) => {
                        let result = writer.load_full(job.table, path);
                        let _ = std::fs::remove_file(path);
                        result
                    }
                    Arrived::Delta(rows) => writer.load_delta(job.table, rows.as_ref()),
                };
                let failed = result.is_err();
                if report.send(Loaded { job, result }).is_err() || failed {
                    break;
                }
            }
            (writer, recorded)
        });
        let mut changed: BTreeSet<&'static str> = cleared;
        let mut failure: Option<WorkflowError> = None;
        // Largest first (by the rows the last run left), so two connections finish together.
        let mut order: Vec<CopyJob> = SHARED_TABLES
            .iter()
            .map(|table| CopyJob {
                table,
                rows: if unreadable.contains(table.name) {
                    CopyRows::Unreadable
                } else {
                    match since_for(table.name) {
                        None => CopyRows::All,
                        Some(_) if !written.contains(table.name) => CopyRows::Unchanged,
                        Some(since) => CopyRows::Since(since),
                    }
                },
            })
            .collect();
        order
            .sort_by_key(|job| std::cmp::Reverse(states.get(job.table.name).map_or(0, |s| s.rows)));
        let queue = std::sync::Mutex::new(std::collections::VecDeque::from(order));
        let copied = std::sync::Mutex::new(BTreeMap::new());
        {
            let lanes = CopyLanes {
                queue: &queue,
                jobs: &jobs,
                files: self.files.path(),
                cancel: &self.options.cancel,
                stop: &AtomicBool::new(false),
                started: &std::sync::atomic::AtomicUsize::new(0),
                progress: &std::sync::Mutex::new(&mut *self.progress),
                copied: &copied,
            };
            let outcome = match helper.as_mut() {
                Some(second) => {
                    let (a, b) = join(lanes.run(snapshot), lanes.run(second)).await;
                    a.and(b)
                }
                None => lanes.run(snapshot).await,
            };
            if let Err(e) = outcome {
                failure = Some(e);
            }
        }
        drop(jobs);
        // While DuckDB finishes, Postgres computes the checksums verification will need: of
        // every row for a small table or a full verification, split over both connections by
        // the bytes each table copied. A large table checked from its changes needs those of
        // the rows written since the watermark: its copy brought them, or the probe found
        // there were none.
        let mut postgres_checksums = BTreeMap::new();
        let mut postgres_nav_totals = None;
        if failure.is_none() {
            let copied = copied.into_inner().unwrap_or_else(|e| e.into_inner());
            let mut requests: Vec<(&'static SharedTable, Option<String>)> = Vec::new();
            for table in SHARED_TABLES
                .iter()
                .filter(|t| catalog.tables[t.name].selectable)
            {
                let Some(since) = since_for(table.name).filter(|_| from_changes.contains(&table))
                else {
                    requests.push((table, None));
                    continue;
                };
                let brought = match copied.get(table.name) {
                    Some(copy) => copy.checksum.clone(),
                    None if !written.contains(table.name) => Some(TableChecksum::empty(table)),
                    None => None,
                };
                match brought {
                    Some(sum) => {
                        postgres_checksums.insert(table.name, (Some(since), sum));
                    }
                    None => requests.push((table, Some(since))),
                }
            }
            let weight = |(table, since): &(&'static SharedTable, Option<String>)| {
                let rows = states.get(table.name).map_or(0, |s| s.rows.max(0) as usize);
                let bytes = copied.get(table.name).map_or(0, |c| c.bytes);
                match since {
                    Some(_) => bytes,
                    None => bytes.max(rows * 64),
                }
            };
            let (mut first, mut second) = (Vec::new(), Vec::new());
            let (mut first_weight, mut second_weight) = (0, 0);
            let mut by_weight: Vec<&(&'static SharedTable, Option<String>)> =
                requests.iter().collect();
            by_weight.sort_by_key(|r| std::cmp::Reverse(weight(r)));
            for request in by_weight {
                let asked = (request.0, request.1.as_deref());
                if helper.is_some() && second_weight < first_weight {
                    second_weight += weight(request);
                    second.push(asked);
                } else {
                    first_weight += weight(request);
                    first.push(asked);
                }
            }
            // The NAV totals verification compares come with the first connection's sums,
            // in the same statement (one round trip fewer; over a network, each costs one).
            let first_sums = async {
                if catalog.tables["portfolio_nav"].selectable {
                    let (sums, totals) = snapshot.checksums_and_nav_totals(&first).await?;
                    Ok((sums, Some(totals)))
                } else {
                    Ok((snapshot.checksums(&first).await?, None))
                }
            };
            let sums = match helper.as_mut() {
                Some(other) => {
                    let (a, b) = join(first_sums, other.checksums(&second)).await;
                    a.and_then(|a| Ok((a, b?)))
                }
                None => first_sums.await.map(|a| (a, Vec::new())),
            };
            match sums {
                Ok(((a, totals), b)) => {
                    for ((table, since), sum) in
                        first.into_iter().chain(second).zip(a.into_iter().chain(b))
                    {
                        postgres_checksums.insert(table.name, (since.map(str::to_string), sum));
                    }
                    postgres_nav_totals = totals;
                }
                Err(e) => failure = Some(e),
            }
        }
        for done in loaded {
            self.applied(done, &mut changed, &unreadable, &mut notes, &mut failure);
        }
        let (writer, recorded) = worker
            .join()
            .map_err(|_| WorkflowError::Invalid("the sync's DuckDB worker panicked".into()))?;
        recorded?;
        let before = before.finish()?;
        if let Some(e) = failure {
            return Err(e);
        }
        self.check_cancel()?;

        let AgreedVerification {
            verification,
            agreed,
            nav_totals,
        } = self
            .verify(
                snapshot,
                &writer,
                &catalog,
                &states,
                full,
                postgres_checksums,
                postgres_nav_totals,
                before,
                &mut changed,
                &mut full_tables,
            )
            .await?;

        self.check_cancel()?;
        (self.progress)(SyncProgress::Committing);
        let agreed: BTreeMap<&str, &TableChecksum> = verification
            .checked
            .iter()
            .zip(&agreed)
            .map(|(c, sum)| (c.table.as_str(), sum))
            .collect();
        let states: Vec<TableState<'_>> = SHARED_TABLES
            .iter()
            .map(|t| TableState {
                table: t.name,
                watermark: catalog.tables[t.name].selectable.then(|| snapshot.xmin()),
                verified: agreed.get(t.name).copied(),
            })
            .collect();
        writer.set_table_states(&states, self.started)?;
        // What the mirrors now hold, when every table was verified: the next sync through
        // this handle starts from it instead of summing them again.
        let checksums: Option<BTreeMap<&'static str, TableChecksum>> = SHARED_TABLES
            .iter()
            .map(|t| agreed.get(t.name).map(|sum| (t.name, (*sum).clone())))
            .collect();
        let committed = checksums
            .zip(nav_totals)
            .map(|(checksums, nav_totals)| MirrorFigures {
                checksums,
                nav_totals,
            });
        let summary = SyncSummary {
            rows_in: self.rows_in,
            rows_deleted: self.rows_deleted,
            tables: SHARED_TABLES.len(),
            full_tables,
            source: source.label,
            verification,
            notes,
        };
        writer.record_run(&run_id, &succeeded(&summary))?;
        writer.commit(committed)?;
        // The periodic full verification is also when the space of deleted rows is reclaimed
        // (ordinary checkpoints do not merge row groups; a run that pulled every table whole
        // left nothing to merge). Best effort: if another write is under way, the next full
        // verification compacts instead.
        if full && summary.full_tables.len() < SHARED_TABLES.len() {
            let _ = workspace.compact();
        }
        Ok(summary)
    }

    /// Compare Postgres and the mirrors, every table the login may read; pull a differing
    /// table again, then insist.
    ///
    /// A table is summed whole on both sides, except a large table loaded as a delta, which is
    /// checked from its changes: the laptop's copy before this run must equal the checksum
    /// both sides agreed on last run (nothing changed it behind the app's back), the rows that
    /// arrived must sum as Postgres sums the rows written since the watermark (nothing was
    /// lost or altered on the way). The table then holds the agreed checksum minus what was
    /// removed plus what arrived (row count included: DuckDB's statements hand back every row
    /// they remove and write), which becomes the next run's agreed checksum and so is checked
    /// against the file at the start of the next run (a new handle sums it) and at every
    /// full verification.
    #[allow(clippy::too_many_arguments)]
    async fn verify(
        &mut self,
        snapshot: &mut Snapshot,
        writer: &SyncWriter,
        catalog: &Catalog,
        states: &BTreeMap<String, ballast_storage::TableSyncState>,
        full: bool,
        mut postgres_checksums: BTreeMap<&'static str, (Option<String>, TableChecksum)>,
        postgres_nav_totals: Option<BTreeMap<String, String>>,
        before: Before,
        changed: &mut BTreeSet<&'static str>,
        full_tables: &mut Vec<String>,
    ) -> Result<AgreedVerification> {
        let readable: Vec<&'static SharedTable> = SHARED_TABLES
            .iter()
            .filter(|t| catalog.tables[t.name].selectable)
            .collect();
        // Per table: the checksum both sides agree on, and whether it came from changes
        // (which a change of visibility would not show).
        let mut agreed: BTreeMap<&'static str, (TableChecksum, bool)> = BTreeMap::new();
        let mut repairs: BTreeMap<&'static str, String> = BTreeMap::new();
        let depends_on_change = |t: &SharedTable, changed: &BTreeSet<&'static str>| {
            catalog
                .policy_dependencies
                .get(t.name)
                .is_some_and(|deps| deps.iter().any(|d| changed.contains(d.as_str())))
        };
        // Repeat until no repair widens the set: a repaired parent (portfolios) makes the
        // tables whose visibility depends on it (positions) worth summing whole.
        loop {
            let due: Vec<&'static SharedTable> = readable
                .iter()
                .copied()
                .filter(|t| match agreed.get(t.name) {
                    None => true,
                    Some((_, from_changes)) => *from_changes && depends_on_change(t, changed),
                })
                .collect();
            if due.is_empty() {
                break;
            }
            // `Ok(agreed)` or `Err(difference)` per table checked from its changes; the rest
            // are summed whole below.
            let mut outcomes: Vec<(
                &'static SharedTable,
                bool,
                std::result::Result<TableChecksum, String>,
            )> = Vec::new();
            let mut whole: Vec<&'static SharedTable> = Vec::new();
            for table in &due {
                let prefetched = postgres_checksums.remove(table.name);
                let inputs = match prefetched {
                    Some((Some(_), added)) if !depends_on_change(table, changed) => states
                        .get(table.name)
                        .and_then(|s| s.checksum.as_ref())
                        .zip(before.checksums.get(table.name))
                        .zip(
                            self.replaced
                                .get(table.name)
                                .zip(self.staged.get(table.name)),
                        )
                        .map(|((agreed, before), (replaced, staged))| {
                            (agreed, before, replaced, staged, added)
                        }),
                    Some((None, sum)) => {
                        postgres_checksums.insert(table.name, (None, sum));
                        None
                    }
                    _ => None,
                };
                let Some((last, before, replaced, staged, added)) = inputs else {
                    whole.push(table);
                    continue;
                };
                if let Some(difference) = last.difference(before) {
                    outcomes.push((
                        table,
                        true,
                        Err(format!(
                            "changed on the laptop since the last check: {difference}"
                        )),
                    ));
                } else if let Some(difference) = added.difference(staged) {
                    outcomes.push((
                        table,
                        true,
                        Err(format!(
                            "the rows written since the last sync arrived altered: {difference}"
                        )),
                    ));
                } else if let Some(after) = before.derive(staged, replaced) {
                    // What the table now holds: DuckDB handed back every row its
                    // statements removed and wrote.
                    outcomes.push((table, true, Ok(after)));
                } else {
                    whole.push(table);
                }
            }
            // Summed whole: Postgres' sum (prefetched, or asked now) against the laptop's.
            let unasked: Vec<(&SharedTable, Option<&str>)> = whole
                .iter()
                .filter(|t| !postgres_checksums.contains_key(t.name))
                .map(|t| (*t, None))
                .collect();
            let mut asked = snapshot.checksums(&unasked).await?.into_iter();
            let resum: Vec<&SharedTable> = whole
                .iter()
                .copied()
                .filter(|t| changed.contains(t.name) || !before.checksums.contains_key(t.name))
                .collect();
            let mut resummed = writer.checksums(&resum)?.into_iter();
            for table in &whole {
                let local = if resum.contains(table) {
                    resummed.next().expect("one sum per table resummed")
                } else {
                    before.checksums[table.name].clone()
                };
                let postgres = match postgres_checksums.remove(table.name) {
                    Some((_, sum)) => sum,
                    None => asked.next().expect("one sum per table asked"),
                };
                let outcome = match postgres.difference(&local) {
                    None => Ok(local),
                    Some(difference) => Err(difference),
                };
                outcomes.push((table, false, outcome));
            }
            outcomes.sort_by_key(|(t, _, _)| SHARED_TABLES.iter().position(|s| s.name == t.name));
            for (table, from_changes, outcome) in outcomes {
                self.check_cancel()?;
                (self.progress)(SyncProgress::Verifying {
                    table: table.name,
                    index: agreed.len(),
                    tables: readable.len(),
                });
                let difference = match outcome {
                    Ok(sum) => {
                        agreed.insert(table.name, (sum, from_changes));
                        continue;
                    }
                    Err(difference) => difference,
                };
                self.repair(snapshot, writer, table, &difference).await?;
                // Whatever the check was, the repaired table is held to Postgres' sum of
                // every row.
                let postgres = snapshot.checksum(table).await?;
                let again = writer.checksum(table)?;
                if let Some(still) = postgres.difference(&again) {
                    return Err(WorkflowError::Verification {
                        table: table.name.to_string(),
                        detail: format!("Postgres vs laptop after a full pull: {still}"),
                    });
                }
                changed.insert(table.name);
                full_tables.push(table.name.to_string());
                repairs.insert(table.name, difference);
                agreed.insert(table.name, (again, false));
            }
        }
        let mut verification = Verification {
            full,
            ..Verification::default()
        };
        let mut sums = Vec::new();
        for table in &readable {
            let (sum, from_changes) = agreed.remove(table.name).expect("every table was checked");
            verification.checked.push(TableCheck {
                table: table.name.to_string(),
                from_changes,
                repaired: repairs.remove(table.name),
            });
            sums.push(sum);
        }

        let mut nav_totals = None;
        // Read with the checksums when the role may read portfolio_nav.
        if let Some(postgres) = postgres_nav_totals {
            let local = if changed.contains("portfolio_nav") {
                writer.nav_totals()?
            } else {
                before.nav_totals.clone()
            };
            if postgres != local {
                let table = ballast_engine::schema::shared_table("portfolio_nav")
                    .expect("portfolio_nav is mirrored");
                self.repair(snapshot, writer, table, "NAV totals differ")
                    .await?;
                if postgres != writer.nav_totals()? {
                    return Err(WorkflowError::Verification {
                        table: "portfolio_nav".into(),
                        detail: "NAV totals per portfolio differ after a full pull".into(),
                    });
                }
                let whole = snapshot.checksum(table).await?;
                if let Some(still) = whole.difference(&writer.checksum(table)?) {
                    return Err(WorkflowError::Verification {
                        table: "portfolio_nav".into(),
                        detail: format!("Postgres vs laptop after a full pull: {still}"),
                    });
                }
                let position = readable
                    .iter()
                    .position(|t| t.name == "portfolio_nav")
                    .expect("portfolio_nav is readable");
                sums[position] = whole;
                verification.checked[position].from_changes = false;
                verification.checked[position].repaired = Some("NAV totals differed".into());
                changed.insert("portfolio_nav");
            }
            verification.nav_totals_match = true;
            nav_totals = Some(postgres);
        }
        Ok(AgreedVerification {
            verification,
            agreed: sums,
            nav_totals,
        })
    }

    async fn repair(
        &mut self,
        snapshot: &mut Snapshot,
        writer: &SyncWriter,
        table: &'static SharedTable,
        reason: &str,
    ) -> Result<()> {
        (self.progress)(SyncProgress::Repairing {
            table: table.name,
            reason: reason.to_string(),
        });
        let index = SHARED_TABLES
            .iter()
            .position(|t| t.name == table.name)
            .unwrap_or(0);
        self.pull(snapshot, writer, table, index).await?;
        Ok(())
    }
}

/// Setting: data older than this many hours is marked stale (default 24).
pub const STALE_AFTER_HOURS_SETTING: &str = "freshness.stale_after_hours";
const DEFAULT_STALE_AFTER_HOURS: i64 = 24;

/// How fresh the laptop's data is, for the banner on every screen.
#[derive(Debug, Clone, PartialEq)]
pub struct Freshness {
    /// `demo` or `postgres`; `None` before any data.
    pub kind: Option<String>,
    /// The oldest table's last successful sync (the data is as fresh as its stalest table).
    pub as_of: Option<DateTime<Utc>>,
    /// `synced 3 h ago`, `demo data generated 2 days ago`, `never synced`.
    pub label: String,
    /// Synced data older than the configured age.
    pub stale: bool,
    pub stale_after_hours: i64,
    /// Tables older than the configured age, by name.
    pub stale_tables: Vec<String>,
}

/// `just now`, `12 min ago`, `3 h ago`, `2 days ago`.
pub fn age_label(age: Duration) -> String {
    let minutes = age.num_minutes();
    match minutes {
        i64::MIN..=0 => "just now".to_string(),
        1..=59 => format!("{minutes} min ago"),
        60..=2879 => format!("{} h ago", minutes / 60),
        _ => format!("{} days ago", minutes / 1440),
    }
}

/// The workspace's freshness at `now`.
pub fn freshness(workspace: &Workspace, now: DateTime<Utc>) -> Result<Freshness> {
    let stale_after_hours = workspace
        .setting(STALE_AFTER_HOURS_SETTING)?
        .and_then(|h| h.parse::<i64>().ok())
        .filter(|h| *h > 0)
        .unwrap_or(DEFAULT_STALE_AFTER_HOURS);
    let source = workspace.source()?;
    let tables = workspace.freshness()?;
    let as_of = tables.iter().map(|t| t.last_synced_at).min();
    let limit = Duration::hours(stale_after_hours);
    let synced = source.as_ref().is_some_and(|s| s.kind == "postgres");
    let stale_tables: Vec<String> = if synced {
        tables
            .iter()
            .filter(|t| now - t.last_synced_at > limit)
            .map(|t| t.table.clone())
            .collect()
    } else {
        Vec::new()
    };
    let label = match (&source, as_of) {
        (Some(s), Some(t)) if s.kind == "demo" => {
            format!("demo data generated {}", age_label(now - t))
        }
        (Some(_), Some(t)) => format!("synced {}", age_label(now - t)),
        _ => "never synced".to_string(),
    };
    Ok(Freshness {
        kind: source.map(|s| s.kind),
        as_of,
        label,
        stale: !stale_tables.is_empty(),
        stale_after_hours,
        stale_tables,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_whose_sync_triggers_can_be_skipped_says_which_and_how_to_put_each_right() {
        let cases: [(&[(&str, TriggerProblem)], &str); 2] = [
            (
                &[("prices_updated_at", TriggerProblem::Disabled)],
                "prices: prices_updated_at is disabled, so some writes to it may leave no trace \
                 for the sync; every sync checks it whole against Postgres (and pulls it again \
                 if it differs) until its owner runs ALTER TABLE prices ENABLE ALWAYS TRIGGER \
                 prices_updated_at",
            ),
            (
                &[
                    ("prices_tombstone", TriggerProblem::Missing),
                    ("prices_truncate", TriggerProblem::SkippedInReplicaMode),
                ],
                "prices: prices_tombstone is missing, prices_truncate does not fire for writers \
                 in replica mode, so some writes to it may leave no trace for the sync; every \
                 sync checks it whole against Postgres (and pulls it again if it differs) until \
                 prices_tombstone is created again as migrations/ define it and its owner runs \
                 ALTER TABLE prices ENABLE ALWAYS TRIGGER prices_truncate",
            ),
        ];
        for (triggers, want) in cases {
            let triggers: Vec<(String, TriggerProblem)> = triggers
                .iter()
                .map(|(name, problem)| (name.to_string(), *problem))
                .collect();
            assert_eq!(unrecorded_writes_note("prices", &triggers), want);
        }
    }

    #[test]
    fn a_tombstones_trigger_off_is_named_with_its_fix_and_the_tables_checked_whole() {
        let triggers = vec![
            ("tombstones_deleted".to_string(), TriggerProblem::Disabled),
            ("tombstones_truncated".to_string(), TriggerProblem::Missing),
        ];
        assert_eq!(
            unrecorded_tombstone_removals_note(&triggers, &["prices", "positions"]),
            "tombstones: tombstones_deleted is disabled, tombstones_truncated is missing, so a \
             tombstone removed meanwhile may leave no trace for the sync, and with it a delete; \
             every sync checks prices, positions whole against Postgres (and pulls a table \
             again if it differs) until its owner runs ALTER TABLE tombstones ENABLE ALWAYS \
             TRIGGER tombstones_deleted and tombstones_truncated is created again as \
             migrations/ define it"
        );
    }

    #[test]
    fn the_pruned_tombstones_note_names_the_tables_checked_whole() {
        let cases: [(&[&str], &str); 2] = [
            (&["prices"], "prices was checked whole against Postgres"),
            (
                &["prices", "positions", "trades"],
                "prices, positions, trades were checked whole against Postgres",
            ),
        ];
        for (tables, ending) in cases {
            let note = pruned_note(tables);
            assert!(
                note.starts_with(
                    "tombstones (Postgres' record of deleted rows) were pruned, or their table \
                     altered, since the last sync, so a delete might not have reached this laptop: "
                ),
                "{note}"
            );
            assert!(note.ends_with(ending), "{note}");
        }
    }

    #[test]
    fn a_run_read_from_a_standby_says_how_far_behind_its_data_may_be() {
        use ballast_pg::snapshot::Standby;
        let at = chrono::DateTime::parse_from_rfc3339("2026-12-07T10:05:02Z")
            .unwrap()
            .with_timezone(&Utc);
        let cases = [
            (
                Some((at, Duration::minutes(190))),
                "read from a hot standby (a read-only replica): the newest change it had \
                 replayed was committed 3 h ago (2026-12-07 10:05:02 UTC); anything its primary \
                 committed after that is not in this sync",
            ),
            (
                Some((at, Duration::seconds(3))),
                "read from a hot standby (a read-only replica): the newest change it had \
                 replayed was committed just now (2026-12-07 10:05:02 UTC); anything its primary \
                 committed after that is not in this sync",
            ),
            (
                None,
                "read from a hot standby (a read-only replica) that had replayed no change since \
                 it started: anything its primary committed since is not in this sync",
            ),
        ];
        for (last_replayed, want) in cases {
            assert_eq!(standby_note(&Standby { last_replayed }), want);
        }
    }

    #[test]
    fn a_run_read_from_a_subscriber_says_whether_its_subscription_keeps_up() {
        use ballast_pg::snapshot::Subscription;
        let at = chrono::DateTime::parse_from_rfc3339("2026-12-07T10:05:02Z")
            .unwrap()
            .with_timezone(&Utc);
        // (enabled, running, last heard, the note)
        let cases = [
            (
                true,
                true,
                Some((at, Duration::seconds(4))),
                "read from a subscriber of logical replication: subscription reports last heard \
                 from its publisher just now (2026-12-07 10:05:02 UTC); anything its publisher \
                 committed that it had not applied yet is not in this sync",
            ),
            (
                true,
                true,
                Some((at, Duration::minutes(190))),
                "read from a subscriber of logical replication: subscription reports last heard \
                 from its publisher 3 h ago (2026-12-07 10:05:02 UTC); anything its publisher \
                 committed that it had not applied yet is not in this sync",
            ),
            (
                true,
                true,
                None,
                "read from a subscriber of logical replication: subscription reports has not \
                 heard from its publisher yet; anything its publisher committed that it had not \
                 applied is not in this sync",
            ),
            (
                true,
                false,
                None,
                "read from a subscriber of logical replication whose subscription reports is not \
                 running (its apply worker stopped; the subscriber's server log says why): \
                 anything its publisher committed since is not in this sync",
            ),
            (
                false,
                false,
                Some((at, Duration::minutes(5))),
                "read from a subscriber of logical replication whose subscription reports is \
                 disabled: anything its publisher committed since is not in this sync",
            ),
        ];
        for (enabled, running, last_heard, want) in cases {
            let subscription = Subscription {
                name: "reports".into(),
                enabled,
                running,
                last_heard,
            };
            assert_eq!(subscription_note(&subscription), want);
        }
    }

    #[test]
    fn ages_read_like_a_person_would_say_them() {
        let cases = [
            (Duration::seconds(-5), "just now"),
            (Duration::seconds(40), "just now"),
            (Duration::minutes(12), "12 min ago"),
            (Duration::minutes(59), "59 min ago"),
            (Duration::minutes(60), "1 h ago"),
            (Duration::minutes(3 * 60 + 20), "3 h ago"),
            (Duration::hours(47), "47 h ago"),
            (Duration::hours(48), "2 days ago"),
            (Duration::days(9), "9 days ago"),
        ];
        for (age, want) in cases {
            assert_eq!(age_label(age), want, "{age}");
        }
    }

    #[test]
    fn verification_summaries_say_what_was_checked_and_repaired() {
        let check = |table: &str, from_changes: bool, repaired: Option<&str>| TableCheck {
            table: table.into(),
            from_changes,
            repaired: repaired.map(str::to_string),
        };
        let cases = [
            (
                Verification {
                    full: false,
                    checked: vec![
                        check("portfolios", false, None),
                        check("positions", false, Some("10 rows vs 12")),
                        check("prices", true, None),
                    ],
                    nav_totals_match: true,
                },
                "passed: 3 of 3 tables (1 from their changes), 1 repaired (positions: 10 rows vs 12), NAV totals match",
            ),
            (
                Verification {
                    full: true,
                    checked: vec![check("portfolios", false, None)],
                    nav_totals_match: false,
                },
                "passed: 1 of 1 tables (full)",
            ),
            (
                Verification {
                    full: false,
                    checked: vec![check("portfolios", false, None)],
                    nav_totals_match: true,
                },
                "passed: 1 of 1 tables, NAV totals match",
            ),
        ];
        for (verification, want) in cases {
            assert_eq!(verification.summary(), want);
        }
    }
}
