//! Why a sign-in failed: the server's callback decides it, the URL carries
//! its code (`/auth/error?reason=<code>`), and the error page shows its
//! message. Only these codes ever appear in the URL.

/// Why a sign-in failed. Only these codes ever appear in the URL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignInFailure {
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

impl SignInFailure {
    const ALL: [SignInFailure; 8] = [
        SignInFailure::StateMismatch,
        SignInFailure::BadCallback,
        SignInFailure::Denied,
        SignInFailure::ProviderError,
        SignInFailure::ProviderUnavailable,
        SignInFailure::CodeRejected,
        SignInFailure::InvalidIdToken,
        SignInFailure::Unavailable,
    ];

    pub const fn code(self) -> &'static str {
        match self {
            SignInFailure::StateMismatch => "state",
            SignInFailure::BadCallback => "callback",
            SignInFailure::Denied => "denied",
            SignInFailure::ProviderError => "provider",
            SignInFailure::ProviderUnavailable => "provider-unavailable",
            SignInFailure::CodeRejected => "code",
            SignInFailure::InvalidIdToken => "id-token",
            SignInFailure::Unavailable => "unavailable",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.code() == code)
    }

    /// What the error page says: what happened and what to do.
    pub fn message(self) -> &'static str {
        match self {
            SignInFailure::StateMismatch => {
                "This sign-in link was already used or has expired. Sign-in links work once and \
                 only for ten minutes; please start again."
            }
            SignInFailure::BadCallback => {
                "The identity provider sent an incomplete answer. Please start again."
            }
            SignInFailure::Denied => "Sign-in was cancelled at the identity provider.",
            SignInFailure::ProviderError => {
                "The identity provider reported an error. Please try again."
            }
            SignInFailure::ProviderUnavailable => {
                "The identity provider cannot be reached right now. Please try again in a moment."
            }
            SignInFailure::CodeRejected => {
                "The identity provider did not accept the sign-in (it may have been used already). \
                 Please start again."
            }
            SignInFailure::InvalidIdToken => {
                "The identity provider's answer could not be verified, so you were not signed in."
            }
            SignInFailure::Unavailable => {
                "The sign-in service is temporarily unavailable. Please try again."
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for reason in SignInFailure::ALL {
            assert_eq!(SignInFailure::from_code(reason.code()), Some(reason));
        }
        assert_eq!(SignInFailure::from_code("<script>"), None);
    }
}
