//! The one mapping from the service's errors to gRPC status codes.

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::{error::Error, server::auth::AuthError};

impl From<Error> for Status {
    fn from(error: Error) -> Status {
        match error {
            Error::InvalidArgument(violations) => {
                let message = match violations.as_slice() {
                    [only] => format!("{}: {}", only.field, only.description),
                    [first, ..] => format!(
                        "{} invalid fields; {}: {}",
                        violations.len(),
                        first.field,
                        first.description
                    ),
                    [] => "invalid argument".to_owned(),
                };
                let details = ErrorDetails::with_bad_request(
                    violations
                        .into_iter()
                        .map(|violation| {
                            tonic_types::FieldViolation::new(violation.field, violation.description)
                        })
                        .collect::<Vec<_>>(),
                );
                Status::with_error_details(Code::InvalidArgument, message, details)
            }
            Error::NotFound(message) => Status::not_found(message),
            Error::AlreadyExists(message) => Status::already_exists(message),
            Error::FailedPrecondition(message) => Status::failed_precondition(message),
            Error::Aborted(message) => Status::aborted(message),
            Error::ResourceExhausted(message) => Status::resource_exhausted(message),
            Error::Unauthenticated(message) => Status::unauthenticated(message),
            Error::PermissionDenied(message) => Status::permission_denied(message),
            Error::Unavailable(message) => Status::unavailable(message),
            Error::Internal(message) => {
                // The detail may name tables or queries: it goes to the log, not the caller.
                tracing::error!(error = %message, "internal error");
                Status::internal("internal error; see the server log")
            }
        }
    }
}

impl From<AuthError> for Status {
    fn from(error: AuthError) -> Status {
        Status::from(Error::from(error))
    }
}
