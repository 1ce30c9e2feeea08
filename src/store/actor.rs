//! Who is acting, for the audit log. The transport sets it per request (from the caller's
//! credentials) around the handler; the store reads it when it appends an entry, so no write
//! path has to carry an actor argument it would only pass along.

use std::{future::Future, sync::Arc};

tokio::task_local! {
    // Shared, not owned: it is set on every call, read only by the calls that write.
    static ACTOR: Arc<str>;
}

/// Who entries written now are attributed to when nobody set an actor.
pub const SYSTEM: &str = "system";

/// The actor of the running task, or "system" outside any `with_actor`.
pub fn current_actor() -> String {
    ACTOR
        .try_with(|actor| actor.to_string())
        .unwrap_or_else(|_| SYSTEM.to_owned())
}

/// Runs `future` with `actor` as the current actor.
pub async fn with_actor<F: Future>(actor: Arc<str>, future: F) -> F::Output {
    ACTOR.scope(actor, future).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_actor_is_scoped_to_its_future() {
        assert_eq!(current_actor(), "system");
        let inside = with_actor("alice@desk".into(), async { current_actor() }).await;
        assert_eq!(inside, "alice@desk");
        assert_eq!(current_actor(), "system");
    }
}
