//! One sync run's view of the shared database: a single `REPEATABLE READ READ ONLY`
//! transaction, so every table, checksum and total a run reads comes from the same snapshot.
//! A second connection can join it ([`Snapshot::attach`], through `pg_export_snapshot`) so a
//! run copies two tables at once without leaving that snapshot.
//!
//! Tables leave Postgres through `COPY (SELECT …) TO STDOUT (FORMAT binary)`, decoded as they
//! stream: a whole table into the CSV file the local store bulk-loads, a delta into one Arrow
//! batch (see [`crate::binary_copy`] for why binary: it halves what a copy costs the server).
//! The run records the snapshot's oldest running transaction ([`Snapshot::xmin`]); the next
//! run asks for rows with `sync_xid >= xmin` (see migration `…_sync_versions.sql` for why no
//! straggler can slip under it).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use ballast_engine::schema::{ColumnKind, SharedTable, TableChecksum, SHARED_TABLES};
use futures_util::StreamExt;
use sqlx::{Connection, PgConnection, Row};

use crate::binary_copy::{ArrowDecoder, CsvTranscoder, Field};
use crate::{ConnectSpec, PgError, Result};
pub use arrow_array::RecordBatch;

/// What the connected role can see of the shared schema, and a fingerprint of everything that
/// decides it (privileges, row-level security policies, role memberships).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Catalog {
    /// Tables in `public` with their columns, and whether the role may `SELECT` them.
    pub tables: BTreeMap<String, TableAccess>,
    /// Changes when a grant, a policy or a role membership changes.
    pub fingerprint: String,
    /// For each table, the other tables its applicable row-level security policies read
    /// (`positions` → `portfolios`, `assets` for a limited partner).
    pub policy_dependencies: BTreeMap<String, BTreeSet<String>>,
    /// Tables this login may see only in part: row-level security binds it there, and none of
    /// its applicable policies is `USING (true)`. An update can move a row of such a table
    /// out of its sight without deleting it.
    pub seen_in_part: BTreeSet<String>,
    /// The shared database has `sync_tables_written_since` (migration
    /// `…07_sync_written_since.sql`): see [`Snapshot::written_since_by_anyone`].
    pub can_probe_unseen_writes: bool,
    /// Mirrored tables with a sync trigger that does not fire for every writer (disabled,
    /// dropped, or enabled only outside or only inside replica mode), each with those
    /// triggers and what is wrong with each: writes to them may go unrecorded, so they cannot
    /// be checked from their changes.
    pub unrecorded_writes: BTreeMap<String, Vec<(String, TriggerProblem)>>,
    /// The triggers marking removed tombstones that do not fire for every writer
    /// ([`unrecorded_tombstone_removals`]): no table can be checked from its changes.
    pub unrecorded_tombstone_removals: Vec<(String, TriggerProblem)>,
    /// The event triggers marking an altered table ([`DDL_EVENT_TRIGGERS`]) that are missing
    /// or off, with what is wrong with each ([`unwatched_ddl`]); empty before migration 08.
    pub unwatched_ddl: Vec<(String, TriggerProblem)>,
    /// The database's subscriptions of logical replication, by name: a run read from a
    /// subscriber holds what it had applied, which may be behind its publisher.
    pub subscriptions: Vec<Subscription>,
}

/// A subscription of logical replication in the database a run reads, as
/// `pg_subscription` and `pg_stat_subscription` show it.
#[derive(Debug, Clone, PartialEq)]
pub struct Subscription {
    pub name: String,
    pub enabled: bool,
    /// Its apply worker is running (an enabled subscription whose worker is not has stopped
    /// on an error, which the subscriber's server log says).
    pub running: bool,
    /// When its apply worker last heard from the publisher, and how long before the run's
    /// snapshot that was (`None`: not yet, or not running).
    pub last_heard: Option<(chrono::DateTime<chrono::Utc>, chrono::Duration)>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct TableAccess {
    pub selectable: bool,
    pub columns: BTreeSet<String>,
}

/// An open snapshot; dropping it ends the read transaction.
pub struct Snapshot {
    conn: PgConnection,
    spec: ConnectSpec,
    /// Where the connection goes back after a clean [`Snapshot::close`], if anywhere.
    kept: Option<Arc<KeptConnections>>,
    xmin: String,
    /// `pg_export_snapshot()`: another connection can read the same snapshot
    /// ([`Snapshot::attach`]).
    exported: String,
    /// Set when the server is a hot standby (a read-only replica).
    standby: Option<Standby>,
}

/// What a hot standby says of how far it has caught up with its primary.
#[derive(Debug, Clone, PartialEq)]
pub struct Standby {
    /// When the newest change it has replayed was committed on the primary, and how long
    /// before the snapshot that was by the standby's clock (`None`: it has replayed nothing
    /// since it started).
    pub last_replayed: Option<(chrono::DateTime<chrono::Utc>, chrono::Duration)>,
}

/// Postgres connections a process keeps open between its sync runs, to reuse for the next
/// run with the same connection settings. A new connection costs a TLS handshake and the
/// login, and the server a new backend process, which then maps every page of the shared
/// buffer cache it touches: measured here, about 30 ms of the server's CPU per 1% sync for
/// the run's two connections. The app keeps them; a command-line run, one sync per process,
/// does not. A kept connection that died meanwhile (a server restart, an idle timeout) is
/// replaced by a new one, once.
///
/// A run hands its connections back without waiting: the read transaction's `COMMIT` goes on
/// a task of its own, so the run's end does not wait for that round trip (one of the few a run
/// makes in sequence, and over a laptop's VPN each costs one). The next run waits for those
/// hand-backs before it looks for a connection.
pub struct KeptConnections {
    idle: std::sync::Mutex<Vec<(u64, PgConnection)>>,
    /// How long the next run waits for a connection on its way back ([`HAND_BACK_LIMIT`]).
    hand_back_limit: std::time::Duration,
    /// Connections on their way back: each task ends its connection's read transaction, then
    /// keeps the connection (or closes it if that failed). An async lock, held while waiting
    /// for them, so a second caller waits for the same ones.
    returning: tokio::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

/// How long the next run waits for a connection on its way back (a read-only `COMMIT`, one
/// round trip) before it gives up on it.
pub const HAND_BACK_LIMIT: std::time::Duration = std::time::Duration::from_secs(10);

impl Default for KeptConnections {
    fn default() -> Self {
        KeptConnections::with_hand_back_limit(HAND_BACK_LIMIT)
    }
}

/// At most this many idle connections are kept (a run uses two).
const KEPT_CONNECTIONS: usize = 2;

impl std::fmt::Debug for KeptConnections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeptConnections")
            .field("idle", &self.lock().len())
            .finish()
    }
}

impl KeptConnections {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(u64, PgConnection)>> {
        // Plain data: a panic elsewhere cannot leave it half-updated.
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Kept connections whose next run waits `limit` for one on its way back (the default,
    /// [`HAND_BACK_LIMIT`], suits a network; a test shortens it).
    pub fn with_hand_back_limit(limit: std::time::Duration) -> Self {
        KeptConnections {
            idle: Default::default(),
            hand_back_limit: limit,
            returning: Default::default(),
        }
    }

    /// How many connections are idle here, once those on their way back have arrived.
    pub async fn idle(&self) -> usize {
        self.settle().await;
        self.lock().len()
    }

    /// Wait for the connections still on their way back, each for the hand-back limit at
    /// most: one whose `COMMIT` is not answered by then (a network gone quiet) is dropped,
    /// and the run connects anew rather than wait on it.
    async fn settle(&self) {
        let mut returning = self.returning.lock().await;
        for mut task in returning.drain(..) {
            // A task that panicked kept nothing; the run connects anew.
            if tokio::time::timeout(self.hand_back_limit, &mut task)
                .await
                .is_err()
            {
                task.abort();
            }
        }
    }

    async fn take(&self, spec: &ConnectSpec) -> Option<PgConnection> {
        self.settle().await;
        let key = spec.identity();
        let mut idle = self.lock();
        let at = idle.iter().position(|(k, _)| *k == key)?;
        Some(idle.remove(at).1)
    }

    /// Keep `conn`; returns the one it displaces (the oldest) to be closed.
    fn keep(&self, spec: &ConnectSpec, conn: PgConnection) -> Option<PgConnection> {
        let mut idle = self.lock();
        idle.push((spec.identity(), conn));
        (idle.len() > KEPT_CONNECTIONS).then(|| idle.remove(0).1)
    }
}

/// A connection set up for a run: `prepare` (its first statements, in one round trip) on a
/// kept connection, or on a new one if there is none or the kept one has died. Returns the
/// rows `prepare` gave.
async fn run_connection(
    spec: &ConnectSpec,
    kept: Option<&Arc<KeptConnections>>,
    prepare: &str,
    context: &str,
) -> Result<(PgConnection, Vec<sqlx::postgres::PgRow>)> {
    let reused = match kept {
        Some(kept) => kept.take(spec).await,
        None => None,
    };
    if let Some(mut conn) = reused {
        if let Ok(rows) = sqlx::raw_sql(sqlx::AssertSqlSafe(prepare.to_string()))
            .fetch_all(&mut conn)
            .await
        {
            return Ok((conn, rows));
        }
        // Dead or unusable: dropped, and a new one made below.
    }
    let mut conn = spec.connect_one().await?;
    let rows = sqlx::raw_sql(sqlx::AssertSqlSafe(prepare.to_string()))
        .fetch_all(&mut conn)
        .await
        .map_err(|e| spec.query_error(context, e))?;
    Ok((conn, rows))
}

/// Rows per progress report while copying.
const PROGRESS_EVERY_BYTES: usize = 4 << 20;

/// Bytes received per hand-over to the thread writing the file.
const BATCH_BYTES: usize = 256 << 10;

fn write_error(what: &str, out: &Path, e: std::io::Error) -> PgError {
    PgError::Query {
        context: format!("writing {what} to {}", out.display()),
        reason: e.to_string(),
    }
}

/// What a `COPY`'s bytes become.
enum Decode<'a> {
    /// A file at the path: CSV through the transcoder, or the bytes as sent without one.
    File(&'a Path, Option<CsvTranscoder>),
    /// One Arrow batch.
    Batch(ArrowDecoder),
}

/// What [`Decode`] gave: a file, or a batch's rows and summary.
enum Decoded {
    File,
    Batch(Option<RecordBatch>, String),
}

/// What [`Snapshot::copy_table`] or [`Snapshot::copy_delta`] brought.
#[derive(Debug, Clone, PartialEq)]
pub struct Copied {
    /// Bytes Postgres sent.
    pub bytes: usize,
    /// A delta's rows as Postgres sums them (`None` for a whole table).
    pub checksum: Option<TableChecksum>,
}

/// The aggregates of a [`TableChecksum`] over the rows in scope, as texts in its order:
/// count, version sum, then each decimal column's exact sum.
fn checksum_figures(table: &SharedTable) -> Vec<String> {
    // Microseconds since the epoch, summed without numeric arithmetic per row: whole days
    // (integers) and times of day (an interval sum, microseconds in an int64), combined
    // exactly once per table. The session's time zone is UTC. An infinite `updated_at` (only
    // possible with the trigger turned off) counts as no version, as DuckDB's `epoch_us` of
    // it is NULL, rather than failing the subtraction.
    let mut figures = vec![
        "count(*)::text".to_string(),
        "(coalesce(sum(updated_at::date - date '1970-01-01')
                   FILTER (WHERE isfinite(updated_at)), 0)::numeric * 86400000000
          + coalesce(extract(epoch FROM sum(updated_at::time - time '00:00')
                                FILTER (WHERE isfinite(updated_at))), 0)
            * 1000000)::numeric(38, 0)::text"
            .to_string(),
    ];
    figures.extend(
        table
            .decimal_columns()
            .map(|column| format!("coalesce(sum({column}), 0)::text")),
    );
    figures
}

impl Snapshot {
    /// Connect and open the run's snapshot.
    pub async fn open(spec: &ConnectSpec) -> Result<Snapshot> {
        Snapshot::open_kept(spec, None).await
    }

    /// [`Snapshot::open`] on a connection from `kept` if it holds one for `spec`; a clean
    /// [`Snapshot::close`] puts it back.
    pub async fn open_kept(
        spec: &ConnectSpec,
        kept: Option<&Arc<KeptConnections>>,
    ) -> Result<Snapshot> {
        // The snapshot is opened and fixed in one round trip (over a network, each costs one):
        // its first query's xmin is the next run's watermark. A standby cannot export its
        // snapshot: the run then copies on one connection.
        let (conn, rows) = run_connection(
            spec,
            kept,
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET LOCAL TimeZone = 'UTC';
             SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin,
                    CASE WHEN pg_is_in_recovery() THEN '' ELSE pg_export_snapshot() END
                      AS exported,
                    pg_is_in_recovery() AS in_recovery,
                    pg_last_xact_replay_timestamp() AS replayed_at,
                    (extract(epoch FROM now() - pg_last_xact_replay_timestamp()) * 1000)::int8
                      AS replayed_ago_ms",
            "opening a snapshot",
        )
        .await?;
        let horizon = |e: sqlx::Error| spec.query_error("reading the snapshot's horizon", e);
        let row = rows.last().ok_or_else(|| PgError::Query {
            context: "reading the snapshot's horizon".into(),
            reason: "Postgres returned no row".into(),
        })?;
        let xmin: String = row.try_get("xmin").map_err(horizon)?;
        let exported: String = row.try_get("exported").map_err(horizon)?;
        let in_recovery: bool = row.try_get("in_recovery").map_err(horizon)?;
        let replayed_at: Option<chrono::DateTime<chrono::Utc>> =
            row.try_get("replayed_at").map_err(horizon)?;
        let replayed_ago: Option<i64> = row.try_get("replayed_ago_ms").map_err(horizon)?;
        let standby = in_recovery.then(|| Standby {
            last_replayed: replayed_at
                .zip(replayed_ago)
                .map(|(at, ago)| (at, chrono::Duration::milliseconds(ago))),
        });
        Ok(Snapshot {
            conn,
            spec: spec.clone(),
            kept: kept.cloned(),
            xmin,
            exported,
            standby,
        })
    }

    /// The id another connection passes to [`Snapshot::attach`] to read this snapshot (empty
    /// on a standby, which cannot export one).
    pub fn exported(&self) -> &str {
        &self.exported
    }

    /// A second connection reading exactly the snapshot `exported` names (while the
    /// [`Snapshot`] that exported it stays open), so a run can copy two tables at once.
    pub async fn attach(
        spec: &ConnectSpec,
        kept: Option<&Arc<KeptConnections>>,
        exported: &str,
        xmin: &str,
    ) -> Result<Snapshot> {
        // An exported snapshot id is hex digits and dashes; anything else is refused rather
        // than spliced into SQL.
        if exported.is_empty() || !exported.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-') {
            return Err(PgError::Invalid {
                table: "snapshot",
                column: "exported",
                value: exported.to_string(),
            });
        }
        let (conn, _) = run_connection(
            spec,
            kept,
            &format!(
                "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; \
                 SET TRANSACTION SNAPSHOT '{exported}'; SET LOCAL TimeZone = 'UTC'"
            ),
            "joining the run's snapshot",
        )
        .await?;
        Ok(Snapshot {
            conn,
            spec: spec.clone(),
            kept: kept.cloned(),
            xmin: xmin.to_string(),
            exported: exported.to_string(),
            // Only a primary exports a snapshot to attach to.
            standby: None,
        })
    }

    /// Set when the snapshot is a hot standby's: its data is as of the newest change it has
    /// replayed, which may be behind its primary.
    pub fn standby(&self) -> Option<&Standby> {
        self.standby.as_ref()
    }

    /// The oldest transaction still running when the snapshot was taken (an xid8, as text).
    pub fn xmin(&self) -> &str {
        &self.xmin
    }

    fn error(&self, context: &str, e: sqlx::Error) -> PgError {
        self.spec.query_error(context, e)
    }

    /// The tables, columns and access rules the connected role sees.
    pub async fn catalog(&mut self) -> Result<Catalog> {
        let mut catalog = Catalog::default();
        // Columns, the access fingerprint and the policies that bind this role, in one
        // statement. Prepared, so a kept connection's next run reuses its plan: planning is
        // most of its cost (on the sync benchmark's database, 4 ms each time unprepared, 1.4 ms
        // executed again prepared; 2026-12-07, BENCHMARKS.md).
        let row = sqlx::query(
            "SELECT
               (SELECT coalesce(json_agg(json_build_array(c.relname, a.attname,
                                                          has_table_privilege(c.oid, 'SELECT'))), '[]')
                FROM pg_class c
                JOIN pg_namespace n ON n.oid = c.relnamespace
                JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p'))::text AS columns,
               md5(concat_ws('|',
                current_user,
                (SELECT rolsuper::text || rolbypassrls::text FROM pg_roles WHERE rolname = current_user),
                (SELECT string_agg(c.relname || ':' || has_table_privilege(c.oid, 'SELECT')::text
                                   || ':' || c.relrowsecurity::text, ',' ORDER BY c.relname)
                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')),
                (SELECT string_agg(tablename || ':' || policyname || ':' || cmd || ':' || roles::text
                                   || ':' || coalesce(qual, ''), ',' ORDER BY tablename, policyname)
                 FROM pg_policies WHERE schemaname = 'public'),
                (SELECT string_agg(rolname, ',' ORDER BY rolname)
                 FROM pg_roles WHERE pg_has_role(current_user, oid, 'member')))) AS fingerprint,
               -- Policies that apply to this role and read other tables make those tables'
               -- changes matter here: a portfolio turning lp_visible changes which positions
               -- an LP sees. A role that bypasses row-level security (a superuser) is bound
               -- by none.
               (SELECT coalesce(json_agg(json_build_array(tablename, coalesce(qual, ''))), '[]')
                FROM pg_policies
                WHERE schemaname = 'public' AND cmd IN ('SELECT', 'ALL')
                  AND NOT (SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user)
                  AND EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                              WHERE n.nspname = 'public' AND c.relname = tablename
                                AND c.relrowsecurity)
                  AND EXISTS (SELECT 1 FROM unnest(roles) r
                              WHERE r = 'public' OR pg_has_role(current_user, r, 'member')))::text
                 AS policies,
               to_regprocedure('sync_tables_written_since(text[], xid8[])') IS NOT NULL
                 AS can_probe_unseen_writes,
               -- The triggers that stamp writes and record deletes, and when each fires.
               (SELECT coalesce(json_agg(json_build_array(c.relname, t.tgname, t.tgenabled::text)), '[]')
                FROM pg_trigger t
                JOIN pg_class c ON c.oid = t.tgrelid
                JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = 'public' AND NOT t.tgisinternal)::text AS triggers,
               -- The event triggers that mark a table altered (migration 08), if it was applied.
               CASE WHEN to_regprocedure('record_sync_table_altered()') IS NOT NULL THEN
                 (SELECT coalesce(json_agg(json_build_array(evtname, evtenabled::text)), '[]')
                  FROM pg_event_trigger
                  WHERE evtname IN ('sync_table_altered', 'sync_trigger_dropped'))::text
               END AS event_triggers,
               -- Subscriptions of logical replication feeding this database, if any.
               (SELECT coalesce(json_agg(json_build_array(
                         s.subname, s.subenabled, st.pid IS NOT NULL, st.last_msg_receipt_time,
                         (extract(epoch FROM now() - st.last_msg_receipt_time) * 1000)::int8)
                       ORDER BY s.subname), '[]')
                FROM pg_subscription s
                LEFT JOIN pg_stat_subscription st ON st.subid = s.oid AND st.relid IS NULL
                WHERE s.subdbid = (SELECT oid FROM pg_database
                                   WHERE datname = current_database()))::text AS subscriptions",
        )
        .fetch_one(&mut self.conn)
        .await
        .map_err(|e| self.error("reading the shared schema and access rules", e))?;
        let json = |column: &str| -> Result<Vec<serde_json::Value>> {
            serde_json::from_str(row.get::<&str, _>(column)).map_err(|e| PgError::Query {
                context: format!("reading the shared schema ({column})"),
                reason: e.to_string(),
            })
        };
        for entry in json("columns")? {
            let (Some(table), Some(column), Some(selectable)) =
                (entry[0].as_str(), entry[1].as_str(), entry[2].as_bool())
            else {
                continue;
            };
            let access = catalog.tables.entry(table.to_string()).or_default();
            access.selectable = selectable;
            access.columns.insert(column.to_string());
        }
        catalog.fingerprint = row.get("fingerprint");
        catalog.can_probe_unseen_writes = row.get("can_probe_unseen_writes");
        let triggers: Vec<(String, String, String)> = json("triggers")?
            .iter()
            .filter_map(|t| {
                Some((
                    t[0].as_str()?.to_string(),
                    t[1].as_str()?.to_string(),
                    t[2].as_str()?.to_string(),
                ))
            })
            .collect();
        catalog.unrecorded_writes = unrecorded_writes(&triggers);
        catalog.unrecorded_tombstone_removals = unrecorded_tombstone_removals(&triggers);
        if row.get::<Option<&str>, _>("event_triggers").is_some() {
            let event_triggers: Vec<(String, String)> = json("event_triggers")?
                .iter()
                .filter_map(|t| Some((t[0].as_str()?.to_string(), t[1].as_str()?.to_string())))
                .collect();
            catalog.unwatched_ddl = unwatched_ddl(&event_triggers);
        }
        catalog.subscriptions = json("subscriptions")?
            .iter()
            .filter_map(|s| {
                let at = s[3]
                    .as_str()
                    .and_then(|at| chrono::DateTime::parse_from_rfc3339(at).ok());
                Some(Subscription {
                    name: s[0].as_str()?.to_string(),
                    enabled: s[1].as_bool()?,
                    running: s[2].as_bool()?,
                    last_heard: at.zip(s[4].as_i64()).map(|(at, ago)| {
                        (
                            at.with_timezone(&chrono::Utc),
                            chrono::Duration::milliseconds(ago),
                        )
                    }),
                })
            })
            .collect();
        let policies: Vec<(String, String)> = json("policies")?
            .iter()
            .filter_map(|p| Some((p[0].as_str()?.to_string(), p[1].as_str()?.to_string())))
            .collect();
        // Permissive policies add up: one `USING (true)` shows every row.
        let mut whole_view: BTreeMap<&str, bool> = BTreeMap::new();
        for (table, qual) in &policies {
            *whole_view.entry(table.as_str()).or_default() |= qual.trim() == "true";
        }
        catalog.seen_in_part = whole_view
            .into_iter()
            .filter(|(_, whole)| !whole)
            .map(|(table, _)| table.to_string())
            .collect();
        for (table, qual) in policies {
            let words: BTreeSet<&str> = qual
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .collect();
            let referenced: BTreeSet<String> = SHARED_TABLES
                .iter()
                .map(|t| t.name)
                .filter(|name| *name != table && words.contains(name))
                .map(str::to_string)
                .collect();
            if !referenced.is_empty() {
                catalog
                    .policy_dependencies
                    .entry(table)
                    .or_default()
                    .extend(referenced);
            }
        }
        Ok(catalog)
    }

    /// The columns in mirror order, each cast to the type it travels as (a no-op for a column
    /// of that type), so every binary field's layout is known.
    fn binary_columns(table: &SharedTable) -> Vec<(&'static str, Field, &'static str)> {
        let mut columns = vec![("id", Field::Uuid, "uuid")];
        columns.extend(table.columns.iter().map(|(name, kind)| {
            let (field, cast) = match kind {
                ColumnKind::Uuid => (Field::Uuid, "uuid"),
                ColumnKind::Text => (Field::Text, "text"),
                ColumnKind::Date => (Field::Date, "date"),
                ColumnKind::Decimal => (Field::Numeric, "numeric"),
                ColumnKind::Integer => (Field::Int8, "int8"),
                ColumnKind::Boolean => (Field::Bool, "bool"),
            };
            (*name, field, cast)
        }));
        columns.push(("updated_at", Field::Timestamptz, "timestamptz"));
        columns
    }

    fn select_list(table: &SharedTable) -> String {
        Self::binary_columns(table)
            .iter()
            .map(|(name, _, cast)| format!("{name}::{cast} AS {name}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Stream every row of `table` into `out` as the CSV the local store loads, reporting the
    /// bytes received so far. Postgres sends it binary (see [`crate::binary_copy`] for why).
    pub async fn copy_table(
        &mut self,
        table: &SharedTable,
        out: &Path,
        cancel: &AtomicBool,
        progress: &mut (dyn FnMut(usize) + Send),
    ) -> Result<Copied> {
        let sql = format!(
            "COPY (SELECT {} FROM {}) TO STDOUT (FORMAT binary)",
            Self::select_list(table),
            table.name
        );
        let transcoder = CsvTranscoder::new(Self::decoded_columns(table));
        let (bytes, _) = self
            .copy_out(
                &sql,
                table.name,
                Decode::File(out, Some(transcoder)),
                cancel,
                progress,
            )
            .await?;
        Ok(Copied {
            bytes,
            checksum: None,
        })
    }

    /// The rows of `table` written at or after `since`, decoded into one Arrow batch (`None`
    /// when there are none) with the mirror's column types, reporting the bytes received so
    /// far. A delta is a small part of a table, held in memory (about 60 bytes a row) so
    /// DuckDB reads it without parsing text.
    ///
    /// It comes with Postgres' [`TableChecksum`] of the rows it sent, computed by the same
    /// statement from the same rows: a second query would read the rows an `UPDATE`
    /// scattered over the table a second time (prices' 12 k changed rows: 14–18 ms again,
    /// after 70 ms the first time), and it is what verification compares the rows the laptop
    /// received with. A delta larger than the server's `work_mem` is held in a temporary file
    /// on the server meanwhile; it is still read from the table once.
    pub async fn copy_delta(
        &mut self,
        table: &SharedTable,
        since: &str,
        cancel: &AtomicBool,
        progress: &mut (dyn FnMut(usize) + Send),
    ) -> Result<(Copied, Option<RecordBatch>)> {
        // The rows once, then a row of NULLs carrying their checksum in one more column
        // (NULL in the rows).
        let nulls = vec!["NULL"; table.all_columns().len()].join(", ");
        let sql = format!(
            "COPY (WITH delta AS MATERIALIZED (SELECT {} FROM {} \
                    WHERE sync_xid >= '{}'::xid8) \
                  SELECT *, NULL::text FROM delta \
                  UNION ALL SELECT {nulls}, concat_ws(',', {}) FROM delta) \
             TO STDOUT (FORMAT binary)",
            Self::select_list(table),
            table.name,
            checked_xid(since)?,
            checksum_figures(table).join(", ")
        );
        let decoder = ArrowDecoder::with_summary(Self::decoded_columns(table));
        let (bytes, decoded) = self
            .copy_out(&sql, table.name, Decode::Batch(decoder), cancel, progress)
            .await?;
        let Decoded::Batch(rows, summary) = decoded else {
            unreachable!("a batch decoder gives a batch");
        };
        let texts: Vec<String> = summary.split(',').map(str::to_string).collect();
        Ok((
            Copied {
                bytes,
                checksum: Some(TableChecksum::from_texts(table, &texts)),
            },
            rows,
        ))
    }

    /// Each column of `table` as it arrives, in `SELECT` order.
    fn decoded_columns(table: &SharedTable) -> Vec<(&'static str, Field)> {
        Self::binary_columns(table)
            .into_iter()
            .map(|(name, field, _)| (name, field))
            .collect()
    }

    /// Which of `tables` hold a row the role sees written at or after its watermark, in one
    /// round trip (an index probe per table).
    pub async fn written_since(
        &mut self,
        tables: &[(&SharedTable, &str)],
    ) -> Result<BTreeSet<String>> {
        if tables.is_empty() {
            return Ok(BTreeSet::new());
        }
        let mut parts = Vec::with_capacity(tables.len());
        for (table, since) in tables {
            parts.push(format!(
                "SELECT '{0}'::text AS t WHERE EXISTS (SELECT 1 FROM {0} WHERE sync_xid >= '{1}'::xid8)",
                table.name,
                checked_xid(since)?
            ));
        }
        // The watermarks make each run's text new: a simple query (one round trip), not a
        // statement prepared (another) and cached on the connection for nothing.
        let rows = sqlx::raw_sql(sqlx::AssertSqlSafe(parts.join(" UNION ALL ")))
            .fetch_all(&mut self.conn)
            .await
            .map_err(|e| self.error("asking which tables changed", e))?;
        rows.iter()
            .map(|row| {
                row.try_get::<String, _>("t")
                    .map_err(|e| self.error("asking which tables changed", e))
            })
            .collect()
    }

    /// Which of `tables` hold a row written at or after its watermark, whether or not this
    /// login may see the row (the shared database's `sync_tables_written_since`, which runs
    /// as its owner and answers nothing else; [`Catalog::can_probe_unseen_writes`] says
    /// whether it is there). [`Snapshot::written_since`] sees only the rows the login may.
    pub async fn written_since_by_anyone(
        &mut self,
        tables: &[(&SharedTable, &str)],
    ) -> Result<BTreeSet<String>> {
        if tables.is_empty() {
            return Ok(BTreeSet::new());
        }
        let names: Vec<String> = tables.iter().map(|(t, _)| t.name.to_string()).collect();
        let since = tables
            .iter()
            .map(|(_, xid)| checked_xid(xid).map(str::to_string))
            .collect::<Result<Vec<String>>>()?;
        let written: Vec<String> =
            sqlx::query_scalar("SELECT sync_tables_written_since($1, $2::text[]::xid8[])")
                .bind(names)
                .bind(since)
                .fetch_one(&mut self.conn)
                .await
                .map_err(|e| self.error("asking which tables anyone wrote to", e))?;
        Ok(written.into_iter().collect())
    }

    /// The tombstones (deleted row ids) written at or after `since`, as CSV
    /// `table,row_id,removed_through` (the last empty but in a pruning marker, and always
    /// when the shared schema predates migration `…14`: `has_reach` says whether it has it).
    pub async fn copy_tombstones(
        &mut self,
        since: &str,
        has_reach: bool,
        out: &Path,
        cancel: &AtomicBool,
    ) -> Result<usize> {
        let sql = format!(
            "COPY (SELECT table_name, row_id, {} FROM tombstones WHERE sync_xid >= '{}'::xid8)
             TO STDOUT (FORMAT csv)",
            if has_reach { "removed_through" } else { "NULL" },
            checked_xid(since)?
        );
        Ok(self
            .copy_out(
                &sql,
                "tombstones",
                Decode::File(out, None),
                cancel,
                &mut |_| {},
            )
            .await?
            .0)
    }

    /// Run the `COPY … TO STDOUT` `sql`, decoding what arrives as `decode` says (on a thread
    /// of its own, while the next bytes stream in). Returns the bytes received and what the
    /// decoding gave.
    async fn copy_out(
        &mut self,
        sql: &str,
        what: &str,
        decode: Decode<'_>,
        cancel: &AtomicBool,
        progress: &mut (dyn FnMut(usize) + Send),
    ) -> Result<(usize, Decoded)> {
        let (chunks, mut received) = tokio::sync::mpsc::channel::<Vec<u8>>(4);
        let owned_what = what.to_string();
        let decode_error = move |reason: String| PgError::Query {
            context: format!("decoding {owned_what} as Postgres sent it"),
            reason,
        };
        let writer = match decode {
            Decode::File(out, transcoder) => {
                let file = std::fs::File::create(out).map_err(|e| write_error(what, out, e))?;
                let (owned_what, owned_out) = (what.to_string(), out.to_path_buf());
                tokio::task::spawn_blocking(move || -> Result<Decoded> {
                    let (what, out) = (owned_what.as_str(), owned_out.as_path());
                    let mut transcoder = transcoder;
                    let mut file = std::io::BufWriter::with_capacity(1 << 20, file);
                    let mut csv = Vec::with_capacity(1 << 20);
                    while let Some(chunk) = received.blocking_recv() {
                        let written = match transcoder.as_mut() {
                            Some(transcoder) => {
                                csv.clear();
                                transcoder.feed(&chunk, &mut csv).map_err(&decode_error)?;
                                file.write_all(&csv)
                            }
                            None => file.write_all(&chunk),
                        };
                        written.map_err(|e| write_error(what, out, e))?;
                    }
                    file.flush().map_err(|e| write_error(what, out, e))?;
                    if let Some(transcoder) = &transcoder {
                        transcoder.finish().map_err(decode_error)?;
                    }
                    Ok(Decoded::File)
                })
            }
            Decode::Batch(mut decoder) => tokio::task::spawn_blocking(move || {
                while let Some(chunk) = received.blocking_recv() {
                    decoder.feed(&chunk).map_err(&decode_error)?;
                }
                let (rows, summary) = decoder.finish().map_err(decode_error)?;
                Ok(Decoded::Batch(rows, summary))
            }),
        };
        let spec = self.spec.clone();
        let streamed = async {
            let mut stream = self
                .conn
                .copy_out_raw(sql)
                .await
                .map_err(|e| spec.query_error(&format!("reading {what}"), e))?;
            let (mut bytes, mut reported) = (0usize, 0usize);
            // Postgres sends a message per row: the writer gets them in batches, so the
            // hand-over costs nothing per row.
            // Room for one more row past the threshold, so a batch never reallocates.
            let new_batch = || Vec::with_capacity(BATCH_BYTES + (64 << 10));
            let mut batch = new_batch();
            while let Some(chunk) = stream.next().await {
                if cancel.load(Ordering::Relaxed) {
                    return Err(PgError::Cancelled);
                }
                let chunk = chunk.map_err(|e| spec.query_error(&format!("reading {what}"), e))?;
                bytes += chunk.len();
                batch.extend_from_slice(&chunk);
                let full = batch.len() >= BATCH_BYTES;
                if full
                    && chunks
                        .send(std::mem::replace(&mut batch, new_batch()))
                        .await
                        .is_err()
                {
                    // The writer stopped on an error, which it returns below.
                    return Ok(bytes);
                }
                if bytes - reported >= PROGRESS_EVERY_BYTES {
                    reported = bytes;
                    progress(bytes);
                }
            }
            if !batch.is_empty() {
                let _ = chunks.send(batch).await;
            }
            progress(bytes);
            Ok(bytes)
        }
        .await;
        drop(chunks);
        let written = writer.await.map_err(|e| PgError::Query {
            context: format!("decoding {what}"),
            reason: e.to_string(),
        })?;
        let bytes = streamed?;
        Ok((bytes, written?))
    }

    /// [`TableChecksum`]s of several tables in one round trip: of every row the role sees,
    /// or (with a watermark) of the rows written at or after it, which is what a delta
    /// brought in.
    pub async fn checksums(
        &mut self,
        requests: &[(&SharedTable, Option<&str>)],
    ) -> Result<Vec<TableChecksum>> {
        Ok(self.figures(requests, false).await?.0)
    }

    /// [`Snapshot::checksums`] and, in the same statement, each portfolio's NAV total
    /// (`portfolio_nav`, which the role must be able to read): one round trip, not two.
    pub async fn checksums_and_nav_totals(
        &mut self,
        requests: &[(&SharedTable, Option<&str>)],
    ) -> Result<(Vec<TableChecksum>, BTreeMap<String, String>)> {
        let (sums, nav_totals) = self.figures(requests, true).await?;
        Ok((sums, nav_totals.unwrap_or_default()))
    }

    async fn figures(
        &mut self,
        requests: &[(&SharedTable, Option<&str>)],
        with_nav_totals: bool,
    ) -> Result<(Vec<TableChecksum>, Option<BTreeMap<String, String>>)> {
        if requests.is_empty() && !with_nav_totals {
            return Ok((Vec::new(), None));
        }
        let mut parts = Vec::with_capacity(requests.len() + 1);
        for (k, (table, since)) in requests.iter().enumerate() {
            let figures = checksum_figures(table);
            let filter = match since {
                Some(xid) => format!(" WHERE sync_xid >= '{}'::xid8", checked_xid(xid)?),
                None => String::new(),
            };
            parts.push(format!(
                "SELECT {k} AS k, ARRAY[{}] AS figures FROM {}{filter}",
                figures.join(", "),
                table.name
            ));
        }
        if with_nav_totals {
            // Rows keyed -1: a portfolio's id and NAV total.
            parts.push(
                "SELECT -1 AS k, ARRAY[portfolio_id::text, sum(nav)::text] AS figures
                 FROM portfolio_nav GROUP BY portfolio_id"
                    .to_string(),
            );
        }
        let sql = sqlx::AssertSqlSafe(parts.join(" UNION ALL "));
        // Whole-table sums read the same each run: prepared, so a kept connection reuses the
        // plan. A watermark makes the text new each run: a simple query then (one round trip,
        // not two, and nothing cached on the connection for nothing).
        let rows = if requests.iter().any(|(_, since)| since.is_some()) {
            sqlx::raw_sql(sql).fetch_all(&mut self.conn).await
        } else {
            sqlx::query(sql).fetch_all(&mut self.conn).await
        }
        .map_err(|e| self.error("checksumming the mirrored tables", e))?;
        let mut out: Vec<Option<TableChecksum>> = vec![None; requests.len()];
        let mut nav_totals = with_nav_totals.then(BTreeMap::new);
        for row in rows {
            let k: i32 = row.get("k");
            let figures: Vec<String> = row.get("figures");
            if k < 0 {
                if let (Some(totals), [id, total]) = (nav_totals.as_mut(), figures.as_slice()) {
                    totals.insert(id.clone(), ballast_engine::schema::normalize_decimal(total));
                }
            } else if let Some(slot) = out.get_mut(k as usize) {
                *slot = Some(TableChecksum::from_texts(requests[k as usize].0, &figures));
            }
        }
        let sums = out
            .into_iter()
            .zip(requests)
            .map(|(sum, (table, _))| {
                sum.ok_or_else(|| PgError::Query {
                    context: format!("checksumming {}", table.name),
                    reason: "Postgres returned no row for it".into(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((sums, nav_totals))
    }

    /// The checksum of every row of `table` the role sees.
    pub async fn checksum(&mut self, table: &SharedTable) -> Result<TableChecksum> {
        Ok(self.checksums(&[(table, None)]).await?.remove(0))
    }

    /// End the snapshot. With `reuse` (the run went through cleanly, so the connection is
    /// between statements) a snapshot opened with [`KeptConnections`] hands its connection
    /// back to them; otherwise it is closed.
    ///
    /// Handing back does not wait for the `COMMIT` to be answered ([`KeptConnections`] says
    /// why), when there is a Tokio runtime to finish it on.
    pub async fn close(mut self, reuse: bool) {
        let kept = self.kept.take().filter(|_| reuse);
        let (spec, conn) = (self.spec, self.conn);
        let end = |kept: Option<Arc<KeptConnections>>, mut conn: PgConnection| async move {
            let ended = sqlx::raw_sql("COMMIT").execute(&mut conn).await.is_ok();
            let closing = match kept {
                Some(kept) if ended => kept.keep(&spec, conn),
                _ => Some(conn),
            };
            if let Some(conn) = closing {
                let _ = conn.close().await;
            }
        };
        match (kept, tokio::runtime::Handle::try_current()) {
            (Some(kept), Ok(runtime)) => {
                let task = runtime.spawn(end(Some(kept.clone()), conn));
                kept.returning.lock().await.push(task);
            }
            (kept, _) => end(kept, conn).await,
        }
    }
}

/// Why a sync trigger may not fire for a writer (`pg_trigger.tgenabled`, or its absence).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TriggerProblem {
    Missing,
    Disabled,
    /// `O`: enabled, but not for sessions in replica mode (logical replication's apply
    /// worker, bulk loaders).
    SkippedInReplicaMode,
    /// `R`: enabled for sessions in replica mode only.
    OnlyInReplicaMode,
    UnknownState,
}

impl TriggerProblem {
    pub fn describe(self) -> &'static str {
        match self {
            TriggerProblem::Missing => "is missing",
            TriggerProblem::Disabled => "is disabled",
            TriggerProblem::SkippedInReplicaMode => "does not fire for writers in replica mode",
            TriggerProblem::OnlyInReplicaMode => "fires only for writers in replica mode",
            TriggerProblem::UnknownState => "is in an unknown state",
        }
    }
}

/// The sync triggers of each mirrored table (`…_updated_at` stamps every write, `…_tombstone`
/// records a delete, `…_truncate` a TRUNCATE), given the `(table, trigger, tgenabled)` rows
/// of `pg_trigger`: for each table with one that does not fire for every writer, what is
/// wrong with it. `A` (ALWAYS, as migration `…06_sync_triggers_always.sql` leaves them) is
/// the only state in which no writer can skip it.
pub fn unrecorded_writes(
    triggers: &[(String, String, String)],
) -> BTreeMap<String, Vec<(String, TriggerProblem)>> {
    let mut found = BTreeMap::new();
    for table in SHARED_TABLES {
        let problems: Vec<(String, TriggerProblem)> = ["updated_at", "tombstone", "truncate"]
            .iter()
            .filter_map(|suffix| {
                let name = format!("{}_{suffix}", table.name);
                let state = triggers
                    .iter()
                    .find(|(t, trigger, _)| t == table.name && *trigger == name)
                    .map(|(_, _, state)| state.as_str());
                Some((name, trigger_problem(state)?))
            })
            .collect();
        if !problems.is_empty() {
            found.insert(table.name.to_string(), problems);
        }
    }
    found
}

/// `name is disabled, name is missing`: what is wrong with each of `triggers`.
pub fn trigger_problems_text(triggers: &[(String, TriggerProblem)]) -> String {
    triggers
        .iter()
        .map(|(name, problem)| format!("{name} {}", problem.describe()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What is wrong with a trigger whose `pg_trigger.tgenabled` is `state` (`None`: there is no
/// such trigger), if anything.
fn trigger_problem(state: Option<&str>) -> Option<TriggerProblem> {
    match state {
        Some("A") => None,
        None => Some(TriggerProblem::Missing),
        Some("D") => Some(TriggerProblem::Disabled),
        Some("O") => Some(TriggerProblem::SkippedInReplicaMode),
        Some("R") => Some(TriggerProblem::OnlyInReplicaMode),
        Some(_) => Some(TriggerProblem::UnknownState),
    }
}

/// The triggers on `tombstones` that mark a table whose tombstones were removed or rewritten
/// (migration `…09_tombstone_pruning.sql`).
pub const TOMBSTONE_REMOVAL_TRIGGERS: [&str; 3] = [
    "tombstones_deleted",
    "tombstones_rewritten",
    "tombstones_truncated",
];

/// Those of [`TOMBSTONE_REMOVAL_TRIGGERS`] that do not fire for every writer, with what is
/// wrong with each, given the `(table, trigger, tgenabled)` rows of `pg_trigger`. While one
/// is off, a tombstone can go without a trace, and with it a delete no laptop got. A shared
/// schema from before migration 09 has none of them: nothing to say then (it never marked
/// a removed tombstone).
pub fn unrecorded_tombstone_removals(
    triggers: &[(String, String, String)],
) -> Vec<(String, TriggerProblem)> {
    let states: Vec<(&str, Option<&str>)> = TOMBSTONE_REMOVAL_TRIGGERS
        .iter()
        .map(|name| {
            let state = triggers
                .iter()
                .find(|(t, trigger, _)| t == "tombstones" && trigger == name)
                .map(|(_, _, state)| state.as_str());
            (*name, state)
        })
        .collect();
    if states.iter().all(|(_, state)| state.is_none()) {
        return Vec::new();
    }
    states
        .into_iter()
        .filter_map(|(name, state)| Some((name.to_string(), trigger_problem(state)?)))
        .collect()
}

/// The event triggers of migration `…08_sync_ddl_markers.sql` that mark a mirrored table (or
/// `tombstones`) altered by `ALTER TABLE`, `CREATE TRIGGER` or `DROP TRIGGER`. Only a superuser
/// creates them; `SELECT sync_watch_ddl()` (migration 13) puts them in place.
pub const DDL_EVENT_TRIGGERS: [&str; 2] = ["sync_table_altered", "sync_trigger_dropped"];

/// Those of [`DDL_EVENT_TRIGGERS`] that are missing or do not fire, given the `(evtname,
/// evtenabled)` rows of `pg_event_trigger`. Without them a sync trigger turned off and on
/// again between two syncs leaves nothing for the sync to find until a full verification.
/// `O` (the default) fires for every session but those in replica mode, where DDL is not run.
pub fn unwatched_ddl(event_triggers: &[(String, String)]) -> Vec<(String, TriggerProblem)> {
    DDL_EVENT_TRIGGERS
        .iter()
        .filter_map(|name| {
            let state = event_triggers
                .iter()
                .find(|(trigger, _)| trigger == name)
                .map(|(_, state)| state.as_str());
            let problem = match state {
                Some("O") => None,
                state => trigger_problem(state),
            }?;
            Some((name.to_string(), problem))
        })
        .collect()
}

/// What the [`unwatched_ddl`] `problems` mean and what puts them right, for a sync's notes
/// and `ballast pg migrate`.
pub fn unwatched_ddl_text(problems: &[(String, TriggerProblem)]) -> String {
    let listed = trigger_problems_text(problems);
    format!(
        "Postgres' event triggers that mark a mirrored table altered (ALTER TABLE, CREATE or \
         DROP TRIGGER) are not in place ({listed}): a sync trigger turned off and on again \
         between two syncs goes unnoticed until the next full verification; a superuser puts \
         them in place with SELECT sync_watch_ddl()"
    )
}

/// An xid8 watermark is digits only; anything else in the workspace file is refused rather
/// than spliced into SQL.
fn checked_xid(xid: &str) -> Result<&str> {
    if !xid.is_empty() && xid.len() <= 20 && xid.bytes().all(|b| b.is_ascii_digit()) {
        Ok(xid)
    } else {
        Err(PgError::Invalid {
            table: "sync_state",
            column: "watermark",
            value: xid.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sync_trigger_that_some_writer_can_skip_is_named_with_what_is_wrong() {
        // Every mirrored table's three triggers, ALWAYS, as the migrations leave them.
        let always: Vec<(String, String, String)> = SHARED_TABLES
            .iter()
            .flat_map(|t| {
                ["updated_at", "tombstone", "truncate"].map(|suffix| {
                    (
                        t.name.to_string(),
                        format!("{}_{suffix}", t.name),
                        "A".into(),
                    )
                })
            })
            .collect();
        assert!(unrecorded_writes(&always).is_empty());
        // (table, trigger, its state or None when dropped, the problem, as the sync says it)
        use TriggerProblem::*;
        let cases = [
            (
                "prices",
                "prices_updated_at",
                Some("D"),
                Disabled,
                "is disabled",
            ),
            (
                "positions",
                "positions_tombstone",
                None,
                Missing,
                "is missing",
            ),
            (
                "trades",
                "trades_truncate",
                Some("O"),
                SkippedInReplicaMode,
                "does not fire for writers in replica mode",
            ),
            (
                "assets",
                "assets_updated_at",
                Some("R"),
                OnlyInReplicaMode,
                "fires only for writers in replica mode",
            ),
            (
                "fx_rates",
                "fx_rates_tombstone",
                Some("?"),
                UnknownState,
                "is in an unknown state",
            ),
        ];
        for (table, trigger, state, problem, said) in cases {
            let triggers: Vec<(String, String, String)> = always
                .iter()
                .filter_map(|(t, name, s)| match (name == trigger, state) {
                    (false, _) => Some((t.clone(), name.clone(), s.clone())),
                    (true, None) => None,
                    (true, Some(state)) => Some((t.clone(), name.clone(), state.to_string())),
                })
                .collect();
            let found = unrecorded_writes(&triggers);
            assert_eq!(found.len(), 1, "{trigger}: {found:?}");
            assert_eq!(
                found.get(table),
                Some(&vec![(trigger.to_string(), problem)]),
                "{trigger}"
            );
            assert_eq!(problem.describe(), said);
        }
        // A trigger of the same name on another table does not stand in for the table's own.
        let elsewhere: Vec<(String, String, String)> = always
            .iter()
            .map(|(t, name, s)| {
                let table = if name == "prices_updated_at" {
                    "audit_trail"
                } else {
                    t
                };
                (table.to_string(), name.clone(), s.clone())
            })
            .collect();
        assert_eq!(
            unrecorded_writes(&elsewhere).get("prices"),
            Some(&vec![("prices_updated_at".to_string(), Missing)])
        );
    }

    #[test]
    fn a_tombstones_trigger_that_some_writer_can_skip_is_named_once_the_schema_has_them() {
        let rows = |states: [Option<&str>; 3]| -> Vec<(String, String, String)> {
            let mut rows = vec![(
                "tombstones".to_string(),
                "tombstones_updated_at".to_string(),
                "A".to_string(),
            )];
            for (name, state) in TOMBSTONE_REMOVAL_TRIGGERS.iter().zip(states) {
                if let Some(state) = state {
                    rows.push(("tombstones".into(), name.to_string(), state.into()));
                }
            }
            rows
        };
        use TriggerProblem::*;
        type States = [Option<&'static str>; 3];
        // (the three triggers' states, None when absent; what is wrong)
        let cases: [(States, Vec<(&str, TriggerProblem)>); 5] = [
            // A schema from before migration 09.
            ([None, None, None], vec![]),
            ([Some("A"), Some("A"), Some("A")], vec![]),
            (
                [Some("D"), Some("A"), Some("A")],
                vec![("tombstones_deleted", Disabled)],
            ),
            (
                [Some("A"), Some("O"), None],
                vec![
                    ("tombstones_rewritten", SkippedInReplicaMode),
                    ("tombstones_truncated", Missing),
                ],
            ),
            (
                [Some("R"), Some("A"), Some("A")],
                vec![("tombstones_deleted", OnlyInReplicaMode)],
            ),
        ];
        for (states, want) in cases {
            let want: Vec<(String, TriggerProblem)> = want
                .into_iter()
                .map(|(name, problem)| (name.to_string(), problem))
                .collect();
            assert_eq!(
                unrecorded_tombstone_removals(&rows(states)),
                want,
                "{states:?}"
            );
        }
        // The same names on another table are not the tombstones' triggers.
        let elsewhere: Vec<(String, String, String)> = rows([Some("A"); 3])
            .into_iter()
            .map(|(t, name, s)| {
                let table = if name == "tombstones_deleted" {
                    "audit_trail".into()
                } else {
                    t
                };
                (table, name, s)
            })
            .collect();
        assert_eq!(
            unrecorded_tombstone_removals(&elsewhere),
            vec![("tombstones_deleted".to_string(), Missing)]
        );
    }

    #[test]
    fn an_event_trigger_missing_or_off_is_named_with_what_is_wrong() {
        use TriggerProblem::*;
        type Rows = &'static [(&'static str, &'static str)];
        // (the rows of pg_event_trigger; what is wrong)
        let cases: [(Rows, Vec<(&str, TriggerProblem)>); 6] = [
            (
                &[("sync_table_altered", "O"), ("sync_trigger_dropped", "O")],
                vec![],
            ),
            (
                &[("sync_table_altered", "A"), ("sync_trigger_dropped", "O")],
                vec![],
            ),
            (
                &[],
                vec![
                    ("sync_table_altered", Missing),
                    ("sync_trigger_dropped", Missing),
                ],
            ),
            (
                &[("sync_table_altered", "D"), ("sync_trigger_dropped", "O")],
                vec![("sync_table_altered", Disabled)],
            ),
            (
                &[("sync_trigger_dropped", "R"), ("sync_table_altered", "O")],
                vec![("sync_trigger_dropped", OnlyInReplicaMode)],
            ),
            // Another event trigger of the same purpose does not stand in for one.
            (
                &[("sync_table_altered", "O"), ("audit_drops", "O")],
                vec![("sync_trigger_dropped", Missing)],
            ),
        ];
        for (rows, want) in cases {
            let rows: Vec<(String, String)> = rows
                .iter()
                .map(|(name, state)| (name.to_string(), state.to_string()))
                .collect();
            let want: Vec<(String, TriggerProblem)> = want
                .into_iter()
                .map(|(name, problem)| (name.to_string(), problem))
                .collect();
            assert_eq!(unwatched_ddl(&rows), want, "{rows:?}");
        }
        assert_eq!(
            unwatched_ddl_text(&[
                ("sync_table_altered".into(), Disabled),
                ("sync_trigger_dropped".into(), Missing)
            ]),
            "Postgres' event triggers that mark a mirrored table altered (ALTER TABLE, CREATE or \
             DROP TRIGGER) are not in place (sync_table_altered is disabled, \
             sync_trigger_dropped is missing): a sync trigger turned off and on again between \
             two syncs goes unnoticed until the next full verification; a superuser puts them \
             in place with SELECT sync_watch_ddl()"
        );
    }

    #[test]
    fn watermarks_must_be_transaction_ids() {
        assert_eq!(checked_xid("748").unwrap(), "748");
        for bad in [
            "",
            "1; DROP TABLE prices",
            "-1",
            "12a",
            "123456789012345678901",
        ] {
            assert!(checked_xid(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn every_column_travels_cast_to_the_type_it_is_decoded_as() {
        let sql =
            Snapshot::select_list(ballast_engine::schema::shared_table("portfolios").unwrap());
        assert!(
            sql.starts_with("id::uuid AS id, code::text AS code,"),
            "{sql}"
        );
        assert!(sql.contains("lp_visible::bool AS lp_visible"), "{sql}");
        assert!(
            sql.ends_with("updated_at::timestamptz AS updated_at"),
            "{sql}"
        );
        let assets = Snapshot::select_list(ballast_engine::schema::shared_table("assets").unwrap());
        assert!(
            assets.contains("maturity::date AS maturity, coupon::numeric AS coupon"),
            "{assets}"
        );
        assert!(
            assets.contains("redemption_notice_days::int8 AS redemption_notice_days"),
            "{assets}"
        );
    }
}
