//! The gRPC API: thin handlers that validate a request, call the application and encode the
//! answer. Every error goes through the one mapping in `status`.

mod bench;
pub(crate) mod codec;
mod decision;
mod document;
pub mod encode;
mod gate;
pub mod parse;
mod registry;
mod rights;
mod status;
mod subject;
pub mod wire;

use std::sync::{Arc, OnceLock};

use tonic::Request;

pub use bench::NoopApi;
pub use decision::DecisionApi;
pub use document::DocumentApi;
pub use gate::{Gate, MAX_HEADER_BYTES, MAX_TOKEN_BYTES, TRANSPORT_HEADER_BYTES};
pub use registry::RegistryApi;
pub use rights::RightsApi;
pub use subject::SubjectApi;

use crate::{
    app::{App, Limits},
    error::Error,
    server::auth::Caller,
};

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

impl Ready {
    /// The first steps of every handler: the application once loaded, the caller the gate
    /// authenticated, and the message parsed by `parse` (INVALID_ARGUMENT naming every bad
    /// field). The handler then authorises, calls the application and encodes.
    pub(crate) fn begin<T, I>(
        &self,
        request: Request<T>,
        parse: fn(T, &Limits) -> Result<I, Error>,
    ) -> Result<(&Arc<App>, Caller, I), Error> {
        let app = self.get()?;
        let (caller, message) = authenticated(request)?;
        let input = parse(message, app.limits())?;
        Ok((app, caller, input))
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
