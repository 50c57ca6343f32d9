//! The names of the cookies more than one part of the app set reads: the
//! session cookie (every zone reads it, only identity sets it) and
//! identity's login cookie. Their attributes are set in one place,
//! `shared_auth::cookie`.

/// Name of the session cookie on a plain-http origin (development).
pub const SESSION: &str = "auth.session-token";
/// Name of the session cookie on an https origin. `__Host-` makes the
/// browser refuse it unless it is `Secure`, `Path=/` and has no `Domain`,
/// so a sibling subdomain cannot toss one in.
pub const SECURE_SESSION: &str = "__Host-auth.session-token";

/// Name of identity's login cookie on a plain-http origin: it binds one
/// sign-in attempt (its OIDC `state`) to the browser that started it.
pub const LOGIN: &str = "auth.login";
/// Name of the login cookie on an https origin.
pub const SECURE_LOGIN: &str = "__Host-auth.login";

/// Name of the session-token cookie on a plain-http origin: identity's
/// short-lived signed statement of the session (a JWT), beside the
/// session cookie.
pub const SESSION_JWT: &str = "auth.session-jwt";
/// Name of the session-token cookie on an https origin.
pub const SECURE_SESSION_JWT: &str = "__Host-auth.session-jwt";

/// The session-token cookie's name on an https (`secure`) or plain-http origin.
pub const fn session_jwt(secure: bool) -> &'static str {
    if secure {
        SECURE_SESSION_JWT
    } else {
        SESSION_JWT
    }
}

/// The session cookie's name on an https (`secure`) or plain-http origin.
pub const fn session(secure: bool) -> &'static str {
    if secure { SECURE_SESSION } else { SESSION }
}

/// The login cookie's name on an https (`secure`) or plain-http origin.
pub const fn login(secure: bool) -> &'static str {
    if secure { SECURE_LOGIN } else { LOGIN }
}
