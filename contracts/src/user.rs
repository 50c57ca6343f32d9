//! The signed-in user as every zone sees it.

use serde::{Deserialize, Serialize};

use crate::UserSummary;

/// A user of the site (a row of `users`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Stable, opaque id (random, not the provider's subject).
    pub id: String,
    /// The login name the identity provider reported.
    pub username: String,
    /// The name shown in the header; the user can change it.
    pub display_name: String,
}

impl User {
    /// The part of the user that `/…/me` reveals.
    pub fn summary(&self) -> UserSummary {
        UserSummary {
            id: self.id.clone(),
            username: self.username.clone(),
        }
    }
}

/// The longest display name, in characters.
pub const DISPLAY_NAME_MAX_CHARS: usize = 40;

/// Why a display name was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum DisplayNameError {
    #[error("Please enter a name.")]
    Empty,
    #[error("Please use at most {max} characters.", max = DISPLAY_NAME_MAX_CHARS)]
    TooLong,
    #[error("Please use only visible characters (no control or direction-override characters).")]
    Invisible,
}

/// Checks a display name the user typed and returns it trimmed: not
/// empty, at most [`DISPLAY_NAME_MAX_CHARS`], no control characters and no
/// bidirectional overrides (which could make a name render as another).
pub fn validate_display_name(raw: &str) -> Result<String, DisplayNameError> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(DisplayNameError::Empty);
    }
    if name.chars().count() > DISPLAY_NAME_MAX_CHARS {
        return Err(DisplayNameError::TooLong);
    }
    let invisible = |c: char| {
        c.is_control()
            || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
    };
    if name.chars().any(invisible) {
        return Err(DisplayNameError::Invisible);
    }
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_are_trimmed_and_bounded() {
        assert_eq!(
            validate_display_name("  Alice Liddell "),
            Ok("Alice Liddell".into())
        );
        assert_eq!(validate_display_name("Zoë 🦀"), Ok("Zoë 🦀".into()));
        assert_eq!(validate_display_name("   "), Err(DisplayNameError::Empty));
        assert_eq!(validate_display_name(&"é".repeat(40)), Ok("é".repeat(40)));
        assert_eq!(
            validate_display_name(&"é".repeat(41)),
            Err(DisplayNameError::TooLong)
        );
    }

    #[test]
    fn display_names_refuse_invisible_characters() {
        for bad in [
            "a\u{0}b",
            "tab\there",
            "new\nline",
            "evil\u{202E}txt",
            "zero\u{200B}width",
        ] {
            assert_eq!(
                validate_display_name(bad),
                Err(DisplayNameError::Invisible),
                "{bad:?}"
            );
        }
    }
}
