//! The outbox: writes made on the laptop for the shared database wait here until they are
//! delivered. A local change and its outbox entry commit in one transaction, so neither exists
//! without the other. Each entry carries an idempotency key the shared database stores with
//! the row it writes, so a retried delivery can never write twice.
//!
//! Delivery failures are retried with exponential backoff; after `max_attempts` failures an
//! entry moves to the dead-letter list (`dead`) until someone retries it.

use chrono::{DateTime, Duration, Utc};
use duckdb::params;
use uuid::Uuid;

use crate::{Result, Workspace};

/// One entry.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxItem {
    pub id: String,
    pub idempotency_key: String,
    /// What to write: `annotation` or `scenario.publish`.
    pub kind: String,
    /// JSON.
    pub payload: String,
    /// `pending`, `sent` or `dead`.
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// How many entries are in each state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OutboxCounts {
    pub pending: i64,
    pub sent: i64,
    pub dead: i64,
}

/// Delay before the next attempt after `attempts` failures: 30 s, 1 min, 2 min, … capped at
/// one hour.
pub fn backoff(attempts: i32) -> Duration {
    let doubling = attempts.clamp(1, 8) - 1;
    Duration::seconds((30i64 << doubling).min(3600))
}

const COLUMNS: &str = "id::VARCHAR, idempotency_key, kind, payload, status, attempts,
                       next_attempt_at, last_error, created_at, sent_at";

fn item(r: &duckdb::Row<'_>) -> duckdb::Result<OutboxItem> {
    Ok(OutboxItem {
        id: r.get(0)?,
        idempotency_key: r.get(1)?,
        kind: r.get(2)?,
        payload: r.get(3)?,
        status: r.get(4)?,
        attempts: r.get(5)?,
        next_attempt_at: r.get(6)?,
        last_error: r.get(7)?,
        created_at: r.get(8)?,
        sent_at: r.get(9)?,
    })
}

impl Workspace {
    /// Write a note on a position locally and queue it for the shared database, atomically.
    /// Returns the outbox entry.
    pub fn add_annotation(
        &self,
        portfolio_id: &str,
        asset_id: &str,
        author: &str,
        body: &str,
    ) -> Result<OutboxItem> {
        let id = Uuid::now_v7().to_string();
        let now = Utc::now();
        let payload = serde_json::json!({
            "id": id,
            "portfolio_id": portfolio_id,
            "asset_id": asset_id,
            "author": author,
            "body": body,
        })
        .to_string();
        let key = format!("annotation:{id}");
        self.with_outbox_entry("annotation", &key, &payload, |tx| {
            tx.execute(
                "INSERT INTO local_annotations (id, portfolio_id, asset_id, author, body, created_at)
                 VALUES (?, ?, ?, ?, ?, ?)",
                params![id, portfolio_id, asset_id, author, body, now],
            )?;
            Ok(())
        })
    }

    /// Record a scenario run and queue its publication (`scenario.publish`, keyed by the run)
    /// in one transaction. `payload(run_id)` builds the JSON to deliver.
    pub fn publish_scenario_run(
        &self,
        scenario_name: &str,
        scenario_version: Option<i32>,
        portfolio_id: &str,
        result: &str,
        payload: impl FnOnce(&str) -> String,
    ) -> Result<OutboxItem> {
        let run = Uuid::now_v7().to_string();
        let key = format!("scenario.publish:{run}");
        let payload = payload(&run);
        self.with_outbox_entry("scenario.publish", &key, &payload, |tx| {
            tx.execute(
                "INSERT INTO local_scenario_runs
                     (id, scenario_id, scenario_name, scenario_version, portfolio_id, ran_at, result)
                 VALUES (?::UUID, NULL, ?, ?, ?::UUID, ?, ?)",
                params![run, scenario_name, scenario_version, portfolio_id, Utc::now(), result],
            )?;
            Ok(())
        })
    }

    /// Run `local_change` and add an outbox entry in the same transaction; returns the entry.
    fn with_outbox_entry(
        &self,
        kind: &str,
        key: &str,
        payload: &str,
        local_change: impl FnOnce(&duckdb::Transaction<'_>) -> Result<()>,
    ) -> Result<OutboxItem> {
        let entry = Uuid::now_v7().to_string();
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        local_change(&tx)?;
        tx.execute(
            "INSERT INTO outbox (id, idempotency_key, kind, payload, status, created_at)
             VALUES (?, ?, ?, ?, 'pending', ?)",
            params![entry, key, kind, payload, Utc::now()],
        )?;
        tx.commit()?;
        drop(conn);
        Ok(self
            .outbox_items(None)?
            .into_iter()
            .find(|i| i.id == entry)
            .expect("the entry just written"))
    }

    /// Entries, newest first; only those in `status` when given.
    pub fn outbox_items(&self, status: Option<&str>) -> Result<Vec<OutboxItem>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM outbox WHERE ? IS NULL OR status = ?
             ORDER BY created_at DESC, id DESC"
        ))?;
        let rows = stmt.query_map(params![status, status], item)?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    pub fn outbox_counts(&self) -> Result<OutboxCounts> {
        let conn = self.conn();
        Ok(conn.query_row(
            "SELECT count(*) FILTER (status = 'pending'), count(*) FILTER (status = 'sent'),
                    count(*) FILTER (status = 'dead')
             FROM outbox",
            [],
            |r| {
                Ok(OutboxCounts {
                    pending: r.get(0)?,
                    sent: r.get(1)?,
                    dead: r.get(2)?,
                })
            },
        )?)
    }

    /// Pending entries whose next attempt is due at `now`, oldest first.
    pub fn outbox_due(&self, now: DateTime<Utc>) -> Result<Vec<OutboxItem>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM outbox
             WHERE status = 'pending' AND (next_attempt_at IS NULL OR next_attempt_at <= ?)
             ORDER BY created_at, id"
        ))?;
        let rows = stmt.query_map(params![now], item)?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    pub fn outbox_mark_sent(&self, id: &str, now: DateTime<Utc>) -> Result<()> {
        self.conn().execute(
            "UPDATE outbox SET status = 'sent', sent_at = ?, attempts = attempts + 1,
                    next_attempt_at = NULL, last_error = NULL
             WHERE id = ?::UUID",
            params![now, id],
        )?;
        Ok(())
    }

    /// Record a failed delivery: back off, or move to the dead-letter list after
    /// `max_attempts` failures. Returns the entry's new status. `error` must be secret-free.
    pub fn outbox_mark_failed(
        &self,
        id: &str,
        error: &str,
        max_attempts: i32,
        now: DateTime<Utc>,
    ) -> Result<String> {
        let conn = self.conn();
        let attempts: i32 = conn.query_row(
            "SELECT attempts + 1 FROM outbox WHERE id = ?::UUID",
            params![id],
            |r| r.get(0),
        )?;
        let (status, next) = if attempts >= max_attempts {
            ("dead", None)
        } else {
            ("pending", Some(now + backoff(attempts)))
        };
        conn.execute(
            "UPDATE outbox SET status = ?, attempts = ?, next_attempt_at = ?, last_error = ?
             WHERE id = ?::UUID",
            params![status, attempts, next, error, id],
        )?;
        Ok(status.to_string())
    }

    /// Give every dead entry a fresh start. Returns how many.
    pub fn outbox_retry_dead(&self) -> Result<usize> {
        Ok(self.conn().execute(
            "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = NULL
             WHERE status = 'dead'",
            [],
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_thirty_seconds_up_to_an_hour() {
        let cases = [
            (1, 30),
            (2, 60),
            (3, 120),
            (4, 240),
            (7, 1920),
            (8, 3600),
            (20, 3600),
        ];
        for (attempts, seconds) in cases {
            assert_eq!(backoff(attempts), Duration::seconds(seconds), "{attempts}");
        }
    }
}
