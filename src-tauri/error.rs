//! The one error type every command returns: a stable `kind` the UI can branch on and a
//! message for people. Messages come from the workflow errors, which never carry secrets.

use ballast_workflows::WorkflowError;
use serde::Serialize;
use specta::Type;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The local workspace file could not be read or written.
    Storage,
    /// Postgres is unreachable, refused the login, or failed a query.
    Postgres,
    /// The OS keychain is missing, locked or failed.
    Keychain,
    /// The request names something that does not exist.
    NotFound,
    /// The request is malformed (a bad URL, an empty field).
    Invalid,
    /// Another operation of the same kind is running.
    Busy,
    /// The user stopped it; nothing was changed.
    Cancelled,
    /// A bug: something that should not happen.
    Internal,
}

#[derive(Debug, Clone, PartialEq, Serialize, Type)]
pub struct CommandError {
    pub kind: ErrorKind,
    pub message: String,
}

impl CommandError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        CommandError {
            kind,
            message: message.into(),
        }
    }

    pub fn internal(e: impl std::fmt::Display) -> Self {
        CommandError::new(ErrorKind::Internal, e.to_string())
    }
}

impl From<WorkflowError> for CommandError {
    fn from(e: WorkflowError) -> Self {
        use ballast_pg::PgError;
        let kind = match &e {
            WorkflowError::Storage(_) => ErrorKind::Storage,
            WorkflowError::Postgres(PgError::InvalidUrl { .. }) => ErrorKind::Invalid,
            WorkflowError::Postgres(_) => ErrorKind::Postgres,
            WorkflowError::Secret(ballast_secrets::SecretError::InvalidName { .. }) => {
                ErrorKind::Invalid
            }
            WorkflowError::Secret(_) => ErrorKind::Keychain,
            WorkflowError::Chart(_) | WorkflowError::Returns { .. } => ErrorKind::Internal,
            WorkflowError::UnknownPortfolio(_)
            | WorkflowError::UnknownSubject(_)
            | WorkflowError::UnknownScenario { .. }
            | WorkflowError::UnknownScenarioVersion { .. }
            | WorkflowError::EmptyWorkspace => ErrorKind::NotFound,
            WorkflowError::Csv(_)
            | WorkflowError::Range(_)
            | WorkflowError::Invalid(_)
            | WorkflowError::Scenario { .. }
            | WorkflowError::ScenarioFile { .. }
            | WorkflowError::Ladder { .. }
            | WorkflowError::MonteCarlo { .. } => ErrorKind::Invalid,
            WorkflowError::Cancelled => ErrorKind::Cancelled,
            WorkflowError::SchemaDrift { .. } | WorkflowError::Verification { .. } => {
                ErrorKind::Postgres
            }
            WorkflowError::Io { .. } => ErrorKind::Internal,
        };
        CommandError::new(kind, e.to_string())
    }
}
