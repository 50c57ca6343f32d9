//! The axum side: [`Auth`] (store + settings), the session layer that
//! resolves the cookie once per request, the extractors, and the helpers
//! every zone uses for redirects and `/…/me`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{FromRequestParts, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use http::request::Parts;
use http::{StatusCode, Uri, header};

use crate::config::AuthConfig;
use crate::cookie::Cookies;
use crate::return_to::login_href;
use crate::session_token::Claims;
use crate::store::{Session, SessionPolicy, Store, Validated};
use crate::token_trust::TokenTrust;
use contracts::{MeResponse, User, Zone};

/// Everything a zone needs to know about sessions. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Auth {
    store: Store,
    config: Arc<AuthConfig>,
    tokens: Option<Arc<TokenTrust>>,
}

impl Auth {
    pub fn new(store: Store, config: AuthConfig) -> Self {
        Self {
            store,
            config: Arc::new(config),
            tokens: None,
        }
    }

    /// Token mode: the session layer trusts session tokens that pass
    /// `trust` and reads the store only for the others.
    pub fn with_token_trust(mut self, trust: Arc<TokenTrust>) -> Self {
        self.tokens = Some(trust);
        self
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn config(&self) -> &AuthConfig {
        &self.config
    }

    pub fn policy(&self) -> SessionPolicy {
        SessionPolicy {
            ttl: self.config.session_ttl(),
            max_age: self.config.session_max_age(),
        }
    }

    /// The cookies of this deployment (names follow the public origin).
    pub fn cookies(&self) -> Cookies {
        self.config.cookies()
    }

    /// `Set-Cookie` value that removes the session cookie.
    pub fn clear_cookie(&self) -> header::HeaderValue {
        self.cookies().clear_session()
    }
}

/// `Cache-Control` of every response to a signed-in request.
pub const PRIVATE_NO_STORE: &str = "private, no-store";

/// What the session layer found for this request, in its extensions.
#[derive(Clone, Debug, Default)]
pub struct CurrentSession(Option<SignedIn>);

/// A signed-in request: its user and session, from the store or from a
/// session token identity signed.
#[derive(Clone, Debug)]
struct SignedIn {
    user: User,
    session_id: String,
    /// The session's row, when the store was read for this request.
    row: Option<Session>,
}

impl CurrentSession {
    /// Nobody signed in.
    pub fn anonymous() -> Self {
        Self(None)
    }

    /// The session the store resolved.
    pub fn from_store(validated: Validated) -> Self {
        Self(Some(SignedIn {
            user: validated.user,
            session_id: validated.session.id.clone(),
            row: Some(validated.session),
        }))
    }

    /// The session a trusted session token speaks for (no store read).
    pub fn from_token(claims: &Claims) -> Self {
        Self(Some(SignedIn {
            user: User {
                id: claims.sub.clone(),
                username: claims.username.clone(),
                display_name: claims.name.clone(),
            },
            session_id: claims.sid.clone(),
            row: None,
        }))
    }

    pub fn user(&self) -> Option<&User> {
        self.0.as_ref().map(|s| &s.user)
    }

    /// Id of the session the request came with.
    pub fn session_id(&self) -> Option<&str> {
        self.0.as_ref().map(|s| s.session_id.as_str())
    }

    /// The session's row, when the store was read for this request.
    pub fn session_row(&self) -> Option<&Session> {
        self.0.as_ref().and_then(|s| s.row.as_ref())
    }
}

/// The session layer: `axum::middleware::from_fn_with_state(auth, session_layer)`.
///
/// In token mode the request's session token decides, and identity is
/// asked for a fresh one when it cannot (see [`crate::token_trust`]); the
/// rest of this description is the store mode's, and holds for both.
///
/// Resolves the cookie once, stores [`CurrentSession`] in the request
/// extensions, re-issues the cookie when the session was extended, and
/// clears a cookie whose session is gone (expired, signed out, forged).
/// A request carrying the cookie twice is anonymous and nothing is cleared
/// (see [`crate::cookie::unique_token`]). Every response to a signed-in
/// request is `Cache-Control: private, no-store`: no shared cache and no
/// back/forward cache may show it to anyone else, or after sign-out.
/// A store failure answers 503 rather than treating the user as anonymous.
pub async fn session_layer(State(auth): State<Auth>, mut request: Request, next: Next) -> Response {
    let cookies = auth.cookies();
    if let Some(trust) = &auth.tokens {
        let resolved = trust.resolve(request.headers()).await;
        let signed_in = resolved.current.user().is_some();
        // The cookies' values, for after the handler (should it change the
        // session); two short copies, only when there are cookies.
        let ending = (
            cookies.session_token(request.headers()).map(str::to_owned),
            cookies
                .session_jwt_value(request.headers())
                .map(str::to_owned),
        );
        request.extensions_mut().insert(resolved.current);
        let mut response = next.run(request).await;
        // The handler changed the session (a sign-out, a sign-in, a rotation,
        // a token re-issued after a profile change): this process forgets
        // what it kept for the cookies the request came with, at once, not
        // at its next read of the revocation log. So a request of the same
        // page still carrying the old token never gets a refresh read
        // before the change (whose cookie could overwrite the new token).
        if (ending.0.is_some() || ending.1.is_some()) && changes_session(&response, cookies) {
            trust.forget(ending.0.as_deref(), ending.1.as_deref());
        }
        finish(&mut response, cookies, signed_in, resolved.set_cookies);
        return response;
    }
    let token = cookies.session_token(request.headers()).map(str::to_owned);
    let mut set_cookie = None;
    let current = match token {
        None => None,
        Some(token) => match auth.store.validate_session(&token, auth.policy()).await {
            Ok(Some(validated)) => {
                if validated.renewed {
                    set_cookie = Some(cookies.session(&token, validated.session.remaining_secs()));
                }
                Some(validated)
            }
            Ok(None) => {
                set_cookie = Some(auth.clear_cookie());
                None
            }
            Err(err) => {
                tracing::error!("session lookup failed: {err}");
                return (
                    StatusCode::SERVICE_UNAVAILABLE,
                    [(header::RETRY_AFTER, "5")],
                    "The session store is unavailable. Please try again in a moment.",
                )
                    .into_response();
            }
        },
    };
    let signed_in = current.is_some();
    request
        .extensions_mut()
        .insert(current.map_or_else(CurrentSession::anonymous, CurrentSession::from_store));
    let mut response = next.run(request).await;
    finish(
        &mut response,
        cookies,
        signed_in,
        set_cookie.into_iter().collect(),
    );
    response
}

/// Whether `response` sets either session cookie (a sign-in, a sign-out,
/// a rotation, a re-issued token): the handler changed the session.
fn changes_session(response: &Response, cookies: Cookies) -> bool {
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .any(|value| cookies.is_session(value))
}

/// Marks a signed-in response private (and drops any `CDN-Cache-Control`)
/// and adds the layer's cookies (a
/// refreshed token, an extended or cleared session), unless the handler
/// changed the session itself (a sign-in, a sign-out, a rotation, a
/// re-issued token): the handler's cookies are the newer truth, and a
/// cookie of the layer's for the session before would contradict them. A
/// response that sets a cookie is private too: no shared cache may hand
/// one browser's cookie change to another.
fn finish(
    response: &mut Response,
    cookies: Cookies,
    signed_in: bool,
    set_cookies: Vec<header::HeaderValue>,
) {
    let handler_changed_session = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .any(|value| cookies.is_session(value));
    let add_cookies = !set_cookies.is_empty() && !handler_changed_session;
    if signed_in || add_cookies {
        response.headers_mut().insert(
            header::CACHE_CONTROL,
            header::HeaderValue::from_static(PRIVATE_NO_STORE),
        );
        // A page marked public for shared caches (rendered before the
        // session turned out to be dead) is not public any more: an RFC 9213
        // CDN would read that header before this one.
        response
            .headers_mut()
            .remove(contracts::cache::CDN_CACHE_CONTROL);
    }
    if add_cookies {
        for cookie in set_cookies {
            response.headers_mut().append(header::SET_COOKIE, cookie);
        }
    }
}

/// Rejection when the session layer is not installed: a bug, said plainly.
#[derive(Debug)]
pub struct MissingLayer;

impl IntoResponse for MissingLayer {
    fn into_response(self) -> Response {
        tracing::error!("shared_auth::session_layer is not installed on this router");
        (StatusCode::INTERNAL_SERVER_ERROR, "Internal error").into_response()
    }
}

/// The signed-in user, if any.
#[derive(Clone, Debug)]
pub struct MaybeUser(pub Option<User>);

impl<S: Send + Sync> FromRequestParts<S> for MaybeUser {
    type Rejection = MissingLayer;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let current = parts
            .extensions
            .get::<CurrentSession>()
            .ok_or(MissingLayer)?;
        Ok(Self(current.user().cloned()))
    }
}

/// The signed-in user; anonymous API calls get `401 {"error":"unauthenticated"}`.
#[derive(Clone, Debug)]
pub struct RequireUser(pub User);

/// Rejection of [`RequireUser`].
#[derive(Debug)]
pub enum RequireUserRejection {
    MissingLayer,
    Unauthenticated,
}

impl IntoResponse for RequireUserRejection {
    fn into_response(self) -> Response {
        match self {
            Self::MissingLayer => MissingLayer.into_response(),
            Self::Unauthenticated => (
                StatusCode::UNAUTHORIZED,
                Json(serde_json::json!({ "error": "unauthenticated" })),
            )
                .into_response(),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RequireUser {
    type Rejection = RequireUserRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let current = parts
            .extensions
            .get::<CurrentSession>()
            .ok_or(RequireUserRejection::MissingLayer)?;
        current
            .user()
            .cloned()
            .map(Self)
            .ok_or(RequireUserRejection::Unauthenticated)
    }
}

/// `/auth/login?return_to=<path and query of uri>`: where a protected page
/// sends an anonymous visitor. Slashes stay readable; every other
/// character outside the URL-safe set is percent-encoded.
pub fn login_url(uri: &Uri) -> String {
    login_href(uri.path_and_query().map_or("/", |pq| pq.as_str()))
}

/// A `302 Found` redirect to [`login_url`].
pub fn login_redirect(uri: &Uri) -> Response {
    found(&login_url(uri))
}

/// A `302 Found` to `location` (a path on this origin).
pub fn found(location: &str) -> Response {
    match header::HeaderValue::from_str(location) {
        Ok(value) => (StatusCode::FOUND, [(header::LOCATION, value)]).into_response(),
        Err(_) => Redirect::to("/").into_response(),
    }
}

/// Marks a response whose `Location` may leave the origin (identity's
/// redirects to the OpenID provider). Every other off-origin `Location`
/// is rewritten to `/` by [`crate::guard::keep_location_on_origin`].
#[derive(Clone, Copy, Debug)]
pub struct ExternalRedirect;

/// A `302 Found` to an absolute URL on another origin (the identity
/// provider), marked so the Location guard lets it through.
pub fn found_external(url: &str) -> Response {
    let mut response = match header::HeaderValue::from_str(url) {
        Ok(value) => (StatusCode::FOUND, [(header::LOCATION, value)]).into_response(),
        Err(_) => return Redirect::to("/").into_response(),
    };
    response.extensions_mut().insert(ExternalRedirect);
    response
}

/// `GET /…/me` for `zone`: the shared JSON shape.
pub async fn me(zone: Zone, MaybeUser(user): MaybeUser) -> Response {
    let mut response =
        Json(MeResponse::new(zone, user.as_ref().map(User::summary))).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_url_carries_the_encoded_return_path() {
        let url = |s: &str| login_url(&s.parse::<Uri>().unwrap());
        assert_eq!(url("/shop/orders"), "/auth/login?return_to=/shop/orders");
        assert_eq!(
            url("/shop/orders?page=2&sort=new"),
            "/auth/login?return_to=/shop/orders%3Fpage%3D2%26sort%3Dnew"
        );
        assert_eq!(url("/caf%C3%A9"), "/auth/login?return_to=/caf%25C3%25A9");
    }

    #[test]
    fn found_is_a_302() {
        let response = found("/auth/login?return_to=/shop");
        assert_eq!(response.status(), StatusCode::FOUND);
        assert_eq!(
            response.headers()[header::LOCATION],
            "/auth/login?return_to=/shop"
        );
    }
}
