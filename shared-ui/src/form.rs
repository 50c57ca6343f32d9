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
use shared_auth::leptos::AuthError;

/// A server function's answer, as an island's form gets it.
pub type Answer<S> = Result<<S as ServerFn>::Output, <S as ServerFn>::Error>;

/// An `on:submit` handler for the plain forms of server function `S`
/// (`<form method="post" action=S::PATH>`): it stops the page load, posts
/// the form's fields with `fetch` and calls `done` with the decoded answer.
/// Submits of any other form pass through untouched, so the handler can sit
/// on an element around server-rendered forms (submit events bubble) and
/// several can share one element. While a post is under way `pending` is
/// true and the button that submitted is disabled; a submit meanwhile is
/// ignored (a double click posts once). On the server it does nothing.
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
            event.prevent_default();
            if pending.get_untracked() {
                return;
            }
            pending.set(true);
            let submitter = event.submitter();
            if let Some(button) = &submitter {
                let _ = button.set_attribute("disabled", "");
            }
            let done = done.clone();
            leptos::task::spawn_local(async move {
                let answer = post::<S::Output, S::Error>(&form).await;
                if let Some(button) = submitter {
                    let _ = button.remove_attribute("disabled");
                }
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

/// The error a plain form post of `S` came back with (leptos sends the
/// browser back to the form's page with it in the query), for the island's
/// first render on the server: the page shows it without JavaScript.
pub fn plain_post_error<S>() -> Option<Answer<S>>
where
    S: ServerFn,
    S::Error: FromServerFnError,
{
    #[cfg(feature = "ssr")]
    {
        use leptos::server::ServerActionError;
        use leptos::server_fn::error::ServerFnUrlError;
        let error = use_context::<ServerActionError>()?;
        (error.path() == S::PATH)
            .then(|| Err(ServerFnUrlError::<S::Error>::decode_err(error.err())))
    }
    #[cfg(not(feature = "ssr"))]
    {
        None
    }
}

/// Posts `form` and decodes the answer. Only the decoding is generic: the
/// request itself is one function for every form (wasm size).
#[cfg(feature = "hydrate")]
async fn post<T, E>(form: &leptos::web_sys::HtmlFormElement) -> Result<T, E>
where
    T: DeserializeOwned,
    E: DeserializeOwned + From<AuthError>,
{
    match send(form).await {
        Ok((true, body)) => serde_json::from_str(&body).map_err(|_| unreadable()),
        Ok((false, body)) => Err(serde_json::from_str(&body).unwrap_or_else(|_| unreadable())),
        Err(failure) => Err(failure.into()),
    }
}

/// The form's fields url-encoded to its action; whether the answer was a
/// success (2xx) and its body.
#[cfg(feature = "hydrate")]
async fn send(form: &leptos::web_sys::HtmlFormElement) -> Result<(bool, String), AuthError> {
    use leptos::web_sys::{FormData, UrlSearchParams};

    let transport = |what: &str| AuthError::Transport(what.to_owned());
    let fields = FormData::new_with_form(form)
        .and_then(|data| UrlSearchParams::new_with_str_sequence_sequence(&data))
        .map_err(|_| transport("This form could not be read. Please reload the page."))?;
    let response = gloo_net::http::Request::post(&form.action())
        .header("Accept", "application/json")
        .body(fields)
        .map_err(|_| transport("This form could not be sent. Please reload the page."))?
        .send()
        .await
        .map_err(|_| transport(NETWORK_FAILED))?;
    let body = response
        .text()
        .await
        .map_err(|_| transport(NETWORK_FAILED))?;
    Ok((response.ok(), body))
}

#[cfg(feature = "hydrate")]
const NETWORK_FAILED: &str = "The network failed. Please try again.";

#[cfg(feature = "hydrate")]
fn unreadable<E: From<AuthError>>() -> E {
    AuthError::Transport("The server's answer could not be read. Please reload the page.".into())
        .into()
}
