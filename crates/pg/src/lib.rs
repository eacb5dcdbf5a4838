//! `ballast-pg`: the shared PostgreSQL edge.
//!
//! Applies the versioned schema in `migrations/` ([`migrate`]), loads the demo dataset into a
//! database ([`seed`]) and reads what a login role may see, for a sync, from one consistent
//! snapshot ([`snapshot::Snapshot`]). Passwords come from the caller (the keychain), never from stored URLs,
//! and no error message carries one ([`ConnectSpec`] redacts).

mod binary_copy;
pub mod outbox;
pub mod snapshot;
pub mod testing;
mod write;

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgSslMode};
use sqlx::{Connection, PgConnection, PgPool};
use thiserror::Error;

pub use write::seed;

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");

#[derive(Debug, Error)]
pub enum PgError {
    #[error("invalid Postgres URL {url}: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("cannot connect to Postgres at {url}: {reason}")]
    Connect { url: String, reason: String },
    #[error("Postgres migration failed: {0}")]
    Migrate(String),
    #[error("Postgres query failed while {context}: {reason}")]
    Query { context: String, reason: String },
    #[error("the sync was cancelled")]
    Cancelled,
    #[error("Postgres holds an invalid value in {table}.{column}: {value}")]
    Invalid {
        table: &'static str,
        column: &'static str,
        value: String,
    },
}

pub type Result<T> = std::result::Result<T, PgError>;

/// Where to connect: a URL (whose password, if any, is split off) plus a password from the
/// keychain. `Debug` and every error show only [`ConnectSpec::display_url`].
#[derive(Clone)]
pub struct ConnectSpec {
    url_without_password: String,
    password: Option<String>,
}

impl std::fmt::Debug for ConnectSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectSpec")
            .field("url", &self.url_without_password)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl ConnectSpec {
    /// From a URL that may embed a password (`postgres://u:pw@h/db`) and/or an explicit one;
    /// the explicit password wins.
    pub fn new(url: &str, password: Option<String>) -> ConnectSpec {
        let (clean, embedded) = split_password(url);
        ConnectSpec {
            url_without_password: clean,
            password: password.or(embedded),
        }
    }

    /// Which connection settings these are (URL and password), as a number that reveals
    /// neither: a kept connection is reused only for the same settings.
    pub(crate) fn identity(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        (&self.url_without_password, &self.password).hash(&mut hasher);
        hasher.finish()
    }

    /// The URL with no password, safe to show, log and store.
    pub fn display_url(&self) -> &str {
        &self.url_without_password
    }

    /// The password split off the URL or given explicitly, for the keychain.
    pub fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }

    fn options(&self) -> Result<PgConnectOptions> {
        let options = PgConnectOptions::from_str(&self.url_without_password).map_err(|e| {
            PgError::InvalidUrl {
                url: self.url_without_password.clone(),
                reason: self.redact(&e.to_string()),
            }
        })?;
        Ok(match &self.password {
            Some(pw) => options.password(pw),
            None => options,
        })
    }

    /// Remove the password from any text (defence in depth for driver messages).
    pub fn redact(&self, text: &str) -> String {
        match &self.password {
            Some(pw) if !pw.is_empty() => text.replace(pw.as_str(), "<redacted>"),
            _ => text.to_string(),
        }
    }

    /// The TLS mode the connection will use: `disable`, `allow`, `prefer` (the default: TLS
    /// when the server offers it, certificate not checked), `require` (TLS, certificate not
    /// checked), `verify-ca` (certificate must chain to a trusted root) or `verify-full` (and
    /// name the host). From the URL's `sslmode`, else `PGSSLMODE`; `None` for a URL that does
    /// not parse. For the UI ("TLS: verify-full").
    pub fn sslmode(&self) -> Option<&'static str> {
        let options = PgConnectOptions::from_str(&self.url_without_password).ok()?;
        Some(sslmode_name(options.get_ssl_mode()))
    }

    /// One connection; fails fast with a clear, password-free message and a hint when the
    /// server is unreachable, refuses the login or the TLS set-up ([`PgError::Connect`]).
    pub async fn connect_one(&self) -> Result<PgConnection> {
        let options = self.options()?;
        match tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(&options)).await {
            Ok(Ok(conn)) => Ok(conn),
            Ok(Err(e)) => Err(self.connect_error(&options, &e)),
            Err(_) => Err(PgError::Connect {
                url: self.url_without_password.clone(),
                reason: format!(
                    "cannot reach {}: no answer within {} s — is the server running and \
                     the address right (a firewall may drop the packets)?",
                    server_address(&options),
                    CONNECT_TIMEOUT.as_secs()
                ),
            }),
        }
    }

    /// A small pool, with [`ConnectSpec::connect_one`]'s clear errors.
    pub async fn connect(&self) -> Result<PgPool> {
        let options = self.options()?;
        // One plain connection first: the pool retries "connection refused" until its acquire
        // timeout and then reports only "pool timed out", which says nothing about the cause.
        self.connect_one().await?.close().await.ok();
        PgPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(CONNECT_TIMEOUT)
            .connect_with(options.clone())
            .await
            .map_err(|e| self.connect_error(&options, &e))
    }

    /// A [`PgError::Connect`] whose reason names the cause in plain words with a hint, and
    /// never the password.
    fn connect_error(&self, options: &PgConnectOptions, e: &sqlx::Error) -> PgError {
        PgError::Connect {
            url: self.url_without_password.clone(),
            reason: self.redact(&describe_connect_error(options, e)),
        }
    }

    pub(crate) fn query_error(&self, context: &str, e: sqlx::Error) -> PgError {
        PgError::Query {
            context: context.to_string(),
            reason: self.redact(&with_hint(&error_text(&e))),
        }
    }
}

/// A driver error in words: for one Postgres sent, its message and detail. (The driver's own
/// text ends a server error with "at line N", the line of Postgres' C source that raised it,
/// which readers take for a line of their data or query.)
fn error_text(e: &sqlx::Error) -> String {
    let sqlx::Error::Database(db) = e else {
        return e.to_string();
    };
    let detail = db
        .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
        .and_then(|pg| pg.detail());
    match detail {
        Some(detail) => format!("error returned from database: {} ({detail})", db.message()),
        None => format!("error returned from database: {}", db.message()),
    }
}

/// A query's error text, with what to do about it where Postgres' own words do not say.
fn with_hint(text: &str) -> String {
    // A hot standby cancels a read (or ends its session) when replaying its primary's cleanup
    // would remove row versions the read's snapshot still sees.
    if text.contains("conflict with recovery") {
        return format!(
            "{text} (the standby replayed a cleanup on its primary that removed rows this \
             sync's snapshot still reads; nothing was applied: sync again, or have the standby \
             run with hot_standby_feedback = on or a longer max_standby_streaming_delay)"
        );
    }
    text.to_string()
}

/// How long to wait for the server to answer a new connection (TCP, TLS and login).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

fn sslmode_name(mode: PgSslMode) -> &'static str {
    match mode {
        PgSslMode::Disable => "disable",
        PgSslMode::Allow => "allow",
        PgSslMode::Prefer => "prefer",
        PgSslMode::Require => "require",
        PgSslMode::VerifyCa => "verify-ca",
        PgSslMode::VerifyFull => "verify-full",
    }
}

/// `host:port`, or the unix socket path, for messages.
fn server_address(options: &PgConnectOptions) -> String {
    match options.get_socket() {
        Some(socket) => format!("{} (unix socket)", socket.display()),
        None if options.get_host().contains(':') => {
            format!("[{}]:{}", options.get_host(), options.get_port())
        }
        None => format!("{}:{}", options.get_host(), options.get_port()),
    }
}

/// The cause of a failed connection in plain words, with a hint what to change. The driver's
/// own text is kept where it is useful; the caller redacts the password.
fn describe_connect_error(options: &PgConnectOptions, e: &sqlx::Error) -> String {
    let address = server_address(options);
    let mode = sslmode_name(options.get_ssl_mode());
    let text = e.to_string();
    let untrusted = |detail: &str| {
        format!(
            "the server's certificate is not trusted ({detail}) under sslmode={mode}: set \
             sslrootcert to the CA file that signed it (e.g. \
             ?sslmode=verify-full&sslrootcert=/path/to/ca.pem)"
        )
    };
    match e {
        sqlx::Error::Database(db) => {
            let message = db.message();
            match db.code().as_deref() {
                // invalid_password
                Some("28P01") => format!(
                    "{message} — check the user name and the password saved for this connection"
                ),
                // invalid_authorization_specification: pg_hba.conf said no
                Some("28000") if message.contains("no encryption") => format!(
                    "the server requires TLS ({message}): add sslmode=require (or \
                     sslmode=verify-full with sslrootcert=/path/to/ca.pem) to the URL"
                ),
                Some("28000") => format!(
                    "the server does not admit this login ({message}) — ask its administrator \
                     (pg_hba.conf)"
                ),
                _ => message.to_string(),
            }
        }
        sqlx::Error::Io(io) => match io.kind() {
            std::io::ErrorKind::ConnectionRefused => format!(
                "cannot reach {address}: connection refused — is the server running and the \
                 address right?"
            ),
            std::io::ErrorKind::NotFound if options.get_socket().is_some() => format!(
                "cannot reach {address}: no such socket — is the server running and the path \
                 right?"
            ),
            std::io::ErrorKind::NotFound => format!(
                "cannot read a TLS file named in the URL (sslrootcert, sslcert or sslkey): \
                 {io}"
            ),
            _ if text.contains("invalid peer certificate") => {
                if text.contains("NotValidForName") || text.contains("not valid for name") {
                    format!(
                        "the server's certificate is not trusted: it is not valid for the host \
                         name {:?} ({io}) — connect with a name the certificate lists, or use \
                         sslmode=verify-ca to skip the host name check",
                        options.get_host()
                    )
                } else {
                    untrusted(&io.to_string())
                }
            }
            _ if text.contains("failed to lookup address") => format!(
                "cannot reach {address}: the host name does not resolve ({io}) — is the \
                 address right?"
            ),
            _ => format!(
                "cannot reach {address}: {io} — is the server running and the address right?"
            ),
        },
        sqlx::Error::Tls(tls) if tls.to_string().contains("server does not support TLS") => {
            format!(
                "the server at {address} does not support TLS, but the URL asks for it \
                 (sslmode={mode}) — enable ssl on the server, or use sslmode=prefer or \
                 sslmode=disable only on a network you trust"
            )
        }
        sqlx::Error::Tls(tls) if tls.to_string().contains("invalid peer certificate") => {
            untrusted(&tls.to_string())
        }
        sqlx::Error::Tls(tls) => format!("TLS set-up failed under sslmode={mode}: {tls}"),
        sqlx::Error::PoolTimedOut => format!(
            "no connection to {address} within {} s — is the server running and the address \
             right?",
            CONNECT_TIMEOUT.as_secs()
        ),
        _ => text,
    }
}

/// Split `scheme://user:password@host/...` (or a `password=` query parameter, which the
/// driver also honours) into the URL without the password and the password (percent-decoding
/// is left to the driver: the password is passed as given).
pub fn split_password(url: &str) -> (String, Option<String>) {
    let (url, query_password) = split_query_password(url);
    let (clean, userinfo_password) = split_userinfo_password(&url);
    (clean, userinfo_password.or(query_password))
}

/// Remove every `password=` pair from the query string; returns the last value.
fn split_query_password(url: &str) -> (String, Option<String>) {
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_string(), None);
    };
    let mut password = None;
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| match pair.split_once('=') {
            Some(("password", value)) => {
                password = Some(value.to_string());
                false
            }
            _ => *pair != "password",
        })
        .collect();
    if password.is_none() && kept.len() == query.split('&').count() {
        return (url.to_string(), None);
    }
    let clean = if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    (clean, password)
}

fn split_userinfo_password(url: &str) -> (String, Option<String>) {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return (url.to_string(), None);
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return (url.to_string(), None);
    };
    let userinfo = &rest[..at];
    match userinfo.split_once(':') {
        Some((user, password)) => (
            format!("{}{}{}", &url[..scheme_end], user, &rest[at..]),
            Some(password.to_string()),
        ),
        None => (url.to_string(), None),
    }
}

/// Apply every pending migration in `migrations/`, in name order, to a UTF8 database.
///
/// Another encoding is refused before anything is applied: Postgres converts every statement
/// from the connection's UTF-8 into the database's encoding, and the migrations' comments hold
/// characters (`…`) that LATIN1 and the like cannot store, so migration 06 would fail with
/// the first five applied.
pub async fn migrate(pool: &PgPool) -> Result<()> {
    let encoding: String = sqlx::query_scalar("SELECT current_setting('server_encoding')")
        .fetch_one(pool)
        .await
        .map_err(|e| PgError::Migrate(error_text(&e)))?;
    if encoding != "UTF8" {
        return Err(PgError::Migrate(format!(
            "the database's encoding is {encoding}, and Ballast's shared schema needs UTF8 \
             (its migrations hold characters {encoding} cannot store); create the database \
             with ENCODING 'UTF8' TEMPLATE template0 and migrate that. Nothing was applied"
        )));
    }
    MIGRATOR.run(pool).await.map_err(|e| {
        PgError::Migrate(match &e {
            sqlx::migrate::MigrateError::Execute(inner) => {
                format!("while executing migrations: {}", error_text(inner))
            }
            sqlx::migrate::MigrateError::ExecuteMigration(inner, version) => {
                format!("while executing migration {version}: {}", error_text(inner))
            }
            other => other.to_string(),
        })
    })
}

/// The event triggers marking an altered table that are missing or off in the database
/// ([`snapshot::unwatched_ddl`]), so `ballast pg migrate` can say what a superuser should
/// run; empty before migration `…08_sync_ddl_markers.sql`.
pub async fn unwatched_ddl(
    pool: &PgPool,
    spec: &ConnectSpec,
) -> Result<Vec<(String, snapshot::TriggerProblem)>> {
    let applied: bool =
        sqlx::query_scalar("SELECT to_regprocedure('record_sync_table_altered()') IS NOT NULL")
            .fetch_one(pool)
            .await
            .map_err(|e| spec.query_error("reading the event triggers", e))?;
    if !applied {
        return Ok(Vec::new());
    }
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT evtname::text, evtenabled::text FROM pg_event_trigger WHERE evtname = ANY($1)",
    )
    .bind(&snapshot::DDL_EVENT_TRIGGERS[..])
    .fetch_all(pool)
    .await
    .map_err(|e| spec.query_error("reading the event triggers", e))?;
    Ok(snapshot::unwatched_ddl(&rows))
}

/// Remove the tombstones recorded more than `keep_days` days ago (`sync_prune_tombstones`,
/// migration `…09_tombstone_pruning.sql`, which keeps at least a day; the login must own
/// `tombstones`), returning how many went. The tables that lost some are marked, so a laptop
/// that last synced before the pruning checks them whole at its next sync.
pub async fn prune_tombstones(pool: &PgPool, spec: &ConnectSpec, keep_days: u32) -> Result<i64> {
    sqlx::query_scalar("SELECT sync_prune_tombstones(make_interval(days => $1))")
        .bind(i32::try_from(keep_days).unwrap_or(i32::MAX))
        .fetch_one(pool)
        .await
        .map_err(|e| spec.query_error("pruning tombstones", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_standby_cancelling_a_read_says_what_to_do() {
        let hint = "(the standby replayed a cleanup on its primary that removed rows this \
                    sync's snapshot still reads; nothing was applied: sync again, or have the \
                    standby run with hot_standby_feedback = on or a longer \
                    max_standby_streaming_delay)";
        // Postgres' words for a cancelled query and for a session ended idle in a transaction.
        let cases = [
            (
                "error returned from database: canceling statement due to conflict with recovery",
                true,
            ),
            (
                "error returned from database: terminating connection due to conflict with recovery",
                true,
            ),
            ("error returned from database: relation \"prices\" does not exist", false),
        ];
        for (text, hinted) in cases {
            let out = with_hint(text);
            assert!(out.starts_with(text), "{out}");
            assert_eq!(out.ends_with(hint), hinted, "{out}");
        }
    }

    #[test]
    fn passwords_are_split_off_urls() {
        let cases = [
            (
                "postgres://u:s3cret@h:5432/db",
                "postgres://u@h:5432/db",
                Some("s3cret"),
            ),
            (
                "postgres://u@h/db?sslmode=require",
                "postgres://u@h/db?sslmode=require",
                None,
            ),
            ("postgres://h/db", "postgres://h/db", None),
            (
                "postgresql://u:p%40ss@h/db",
                "postgresql://u@h/db",
                Some("p%40ss"),
            ),
            ("not a url", "not a url", None),
            (
                "postgres://u@h/db?sslmode=require&password=s3cret",
                "postgres://u@h/db?sslmode=require",
                Some("s3cret"),
            ),
            (
                "postgres://u@h/db?password=s3cret&sslmode=verify-full&sslrootcert=/c.pem",
                "postgres://u@h/db?sslmode=verify-full&sslrootcert=/c.pem",
                Some("s3cret"),
            ),
            (
                "postgres://u@h/db?password=s3cret",
                "postgres://u@h/db",
                Some("s3cret"),
            ),
            (
                "postgres://u:inline@h/db?password=query",
                "postgres://u@h/db",
                Some("inline"),
            ),
        ];
        for (url, clean, password) in cases {
            let (got_clean, got_pw) = split_password(url);
            assert_eq!(got_clean, clean, "{url}");
            assert_eq!(got_pw.as_deref(), password, "{url}");
        }
    }

    #[test]
    fn sslmode_comes_from_the_url() {
        let cases = [
            ("postgres://u@h/db?sslmode=disable", Some("disable")),
            ("postgres://u@h/db?sslmode=require", Some("require")),
            ("postgres://u@h/db?sslmode=verify-ca", Some("verify-ca")),
            (
                "postgres://u@h/db?sslmode=verify-full&sslrootcert=/ca.pem",
                Some("verify-full"),
            ),
            ("postgres://u@h/db?sslmode=bogus", None),
        ];
        for (url, want) in cases {
            assert_eq!(ConnectSpec::new(url, None).sslmode(), want, "{url}");
        }
    }

    #[test]
    fn debug_and_redact_never_show_the_password() {
        let spec = ConnectSpec::new("postgres://u:hunter2@h/db", None);
        assert!(!format!("{spec:?}").contains("hunter2"));
        assert_eq!(
            spec.redact("auth failed for hunter2"),
            "auth failed for <redacted>"
        );
        assert_eq!(spec.password(), Some("hunter2"));
    }
}
