//! The Leptos side: the same user for components during SSR and for server
//! functions, in one line, plus the error type server functions return.
//!
//! The session layer has already resolved the cookie; these helpers read
//! its result from the request `Parts` that leptos_axum puts in context.
//! In the browser build they compile but find no request (islands never
//! run them there).

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

use contracts::User;

use crate::return_to::login_href;

/// Why a server function refused to run for a reason that is not its
/// zone's own business: no signed-in user, a cross-site request, the store
/// down, or the transport failing. A zone's error type wraps it once
/// (`Auth(#[from] AuthError)`, `#[serde(untagged)]` so the wire format is
/// this type's own) and its status is defined here, in [`AuthError::status`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AuthError {
    /// No signed-in user. `login_url` signs in and comes back to the
    /// zone's home page.
    #[error("Please sign in to continue.")]
    Unauthenticated { login_url: String },
    /// A mutation whose `Origin` is not the site's own (refused by
    /// [`crate::guard::refuse_cross_site`] before any handler runs).
    #[error("This request did not come from this site and was refused.")]
    CrossOrigin,
    /// The store failed (details are logged, not shown).
    #[error("The service is temporarily unavailable. Please try again.")]
    Unavailable,
    /// The server-function machinery failed (network, decoding).
    #[error("{0}")]
    Transport(String),
}

impl FromServerFnError for AuthError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        Self::Transport(value.to_string())
    }
}

/// A zone's error type as [`zone_error!`] makes it: the zone's own refusals
/// plus an `Auth(AuthError)` variant.
pub trait ZoneError: From<AuthError> + std::fmt::Display {
    /// The shared-auth refusal inside, if this is one.
    fn auth(&self) -> Option<&AuthError>;
}

/// The signed-in user of the current request, during SSR or in a server
/// function. `None` when anonymous (or in the browser).
pub fn session_user() -> Option<User> {
    #[cfg(feature = "server")]
    {
        server::current_session().and_then(|s| s.user().cloned())
    }
    #[cfg(not(feature = "server"))]
    {
        None
    }
}

/// The signed-in user for this server function call, or
/// [`AuthError::Unauthenticated`]: a server function that needs a session
/// starts with `let user = require_user()?;`.
pub fn require_user() -> Result<User, AuthError> {
    session_user().ok_or_else(AuthError::unauthenticated)
}

impl AuthError {
    /// [`AuthError::Unauthenticated`] with the sign-in link of the zone
    /// running this call.
    pub fn unauthenticated() -> Self {
        Self::Unauthenticated {
            login_url: login_href(&zone_home()),
        }
    }
}

/// The home page of the zone running this call (`/` outside a zone).
fn zone_home() -> String {
    #[cfg(feature = "server")]
    if let Some(zone) = leptos::prelude::use_context::<contracts::Zone>() {
        return zone.home().to_owned();
    }
    "/".to_owned()
}

/// For a protected page: the signed-in user, or `None` after setting a 302
/// to `/auth/login?return_to=<this page>` on the SSR response.
pub fn require_user_page() -> Option<User> {
    let user = session_user();
    #[cfg(feature = "server")]
    if user.is_none()
        && let Some(parts) = leptos::prelude::use_context::<http::request::Parts>()
        && let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>()
        && let Ok(location) = http::HeaderValue::from_str(&crate::auth::login_url(&parts.uri))
    {
        // A page redirect is a 302 whatever the client accepts
        // (leptos_axum::redirect only sets it for Accept: text/html).
        response.set_status(http::StatusCode::FOUND);
        response.insert_header(http::header::LOCATION, location);
    }
    user
}

#[cfg(feature = "server")]
pub use server::*;

#[cfg(feature = "server")]
mod server {
    use http::request::Parts;
    use leptos::prelude::use_context;

    use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
    use leptos::server_fn::{Bytes, Encodes as _};

    use super::AuthError;
    use crate::auth::{Auth, CurrentSession};
    use crate::token_issuer::TokenIssuer;

    /// What the session layer found for the request being rendered.
    pub fn current_session() -> Option<CurrentSession> {
        use_context::<Parts>()?
            .extensions
            .get::<CurrentSession>()
            .cloned()
    }

    /// The zone's [`Auth`] (store and settings), provided by the zone runtime.
    pub fn auth() -> Result<Auth, AuthError> {
        use_context::<Auth>().ok_or_else(|| {
            tracing::error!("shared_auth::Auth is not in the Leptos context");
            AuthError::Unavailable
        })
    }

    /// For a mutation that a plain HTML form posted (no JavaScript yet: the
    /// browser accepts `text/html`), answers with a 302 to `location`
    /// instead of leptos' default redirect back to the form's page. Calls
    /// from islands (`fetch`) are left alone; they act on the result.
    pub fn redirect_plain_form(location: &str) {
        if is_plain_form_post()
            && let Some(response) = use_context::<leptos_axum::ResponseOptions>()
            && let Ok(location) = http::HeaderValue::from_str(location)
        {
            response.set_status(http::StatusCode::FOUND);
            response.insert_header(http::header::LOCATION, location);
        }
    }

    /// Whether the request being run is a plain HTML form post (the browser
    /// accepts `text/html`, as leptos itself decides) rather than `fetch`.
    fn is_plain_form_post() -> bool {
        use_context::<Parts>().is_some_and(|parts| {
            parts
                .headers
                .get(http::header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.contains("text/html"))
        })
    }

    /// Gives a failed server-function call made with `fetch` a meaningful
    /// status (401, 403, 404, 400…) instead of the default 500. A plain
    /// form post keeps leptos' redirect back to the form, which shows the
    /// error.
    pub fn set_error_status(status: http::StatusCode) {
        let fetch = use_context::<Parts>().is_some() && !is_plain_form_post();
        if fetch && let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(status);
        }
    }

    /// A server function's error type that knows the HTTP status a
    /// `fetch` caller should get for it.
    pub trait ErrorStatus {
        fn status(&self) -> http::StatusCode;
    }

    impl ErrorStatus for AuthError {
        fn status(&self) -> http::StatusCode {
            self.status()
        }
    }

    impl AuthError {
        /// The HTTP status of a call refused for this reason.
        pub fn status(&self) -> http::StatusCode {
            use http::StatusCode;
            match self {
                Self::Unauthenticated { .. } => StatusCode::UNAUTHORIZED,
                Self::CrossOrigin => StatusCode::FORBIDDEN,
                Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
                Self::Transport(_) => StatusCode::BAD_REQUEST,
            }
        }
    }

    impl From<crate::store::StoreError> for AuthError {
        fn from(err: crate::store::StoreError) -> Self {
            tracing::error!("store error: {err}");
            Self::Unavailable
        }
    }

    /// A zone error's `FromServerFnError::ser` on the server: encodes the
    /// error and gives the response its status ([`set_error_status`]).
    /// leptos encodes a failed call's error inside the call's own context,
    /// so this is the one place every server function's failure gets its
    /// status; no server function sets one by hand.
    pub fn encode_error<E: FromServerFnError + ErrorStatus>(err: &E) -> Bytes {
        set_error_status(err.status());
        E::Encoder::encode(err)
            .or_else(|failure| {
                let fallback = ServerFnErrorErr::Serialization(failure.to_string());
                E::Encoder::encode(&E::from_server_fn_error(fallback))
            })
            .unwrap_or_else(|failure| {
                tracing::error!("cannot encode a server function error: {failure}");
                Bytes::new()
            })
    }

    /// For a page that shows a server function's error where its data
    /// should be: the page gets the error's status, as a failed call
    /// would (for `fetch`-like clients; a browser's page view stays 200
    /// and shows the message).
    pub fn set_page_error_status<E: ErrorStatus>(err: &E) {
        set_error_status(err.status());
    }

    /// After a change to what the session token says (the user's display
    /// name, now `user`): a fresh token for this request's session, set on
    /// this response, so that every zone shows the change from the next
    /// page on, in token mode too. Only identity signs (the runtime puts
    /// its [`TokenIssuer`] in context); anywhere else this does nothing.
    pub async fn reissue_session_token(user: &contracts::User) -> Result<(), AuthError> {
        let (Some(issuer), Some(current)) = (use_context::<TokenIssuer>(), current_session())
        else {
            return Ok(());
        };
        match issuer.reissue(&current, user).await {
            Ok(Some(issued)) => {
                if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
                    let cookie = issuer
                        .auth()
                        .cookies()
                        .session_jwt(&issued.jwt, issued.max_age);
                    response.append_header(http::header::SET_COOKIE, cookie);
                }
                Ok(())
            }
            Ok(None) => Ok(()),
            Err(err) => {
                tracing::error!("cannot re-issue a session token: {err}");
                Err(AuthError::Unavailable)
            }
        }
    }

    /// Adds a `Set-Cookie` to the response of the server function or page
    /// being run.
    pub fn append_set_cookie(cookie: &str) {
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>()
            && let Ok(value) = http::HeaderValue::from_str(cookie)
        {
            response.append_header(http::header::SET_COOKIE, value);
        }
    }
}

/// Makes a zone's error enum a server-function error the same way in
/// every zone: JSON on the wire; a transport failure becomes
/// `Auth(AuthError::Transport)`; on the server (the zone's `ssr` feature)
/// a failed call gets the status of [`ErrorStatus`] through
/// `encode_error`, and a store error becomes `Auth(AuthError::Unavailable)`.
/// The enum needs an `Auth(#[from] AuthError)` variant and, under `ssr`,
/// an `ErrorStatus` impl.
///
/// A macro because the `ssr` switch is the zone's: the generated code is
/// compiled, with its `cfg`, in the zone crate.
#[macro_export]
macro_rules! zone_error {
    ($error:ty) => {
        impl ::leptos::server_fn::error::FromServerFnError for $error {
            type Encoder = ::leptos::server_fn::codec::JsonEncoding;

            fn from_server_fn_error(value: ::leptos::server_fn::error::ServerFnErrorErr) -> Self {
                <$crate::leptos::AuthError as ::leptos::server_fn::error::FromServerFnError>::from_server_fn_error(value).into()
            }

            #[cfg(feature = "ssr")]
            fn ser(&self) -> ::leptos::server_fn::Bytes {
                $crate::leptos::encode_error(self)
            }
        }

        impl $crate::leptos::ZoneError for $error {
            #[allow(unreachable_patterns)]
            fn auth(&self) -> Option<&$crate::leptos::AuthError> {
                match self {
                    Self::Auth(err) => Some(err),
                    _ => None,
                }
            }
        }

        #[cfg(feature = "ssr")]
        impl From<$crate::store::StoreError> for $error {
            fn from(err: $crate::store::StoreError) -> Self {
                Self::Auth(err.into())
            }
        }
    };
}
