//! The identity zone's server functions, under `/auth/api/`: the profile
//! and the user's sessions. They read the shared session through
//! shared-auth; cross-site mutations never reach them (the zone runtime's
//! `shared_auth::guard` refuses them).

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use serde::{Deserialize, Serialize};

use crate::error::AccountError;

/// One of the user's sessions, as the sessions page lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub id: String,
    /// Unix seconds.
    pub created_at: i64,
    pub last_seen_at: i64,
    pub user_agent: Option<String>,
    /// The session this request came with ("this device").
    pub current: bool,
}

/// Changes the signed-in user's display name (trimmed, 1 to 40 visible
/// characters). Every zone shows it from the next page load on.
#[server(prefix = "/auth/api", endpoint = "profile/name")]
pub async fn set_display_name(
    #[server(default)] display_name: String,
) -> Result<String, AccountError> {
    use shared_auth::leptos::{auth, reissue_session_token, require_user};
    let user = require_user()?;
    let name =
        contracts::user::validate_display_name(&display_name).map_err(AccountError::InvalidName)?;
    if !auth()?.store().set_display_name(&user.id, &name).await? {
        return Err(shared_auth::leptos::AuthError::unauthenticated().into());
    }
    let renamed = contracts::User {
        display_name: name.clone(),
        ..user
    };
    reissue_session_token(&renamed).await?;
    Ok(name)
}

/// The signed-in user's live sessions, newest first.
#[server(prefix = "/auth/api", endpoint = "sessions", input = GetUrl)]
pub async fn list_sessions() -> Result<Vec<SessionInfo>, AccountError> {
    let user = shared_auth::leptos::require_user()?;
    sessions_of(&user.id).await
}

/// Signs out one of the user's other sessions (another device). Every
/// zone treats that device as anonymous from its next request.
#[server(prefix = "/auth/api", endpoint = "sessions/revoke")]
pub async fn revoke_session(
    #[server(default)] id: String,
) -> Result<Vec<SessionInfo>, AccountError> {
    use shared_auth::leptos::{auth, require_user};
    let user = require_user()?;
    let store = auth()?.store().clone();
    if !store.delete_user_session(&user.id, &id).await? {
        return Err(AccountError::UnknownSession);
    }
    crate::server::forget_id_tokens(&store, &[id]).await;
    sessions_of(&user.id).await
}

/// Signs out every session of the user except this one.
#[server(prefix = "/auth/api", endpoint = "sessions/revoke-others")]
pub async fn revoke_other_sessions() -> Result<Vec<SessionInfo>, AccountError> {
    use shared_auth::leptos::{auth, current_session, require_user};
    let user = require_user()?;
    let current = current_session().and_then(|s| s.session_id().map(str::to_owned));
    let store = auth()?.store().clone();
    let others: Vec<String> = store
        .user_sessions(&user.id)
        .await?
        .into_iter()
        .map(|session| session.id)
        .filter(|id| Some(id) != current.as_ref())
        .collect();
    store
        .delete_user_sessions(&user.id, current.as_deref())
        .await?;
    crate::server::forget_id_tokens(&store, &others).await;
    sessions_of(&user.id).await
}

#[cfg(feature = "ssr")]
async fn sessions_of(user_id: &str) -> Result<Vec<SessionInfo>, AccountError> {
    let current =
        shared_auth::leptos::current_session().and_then(|s| s.session_id().map(str::to_owned));
    let sessions = shared_auth::leptos::auth()?
        .store()
        .user_sessions(user_id)
        .await?;
    Ok(sessions
        .into_iter()
        .map(|s| SessionInfo {
            current: current.as_deref() == Some(s.id.as_str()),
            id: s.id,
            created_at: s.created_at,
            last_seen_at: s.last_seen_at,
            user_agent: s.user_agent,
        })
        .collect())
}
