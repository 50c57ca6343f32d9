//! Plain forms that islands enhance: the server renders an ordinary
//! `<form method="post" action="/zone/api/…">` that works without
//! JavaScript, and once hydrated [`enhance`] posts the same form with
//! `fetch` and hands the island the server function's decoded answer.
//!
//! This replaces leptos' `ActionForm`/`ServerAction` on purpose: those
//! bring the whole server-function client (`serde_qs`, its codecs, the
//! action's reactive state) into every zone's wasm, 45 KB brotli for one
//! form. The wire format is the server function's own: the form's fields
//! url-encoded (as the browser would send them), `Accept: application/json`
//! so the server answers with JSON instead of redirecting a plain form, the
//! `Ok` value as JSON on success and the zone's error enum as JSON with a
//! 4xx/5xx status on failure (`shared_auth::zone_error!`).

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos::server_fn::error::FromServerFnError;
use serde::de::DeserializeOwned;
use shared_auth::leptos::{AuthError, ZoneError};

/// The class of a form's error line (`role="alert"`), which an island
/// that enhances server-rendered forms writes a refusal into.
pub const FORM_ERROR: &str = "form-error";

/// The class of a form's status line (`role="status"`, visually hidden
/// where the page shows the change itself), which an island that enhances
/// server-rendered forms writes what changed into, for screen readers.
pub const FORM_STATUS: &str = "form-status";

/// A server function's answer, as an island's form gets it.
pub type Answer<S> = Result<<S as ServerFn>::Output, <S as ServerFn>::Error>;

/// An `on:submit` handler for the plain forms of server function `S`
/// (`<form method="post" action=S::PATH>`): it stops the page load, posts
/// the form's fields with `fetch` and calls `done` with the decoded answer.
/// Submits of any other form pass through untouched, so the handler can sit
/// on an element around server-rendered forms (submit events bubble) and
/// several can share one element. While a post is under way `pending` is
/// true and its form is `aria-busy`: the same form submitted again (a
/// double click, Enter twice) is not posted twice, and another form
/// submitted meanwhile is posted plainly, with a page load, never dropped.
/// The button keeps its focus (it is not disabled, which would drop a
/// keyboard user's place). A post that has no answer within
/// [`TIMEOUT_MS`] fails as a network failure. On the server it does
/// nothing.
pub fn enhance<S>(
    pending: RwSignal<bool>,
    done: impl Fn(Answer<S>) + Clone + 'static,
) -> impl Fn(SubmitEvent) + Clone + 'static
where
    S: ServerFn,
    S::Output: DeserializeOwned + 'static,
    S::Error: DeserializeOwned + From<AuthError> + 'static,
{
    move |event: SubmitEvent| {
        #[cfg(feature = "hydrate")]
        {
            use leptos::wasm_bindgen::JsCast;
            let Some(form) = event
                .target()
                .and_then(|target| target.dyn_into::<leptos::web_sys::HtmlFormElement>().ok())
                .filter(|form| form.get_attribute("action").as_deref() == Some(S::PATH))
            else {
                return;
            };
            if form.has_attribute(BUSY) {
                // This very post is under way: a repeat, not a new one.
                event.prevent_default();
                return;
            }
            if pending.get_untracked() {
                // Another of the island's posts is under way: this one goes
                // as the plain post it is (a page load), never dropped.
                return;
            }
            event.prevent_default();
            pending.set(true);
            let _ = form.set_attribute(BUSY, "true");
            let done = done.clone();
            leptos::task::spawn_local(async move {
                let answer = post::<S::Output, S::Error>(&form).await;
                let _ = form.remove_attribute(BUSY);
                pending.set(false);
                done(answer);
            });
        }
        #[cfg(not(feature = "hydrate"))]
        {
            let _ = (event, pending, &done);
        }
    }
}

/// The message of the error a plain form post of `S` came back with
/// (leptos sends the browser back to the form's page with it in the query),
/// for the page's server render: it shows without JavaScript. An island
/// gets it as a prop, so its first state agrees with the server's HTML.
///
/// The query is anyone's to write: a link can carry any error. Only the
/// zone's own messages are shown; free text (a transport error, or what
/// does not decode) becomes one fixed sentence.
pub fn plain_post_error<S>() -> Option<String>
where
    S: ServerFn,
    S::Error: FromServerFnError + ZoneError,
{
    #[cfg(feature = "ssr")]
    {
        use leptos::server::ServerActionError;
        use leptos::server_fn::error::ServerFnUrlError;
        let error = use_context::<ServerActionError>()?;
        if error.path() != S::PATH {
            return None;
        }
        let error = ServerFnUrlError::<S::Error>::decode_err(error.err());
        Some(match error.auth() {
            Some(AuthError::Transport(_)) => PLAIN_POST_FAILED.to_owned(),
            _ => error.to_string(),
        })
    }
    #[cfg(not(feature = "ssr"))]
    {
        None
    }
}

/// What a failed plain post whose error is not the zone's own says.
pub const PLAIN_POST_FAILED: &str = "That did not work. Please try again.";

/// Posts `form` and decodes the answer. Only the decoding is generic: the
/// request itself is one function for every form (wasm size).
#[cfg(feature = "hydrate")]
async fn post<T, E>(form: &leptos::web_sys::HtmlFormElement) -> Result<T, E>
where
    T: DeserializeOwned,
    E: DeserializeOwned + From<AuthError>,
{
    match send(form).await {
        Ok((200..=299, body)) => serde_json::from_str(&body).map_err(|_| unreadable()),
        // Not the server function's own answer: the edge's or a proxy's.
        Ok((status, body)) => Err(
            serde_json::from_str(&body).unwrap_or_else(|_| match status {
                502..=504 => AuthError::Unavailable.into(),
                _ => unreadable(),
            }),
        ),
        Err(failure) => Err(failure.into()),
    }
}

/// The form's fields url-encoded to its action; the answer's status and
/// body.
#[cfg(feature = "hydrate")]
async fn send(form: &leptos::web_sys::HtmlFormElement) -> Result<(u16, String), AuthError> {
    use leptos::web_sys::{AbortSignal, FormData, UrlSearchParams};

    let transport = |what: &str| AuthError::Transport(what.to_owned());
    let fields = FormData::new_with_form(form)
        .and_then(|data| UrlSearchParams::new_with_str_sequence_sequence(&data))
        .map_err(|_| transport("This form could not be read. Please reload the page."))?;
    let response = gloo_net::http::Request::post(&form.action())
        .header("Accept", "application/json")
        .abort_signal(Some(&AbortSignal::timeout_with_u32(TIMEOUT_MS)))
        .body(fields)
        .map_err(|_| transport("This form could not be sent. Please reload the page."))?
        .send()
        .await
        .map_err(|_| transport(NETWORK_FAILED))?;
    let body = response
        .text()
        .await
        .map_err(|_| transport(NETWORK_FAILED))?;
    Ok((response.status(), body))
}

/// Set on a form while its post is under way.
#[cfg(feature = "hydrate")]
const BUSY: &str = "aria-busy";

/// How long a post may take before it counts as a network failure.
pub const TIMEOUT_MS: u32 = 30_000;

#[cfg(feature = "hydrate")]
const NETWORK_FAILED: &str = "The network failed. Please try again.";

#[cfg(feature = "hydrate")]
fn unreadable<E: From<AuthError>>() -> E {
    AuthError::Transport("The server's answer could not be read. Please reload the page.".into())
        .into()
}
