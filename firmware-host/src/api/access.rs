//! The one place where a request's caller becomes an engine actor.
//!
//! Authentication and roles (chair, technician, member, viewer) arrive with the web
//! consoles; they plug in here. Until then every API caller acts as the chair, so the
//! daemon must only listen where the chair console is trusted (loopback by default).

use podium_floor::{Actor, Command};

use super::error::ApiError;

/// Who is calling. Today there is one kind of caller; logins will add more.
#[derive(Debug, Clone)]
pub enum Principal {
    /// The chair console (unauthenticated until logins exist).
    ChairConsole,
}

impl Principal {
    /// The engine actor for this caller issuing this command, or 401/403.
    pub fn actor_for(&self, _command: &Command) -> Result<Actor, ApiError> {
        match self {
            Principal::ChairConsole => Ok(Actor::Chair),
        }
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(
        _parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, ApiError> {
        Ok(Principal::ChairConsole)
    }
}
