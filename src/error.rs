//! The errors the service reports to callers, independent of transport. `grpc::status` maps
//! each kind to exactly one gRPC code.

use crate::{manifest::ManifestError, server::auth::AuthError, store::StoreError};

/// One invalid field of a request: `field` is its path in the request, for example
/// `checks[3].purpose` or `manifest` (whose description then names the place in the YAML).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldViolation {
    pub field: String,
    pub description: String,
}

impl FieldViolation {
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> FieldViolation {
        FieldViolation {
            field: field.into(),
            description: description.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The caller sent something malformed; nothing was changed.
    #[error("invalid argument: {}", describe(.0))]
    InvalidArgument(Vec<FieldViolation>),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    AlreadyExists(String),
    /// The request is well-formed but the current state does not allow it.
    #[error("{0}")]
    FailedPrecondition(String),
    /// A concurrent writer won; retrying may succeed.
    #[error("{0}")]
    Aborted(String),
    /// A limit of the server's (open streams) is reached; retrying later may succeed.
    #[error("{0}")]
    ResourceExhausted(String),
    /// No valid credentials came with the call.
    #[error("{0}")]
    Unauthenticated(String),
    /// The caller may not do this for this organisation; the words are the same whether or
    /// not the organisation exists.
    #[error("{0}")]
    PermissionDenied(String),
    /// Not ready yet, or the database is unreachable; retrying may succeed.
    #[error("{0}")]
    Unavailable(String),
    /// A fault of the service itself, never of the caller's input.
    #[error("{0}")]
    Internal(String),
}

fn describe(violations: &[FieldViolation]) -> String {
    violations
        .iter()
        .map(|violation| format!("{}: {}", violation.field, violation.description))
        .collect::<Vec<_>>()
        .join("; ")
}

impl Error {
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Error {
        Error::InvalidArgument(vec![FieldViolation::new(field, description)])
    }
}

impl From<ManifestError> for Error {
    fn from(error: ManifestError) -> Error {
        Error::InvalidArgument(
            error
                .violations()
                .into_iter()
                .map(|violation| FieldViolation::new("manifest", violation.to_string()))
                .collect(),
        )
    }
}

impl From<StoreError> for Error {
    fn from(error: StoreError) -> Error {
        match error {
            StoreError::RevisionMismatch { .. } => Error::FailedPrecondition(error.to_string()),
            StoreError::ConcurrentApply(_) => Error::Aborted(error.to_string()),
            StoreError::NoSuchRevision(..)
            | StoreError::NoSuchRequest(_)
            | StoreError::NoSuchTask(_) => Error::NotFound(error.to_string()),
            StoreError::RequestIdTaken(_) => Error::AlreadyExists(error.to_string()),
            StoreError::TaskDone(_) => Error::FailedPrecondition(error.to_string()),
            StoreError::StatusMoved { .. } | StoreError::Conflict(_) => {
                Error::Aborted(error.to_string())
            }
            StoreError::Unavailable(_) => Error::Unavailable(error.to_string()),
            StoreError::UnsupportedUrl(_) | StoreError::Database(_) | StoreError::Corrupt(_) => {
                Error::Internal(error.to_string())
            }
        }
    }
}

impl From<AuthError> for Error {
    fn from(error: AuthError) -> Error {
        match error {
            AuthError::Unauthenticated(message) => Error::Unauthenticated(message),
            AuthError::Forbidden { .. } | AuthError::MissingScope(_) => {
                Error::PermissionDenied(error.to_string())
            }
        }
    }
}
