//! `ballast-pg`: the shared PostgreSQL edge.
//!
//! Applies the versioned schema in `migrations/` ([`migrate`]), loads the demo dataset into a
//! database ([`seed`]) and reads everything a login role may see from one consistent snapshot
//! ([`load_dataset`]). Passwords come from the caller (the keychain), never from stored URLs,
//! and no error message carries one ([`ConnectSpec`] redacts).

mod read;
pub mod testing;
mod write;

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;
use thiserror::Error;

pub use read::{load_dataset, LoadProgress};
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

    /// A small pool; fails fast with a clear message when the server is unreachable.
    pub async fn connect(&self) -> Result<PgPool> {
        PgPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(self.options()?)
            .await
            .map_err(|e| PgError::Connect {
                url: self.url_without_password.clone(),
                reason: self.redact(&e.to_string()),
            })
    }

    pub(crate) fn query_error(&self, context: &str, e: sqlx::Error) -> PgError {
        PgError::Query {
            context: context.to_string(),
            reason: self.redact(&e.to_string()),
        }
    }
}

/// Split `scheme://user:password@host/...` into the URL without the password and the
/// password (percent-decoding is left to the driver: the password is passed as given).
pub fn split_password(url: &str) -> (String, Option<String>) {
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

/// Apply every pending migration in `migrations/`, in name order.
pub async fn migrate(pool: &PgPool) -> Result<()> {
    MIGRATOR
        .run(pool)
        .await
        .map_err(|e| PgError::Migrate(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

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
        ];
        for (url, clean, password) in cases {
            let (got_clean, got_pw) = split_password(url);
            assert_eq!(got_clean, clean, "{url}");
            assert_eq!(got_pw.as_deref(), password, "{url}");
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
