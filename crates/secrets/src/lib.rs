//! `ballast-secrets`: credentials in the OS keychain (Secret Service on Linux, Keychain on
//! macOS, Credential Manager on Windows) through `keyring`, and nowhere else.
//!
//! There is no fallback: without a keychain every call fails with
//! [`SecretError::NoKeychain`]. No error carries the secret: keyring errors that could hold
//! the stored bytes are mapped to messages without them.

use thiserror::Error;

/// The keychain service name every Ballast credential lives under.
pub const SERVICE: &str = "ballast";

#[derive(Debug, Error, PartialEq, Eq)]
pub enum SecretError {
    #[error("no OS keychain is available ({0}); Ballast stores credentials only there")]
    NoKeychain(String),
    #[error("the keychain refused access to {name} (is it locked?)")]
    Locked { name: String },
    #[error("no credential named {name} in the keychain")]
    NotFound { name: String },
    #[error("invalid credential name {name:?}: {reason}")]
    InvalidName { name: String, reason: String },
    #[error("the keychain failed on {name}: {reason}")]
    Keychain { name: String, reason: String },
}

pub type Result<T> = std::result::Result<T, SecretError>;

/// A credential's name in the keychain: `broker:<connection>` or `postgres:<profile>`.
fn validate(name: &str) -> Result<()> {
    let invalid = |reason: &str| {
        Err(SecretError::InvalidName {
            name: name.to_string(),
            reason: reason.to_string(),
        })
    };
    if name.is_empty() || name.len() > 200 {
        return invalid("must be 1 to 200 characters");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '-' | '_' | '.' | '@'))
    {
        return invalid("use letters, digits and : - _ . @ only");
    }
    Ok(())
}

fn entry(name: &str) -> Result<keyring::Entry> {
    validate(name)?;
    keyring::Entry::new(SERVICE, name).map_err(|e| map_error(name, e))
}

fn map_error(name: &str, e: keyring::Error) -> SecretError {
    use keyring::Error as K;
    let name = name.to_string();
    match e {
        K::NoEntry => SecretError::NotFound { name },
        K::NoStorageAccess(_) => SecretError::Locked { name },
        K::NoDefaultStore => SecretError::NoKeychain(
            keyring::Entry::store_status()
                .as_ref()
                .err()
                .map(platform_reason)
                .unwrap_or_else(|| "no default credential store".into()),
        ),
        // These variants carry the stored bytes; say what happened, never what was stored.
        K::BadEncoding(_) => SecretError::Keychain {
            name,
            reason: "the stored value is not UTF-8 text".into(),
        },
        K::BadDataFormat(_, _) => SecretError::Keychain {
            name,
            reason: "the stored value has an unexpected format".into(),
        },
        other => SecretError::Keychain {
            name,
            reason: platform_reason(&other),
        },
    }
}

/// A keyring error's text, for variants that hold no secret.
fn platform_reason(e: &keyring::Error) -> String {
    use keyring::Error as K;
    match e {
        K::BadEncoding(_) | K::BadDataFormat(_, _) => "unreadable stored value".into(),
        other => other.to_string(),
    }
}

/// Store `secret` under `name`, replacing any previous value.
pub fn set(name: &str, secret: &str) -> Result<()> {
    if secret.is_empty() {
        return Err(SecretError::InvalidName {
            name: name.to_string(),
            reason: "the secret is empty".into(),
        });
    }
    entry(name)?
        .set_password(secret)
        .map_err(|e| map_error(name, e))
}

/// Read the secret stored under `name`.
pub fn get(name: &str) -> Result<String> {
    entry(name)?.get_password().map_err(|e| map_error(name, e))
}

/// Whether a secret exists under `name`.
pub fn exists(name: &str) -> Result<bool> {
    match get(name) {
        Ok(_) => Ok(true),
        Err(SecretError::NotFound { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Remove the secret under `name`; removing a missing one is [`SecretError::NotFound`].
pub fn delete(name: &str) -> Result<()> {
    entry(name)?
        .delete_credential()
        .map_err(|e| map_error(name, e))
}

/// Whether the OS keychain can be reached at all (for a clear message up front).
pub fn keychain_status() -> Result<()> {
    keyring::Entry::store_status()
        .as_ref()
        .map(|_| ())
        .map_err(|e| SecretError::NoKeychain(platform_reason(e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_validated_before_the_keychain_is_touched() {
        let cases = [
            ("broker:ibkr-main", true),
            ("postgres:default", true),
            ("", false),
            ("has space", false),
            ("semi;colon", false),
        ];
        for (name, ok) in cases {
            assert_eq!(validate(name).is_ok(), ok, "{name:?}");
        }
    }

    #[test]
    fn errors_that_hold_bytes_never_print_them() {
        let secret = b"hunter2-secret".to_vec();
        let e = map_error("broker:x", keyring::Error::BadEncoding(secret));
        assert!(!e.to_string().contains("hunter2"), "{e}");
        assert!(!format!("{e:?}").contains("hunter2"));
    }
}
