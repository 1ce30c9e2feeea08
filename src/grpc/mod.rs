//! The gRPC API: thin handlers that validate a request, call the application and encode the
//! answer. Every error goes through the one mapping in `status`.

mod bench;
pub mod codec;
pub mod convert;
mod decision;
mod gate;
mod registry;
mod rights;
mod status;
mod subject;

use std::sync::{Arc, OnceLock};

use tonic::Request;

pub use bench::NoopApi;
pub use decision::DecisionApi;
pub use gate::{Gate, MAX_HEADER_BYTES, MAX_TOKEN_BYTES, TRANSPORT_HEADER_BYTES};
pub use registry::RegistryApi;
pub use rights::RightsApi;
pub use subject::SubjectApi;

use crate::{app::App, auth::Caller, error::Error};

/// The application once start-up has loaded it; until then every call is UNAVAILABLE.
#[derive(Clone, Default)]
pub struct Ready(Arc<OnceLock<Arc<App>>>);

impl Ready {
    pub fn set(&self, app: Arc<App>) {
        // Start-up sets it once; a second set would be a bug, and the first value stays.
        let _first = self.0.set(app);
    }

    pub fn get(&self) -> Result<&Arc<App>, Error> {
        self.0.get().ok_or_else(|| {
            Error::Unavailable("purposed is starting: the registry is not loaded yet".to_owned())
        })
    }
}

/// The caller the gate authenticated, and the message. Every service behind the gate gets
/// one; a request without is refused rather than trusted.
pub(crate) fn authenticated<T>(request: Request<T>) -> Result<(Caller, T), Error> {
    let (_, mut extensions, message) = request.into_parts();
    let caller = extensions.remove::<Caller>().ok_or_else(|| {
        Error::Unauthenticated("no caller: the request bypassed the gate".to_owned())
    })?;
    Ok((caller, message))
}
