//! `/auth/error?reason=…`: where every failed sign-in lands, with a message
//! that says what happened and what to do, and a 400 status.

use contracts::zone::AuthPath;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use shared_ui::document::page_title;

/// Why a sign-in failed. Only these codes ever appear in the URL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// The callback's `state` is unknown, used or expired.
    StateMismatch,
    /// The callback lacks `code` or `state`.
    BadCallback,
    /// The user cancelled at the provider.
    Denied,
    /// The provider reported an error.
    ProviderError,
    /// Discovery or the provider's endpoints could not be reached.
    ProviderUnavailable,
    /// The provider refused to exchange the code.
    CodeRejected,
    /// The id_token was missing or failed validation.
    InvalidIdToken,
    /// The session store failed.
    Unavailable,
}

impl Reason {
    const ALL: [Reason; 8] = [
        Reason::StateMismatch,
        Reason::BadCallback,
        Reason::Denied,
        Reason::ProviderError,
        Reason::ProviderUnavailable,
        Reason::CodeRejected,
        Reason::InvalidIdToken,
        Reason::Unavailable,
    ];

    pub const fn code(self) -> &'static str {
        match self {
            Reason::StateMismatch => "state",
            Reason::BadCallback => "callback",
            Reason::Denied => "denied",
            Reason::ProviderError => "provider",
            Reason::ProviderUnavailable => "provider-unavailable",
            Reason::CodeRejected => "code",
            Reason::InvalidIdToken => "id-token",
            Reason::Unavailable => "unavailable",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.code() == code)
    }

    fn message(self) -> &'static str {
        match self {
            Reason::StateMismatch => {
                "This sign-in link was already used or has expired. Sign-in links work once and \
                 only for ten minutes; please start again."
            }
            Reason::BadCallback => {
                "The identity provider sent an incomplete answer. Please start again."
            }
            Reason::Denied => "Sign-in was cancelled at the identity provider.",
            Reason::ProviderError => "The identity provider reported an error. Please try again.",
            Reason::ProviderUnavailable => {
                "The identity provider cannot be reached right now. Please try again in a moment."
            }
            Reason::CodeRejected => {
                "The identity provider did not accept the sign-in (it may have been used already). \
                 Please start again."
            }
            Reason::InvalidIdToken => {
                "The identity provider's answer could not be verified, so you were not signed in."
            }
            Reason::Unavailable => {
                "The sign-in service is temporarily unavailable. Please try again."
            }
        }
    }
}

#[component]
pub fn SignInErrorPage() -> impl IntoView {
    let query = use_query_map();
    let reason = query
        .with_untracked(|q| q.get("reason"))
        .as_deref()
        .and_then(Reason::from_code);
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::BAD_REQUEST);
    }
    let message = reason.map_or(
        "Sign-in did not complete. Please try again.",
        Reason::message,
    );
    view! {
        <Title text=page_title("Sign-in failed") />
        <section class="hero hero--quiet">
            <p class="eyebrow">"Sign-in"</p>
            <h1>"Sign-in did not complete"</h1>
            <p class="lead" data-reason=reason.map(Reason::code)>{message}</p>
            <p>
                <a class="button" href=AuthPath::Login.path() rel="external">"Try again"</a>
            </p>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for reason in Reason::ALL {
            assert_eq!(Reason::from_code(reason.code()), Some(reason));
        }
        assert_eq!(Reason::from_code("<script>"), None);
    }
}
