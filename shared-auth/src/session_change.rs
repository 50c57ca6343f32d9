//! Changing who a browser is signed in as: sign in, sign out, rotate. Each
//! starts from the session the layer resolved for this request
//! ([`CurrentSession`]), so no handler parses the cookie itself, and ends
//! in a [`SessionChange`] that puts the cookie (set or cleared) and
//! `Cache-Control: private, no-store` on the response. Only identity signs in and
//! out; the functions live here so that the cookie, its attributes and the
//! fixation rule are written once.

use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, header};

use crate::auth::{Auth, CurrentSession, PRIVATE_NO_STORE};
use crate::store::{NewSession, Session, StoreError};
use contracts::User;

/// A session started or ended for this browser, to hand over with the
/// response ([`SessionChange::respond`]). A new session's token is only
/// in here, on its way to the browser: no handler ever holds it.
#[derive(Debug)]
#[must_use = "the browser only learns of the change from the response"]
pub struct SessionChange {
    set_cookies: Vec<HeaderValue>,
}

impl SessionChange {
    /// `response` with the session cookie set (or cleared) and
    /// `Cache-Control: private, no-store`: a response that changes who you
    /// are is never stored, by any cache.
    pub fn respond(self, response: impl IntoResponse) -> Response {
        let mut response = response.into_response();
        let headers = response.headers_mut();
        for cookie in self.set_cookies {
            headers.append(header::SET_COOKIE, cookie);
        }
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(PRIVATE_NO_STORE),
        );
        response
    }
}

impl Auth {
    /// Signs `user` in on the browser of `current`: the session the layer
    /// resolved for this request (if any) is ended and a fresh one starts,
    /// so no session planted in or left on the browser survives a sign-in
    /// (no session fixation).
    pub async fn sign_in(
        &self,
        current: &CurrentSession,
        user: &User,
        user_agent: Option<&str>,
    ) -> Result<(Session, SessionChange), StoreError> {
        if let Some(old) = current.session_id() {
            self.store().delete_session(old).await?;
        }
        self.start_session(user, user_agent).await
    }

    /// Ends the session the layer resolved and the one the request's
    /// session cookie names (the same one, unless the layer could not ask:
    /// in token mode an identity that cannot answer leaves the request
    /// anonymous, and a token may name another session than the cookie).
    /// The rows are deleted, so every zone sees it at once; the cookie and
    /// the session token are cleared. A store that cannot delete is an
    /// error (the caller answers 503): a sign-out never seems to work
    /// while the session lives on.
    pub async fn sign_out(
        &self,
        current: &CurrentSession,
        headers: &HeaderMap,
    ) -> Result<SessionChange, StoreError> {
        if let Some(id) = current.session_id() {
            self.store().delete_session(id).await?;
        }
        if let Some(token) = self.cookies().session_token(headers) {
            self.store().delete_session_by_token(token).await?;
        }
        let cookies = self.cookies();
        Ok(SessionChange {
            set_cookies: vec![cookies.clear_session(), cookies.clear_session_jwt()],
        })
    }

    /// Gives the signed-in user of `current` a new session id and token
    /// and ends the old one (after a change of privilege, so a token seen
    /// before it is worth nothing). The new session ends no later than the
    /// old one would have (rotation never stretches a sign-in's absolute
    /// lifetime); whatever a zone keeps under the old session's id is its
    /// own to move (identity's id_token for sign-out). `None` when the
    /// request is anonymous.
    pub async fn rotate(
        &self,
        current: &CurrentSession,
        user_agent: Option<&str>,
    ) -> Result<Option<(Session, SessionChange)>, StoreError> {
        let Some(id) = current.session_id() else {
            return Ok(None);
        };
        let row = match current.session_row() {
            Some(row) => Some(row.clone()),
            None => self.store().session(id).await?,
        };
        let Some(row) = row else {
            return Ok(None);
        };
        let new = self
            .store()
            .replace_session(&row, user_agent, self.policy())
            .await?;
        Ok(Some(self.hand_over(new)))
    }

    async fn start_session(
        &self,
        user: &User,
        user_agent: Option<&str>,
    ) -> Result<(Session, SessionChange), StoreError> {
        let new = self
            .store()
            .create_session(&user.id, user_agent, self.policy())
            .await?;
        Ok(self.hand_over(new))
    }

    /// The new session, and the change that gives its token to the browser.
    fn hand_over(&self, NewSession { token, session }: NewSession) -> (Session, SessionChange) {
        let set_cookie = self.cookies().session(&token, session.remaining_secs());
        (
            session,
            SessionChange {
                set_cookies: vec![set_cookie],
            },
        )
    }

    /// `change` with the session token `jwt` handed over too, for
    /// `max_age_secs` (identity signs it for the session just started).
    pub fn with_session_jwt(
        &self,
        mut change: SessionChange,
        jwt: &str,
        max_age_secs: i64,
    ) -> SessionChange {
        change
            .set_cookies
            .push(self.cookies().session_jwt(jwt, max_age_secs));
        change
    }
}
