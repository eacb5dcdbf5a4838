//! Delivering the laptop's outbox entries to the shared database. Every write is keyed by the
//! entry's idempotency key (a unique column), so delivering the same entry twice — a retry
//! after a lost acknowledgement — writes once.

use serde_json::Value;
use sqlx::PgPool;

use crate::{ConnectSpec, PgError, Result};

/// What a delivery did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Written,
    /// The key was already there: an earlier attempt landed.
    AlreadyPresent,
}

fn field<'a>(payload: &'a Value, name: &'static str) -> Result<&'a Value> {
    payload.get(name).ok_or(PgError::Invalid {
        table: "outbox",
        column: "payload",
        value: format!("missing field {name}"),
    })
}

fn text<'a>(payload: &'a Value, name: &'static str) -> Result<&'a str> {
    field(payload, name)?.as_str().ok_or(PgError::Invalid {
        table: "outbox",
        column: "payload",
        value: format!("field {name} is not text"),
    })
}

/// Write one entry (`kind`, JSON `payload`) under `key`.
pub async fn deliver(
    pool: &PgPool,
    spec: &ConnectSpec,
    kind: &str,
    key: &str,
    payload: &str,
) -> Result<Delivery> {
    let payload: Value = serde_json::from_str(payload).map_err(|e| PgError::Invalid {
        table: "outbox",
        column: "payload",
        value: e.to_string(),
    })?;
    match kind {
        "annotation" => {
            let written = sqlx::query(
                "INSERT INTO annotations (id, portfolio_id, asset_id, author, body, idempotency_key)
                 VALUES ($1::uuid, $2::uuid, $3::uuid, $4, $5, $6)
                 ON CONFLICT (idempotency_key) DO NOTHING",
            )
            .bind(text(&payload, "id")?)
            .bind(text(&payload, "portfolio_id")?)
            .bind(text(&payload, "asset_id")?)
            .bind(text(&payload, "author")?)
            .bind(text(&payload, "body")?)
            .bind(key)
            .execute(pool)
            .await
            .map_err(|e| spec.query_error("writing an annotation", e))?
            .rows_affected();
            Ok(if written == 1 {
                Delivery::Written
            } else {
                Delivery::AlreadyPresent
            })
        }
        "scenario.publish" => publish_scenario(pool, spec, key, &payload).await,
        other => Err(PgError::Invalid {
            table: "outbox",
            column: "kind",
            value: other.to_string(),
        }),
    }
}

/// A scenario definition and its results per portfolio, in one transaction.
async fn publish_scenario(
    pool: &PgPool,
    spec: &ConnectSpec,
    key: &str,
    payload: &Value,
) -> Result<Delivery> {
    let err = |ctx: &'static str| move |e| spec.query_error(ctx, e);
    let scenario = field(payload, "scenario")?;
    let mut tx = pool.begin().await.map_err(err("publishing a scenario"))?;
    // A definition already published under this name and version (the same preset by
    // another analyst, or an earlier delivery) is reused; its results are added.
    let name = text(scenario, "name")?;
    let version = field(scenario, "version")?.as_i64().unwrap_or(1) as i32;
    sqlx::query(
        "INSERT INTO scenarios (name, author, version, shocks, idempotency_key)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
    )
    .bind(name)
    .bind(text(scenario, "author")?)
    .bind(version)
    .bind(field(scenario, "shocks")?)
    .bind(key)
    .execute(&mut *tx)
    .await
    .map_err(err("publishing a scenario"))?;
    let scenario_id: uuid::Uuid = sqlx::query_scalar(
        "SELECT id FROM scenarios WHERE idempotency_key = $1 OR (name = $2 AND version = $3)
         ORDER BY (idempotency_key = $1) DESC LIMIT 1",
    )
    .bind(key)
    .bind(name)
    .bind(version)
    .fetch_one(&mut *tx)
    .await
    .map_err(err("publishing a scenario"))?;
    let empty = Vec::new();
    let results = field(payload, "results")?.as_array().unwrap_or(&empty);
    let mut written = 0;
    for result in results {
        let portfolio = text(result, "portfolio_id")?;
        written += sqlx::query(
            "INSERT INTO scenario_results (scenario_id, portfolio_id, published_by, as_of, pnl,
                                           nav_after, detail, idempotency_key)
             VALUES ($1, $2::uuid, $3, $4::date, $5::numeric, $6::numeric, $7, $8)
             ON CONFLICT (idempotency_key) DO NOTHING",
        )
        .bind(scenario_id)
        .bind(portfolio)
        .bind(text(scenario, "author")?)
        .bind(text(result, "as_of")?)
        .bind(text(result, "pnl")?)
        .bind(text(result, "nav_after")?)
        .bind(field(result, "detail").cloned().unwrap_or(Value::Null))
        .bind(format!("{key}:{portfolio}"))
        .execute(&mut *tx)
        .await
        .map_err(err("publishing scenario results"))?
        .rows_affected();
    }
    tx.commit().await.map_err(err("publishing a scenario"))?;
    Ok(if written > 0 {
        Delivery::Written
    } else {
        Delivery::AlreadyPresent
    })
}
