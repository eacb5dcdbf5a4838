//! Draining the outbox to Postgres (`ballast outbox drain`, and after every sync in the app).
//!
//! Being offline is not a failed delivery: when Postgres cannot be reached, no entry spends an
//! attempt (a PM on a plane must not find their notes dead-lettered on landing). A delivery
//! the server refuses counts as an attempt and backs off; after [`MAX_ATTEMPTS`] it is dead.

use ballast_pg::ConnectSpec;
use ballast_storage::Workspace;
use chrono::{DateTime, Utc};

use crate::{Result, WorkflowError};

/// Failed deliveries before an entry moves to the dead-letter list.
pub const MAX_ATTEMPTS: i32 = 5;

/// Write a note on a position (portfolio code, asset symbol) to the outbox, signed with the
/// OS user's name.
pub fn annotate(
    workspace: &Workspace,
    portfolio: &str,
    symbol: &str,
    body: &str,
) -> Result<ballast_storage::OutboxItem> {
    let body = body.trim();
    if body.is_empty() || body.chars().count() > 4000 {
        return Err(WorkflowError::Invalid(
            "a note needs between 1 and 4000 characters".into(),
        ));
    }
    let portfolio = workspace
        .portfolios()?
        .into_iter()
        .find(|p| p.code == portfolio)
        .ok_or_else(|| WorkflowError::UnknownPortfolio(portfolio.to_string()))?;
    let asset = workspace
        .assets()?
        .into_iter()
        .find(|a| a.symbol == symbol)
        .ok_or_else(|| WorkflowError::UnknownSubject(format!("asset with symbol {symbol}")))?;
    let author = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "laptop".to_string());
    Ok(workspace.add_annotation(&portfolio.id, &asset.id, &author, body)?)
}

/// What one drain did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DrainReport {
    pub sent: usize,
    /// Delivered earlier (a lost acknowledgement): marked sent, nothing written again.
    pub already_present: usize,
    pub failed: usize,
    pub dead: usize,
    /// Pending entries not yet due (backing off).
    pub waiting: usize,
}

/// Deliver every due entry. `now` is a parameter so tests can step through the backoff.
pub async fn drain(
    workspace: &Workspace,
    spec: &ConnectSpec,
    max_attempts: i32,
    now: DateTime<Utc>,
) -> Result<DrainReport> {
    let due = workspace.outbox_due(now)?;
    let mut report = DrainReport {
        waiting: workspace.outbox_items(Some("pending"))?.len() - due.len(),
        ..DrainReport::default()
    };
    if due.is_empty() {
        return Ok(report);
    }
    let pool = spec.connect().await?;
    for entry in due {
        match ballast_pg::outbox::deliver(
            &pool,
            spec,
            &entry.kind,
            &entry.idempotency_key,
            &entry.payload,
        )
        .await
        {
            Ok(delivery) => {
                workspace.outbox_mark_sent(&entry.id, now)?;
                match delivery {
                    ballast_pg::outbox::Delivery::Written => report.sent += 1,
                    ballast_pg::outbox::Delivery::AlreadyPresent => report.already_present += 1,
                }
            }
            Err(e) => {
                let message = spec.redact(&WorkflowError::from(e).to_string());
                let status =
                    workspace.outbox_mark_failed(&entry.id, &message, max_attempts, now)?;
                if status == "dead" {
                    report.dead += 1;
                } else {
                    report.failed += 1;
                }
            }
        }
    }
    pool.close().await;
    Ok(report)
}
