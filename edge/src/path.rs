//! Paths the edge refuses before routing: anything that could reach a zone
//! it does not belong to once some later component decodes or normalises it.

use std::fmt;

/// Why a path was refused (answered 400).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathProblem {
    /// `.` or `..` segments, literal or percent-encoded.
    DotSegment,
    /// An encoded `/` or `\`, or a literal `\`.
    EncodedSeparator,
    /// A path that does not start with `/`.
    NotAbsolute,
    /// Identity's routes for the zones' servers
    /// ([`contracts::zone::IDENTITY_INTERNAL_PREFIX`]), however spelt.
    Internal,
}

impl fmt::Display for PathProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PathProblem::DotSegment => "The address contains `.` or `..` segments.",
            PathProblem::EncodedSeparator => "The address contains an encoded or backward slash.",
            PathProblem::NotAbsolute => "The address is not an absolute path.",
            PathProblem::Internal => "The address is not served to browsers.",
        })
    }
}

/// Accepts only absolute paths without dot segments (also `%2e`-encoded)
/// and without encoded separators (`%2f`, `%5c`) or backslashes. The edge
/// routes on the path as sent, so these are refused rather than decoded.
pub fn check_path(path: &str) -> Result<(), PathProblem> {
    if !path.starts_with('/') {
        return Err(PathProblem::NotAbsolute);
    }
    // Nearly every path: nothing encoded, no backslash, no doubled slash.
    // The same checks without allocating (this runs on every request).
    if !path.bytes().any(|b| b == b'%' || b == b'\\') && !path.contains("//") {
        if path
            .split('/')
            .any(|segment| segment == "." || segment == "..")
        {
            return Err(PathProblem::DotSegment);
        }
        let prefix = contracts::zone::IDENTITY_INTERNAL_PREFIX;
        let internal = path
            .as_bytes()
            .get(..prefix.len())
            .is_some_and(|start| start.eq_ignore_ascii_case(prefix.as_bytes()))
            || path.eq_ignore_ascii_case(prefix.trim_end_matches('/'));
        return if internal {
            Err(PathProblem::Internal)
        } else {
            Ok(())
        };
    }
    let lower = path.to_ascii_lowercase();
    if lower.contains("%2f") || lower.contains("%5c") || path.contains('\\') {
        return Err(PathProblem::EncodedSeparator);
    }
    let dotty = lower.split('/').any(|segment| {
        let decoded = segment.replace("%2e", ".");
        decoded == "." || decoded == ".."
    });
    if dotty {
        return Err(PathProblem::DotSegment);
    }
    if is_internal(&lower) {
        return Err(PathProblem::Internal);
    }
    Ok(())
}

/// Whether `lower` (a lower-cased path) names identity's internal routes,
/// also with percent-encoded letters or doubled slashes: whatever a later
/// component might decode or squeeze, these never leave the edge.
fn is_internal(lower: &str) -> bool {
    let prefix = contracts::zone::IDENTITY_INTERNAL_PREFIX;
    let mut decoded = Vec::with_capacity(lower.len());
    let bytes = lower.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|pair| std::str::from_utf8(pair).ok())
            .and_then(|pair| u8::from_str_radix(pair, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                decoded.push(byte.to_ascii_lowercase());
                i += 3;
            }
            (b'/', _) if decoded.last() == Some(&b'/') => i += 1,
            (byte, _) => {
                decoded.push(byte);
                i += 1;
            }
        }
    }
    decoded.starts_with(prefix.as_bytes()) || decoded == prefix.trim_end_matches('/').as_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_paths_pass() {
        for ok in [
            "/",
            "/shop",
            "/shop/p/enamel-mug",
            "/auth/login",
            "/a.b/c..d/.well-known",
            "/caf%C3%A9",
            "/x%20y",
            "/auth/internals",
            "/shop/auth/internal/x",
        ] {
            assert_eq!(check_path(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn tricks_are_refused() {
        for (bad, problem) in [
            ("/shop/../auth/me", PathProblem::DotSegment),
            ("/shop/./x", PathProblem::DotSegment),
            ("/shop/..", PathProblem::DotSegment),
            ("/shop/%2e%2e/auth", PathProblem::DotSegment),
            ("/shop/.%2E/auth", PathProblem::DotSegment),
            ("/shop/%2E/x", PathProblem::DotSegment),
            ("/shop%2f..%2fauth", PathProblem::EncodedSeparator),
            ("/shop%2Fx", PathProblem::EncodedSeparator),
            ("/shop%5cx", PathProblem::EncodedSeparator),
            ("/shop\\..\\auth", PathProblem::EncodedSeparator),
            ("shop", PathProblem::NotAbsolute),
            ("/auth/internal/session-token", PathProblem::Internal),
            ("/auth/internal", PathProblem::Internal),
            ("/auth//internal/session-token", PathProblem::Internal),
            ("/AUTH/Internal/session-token", PathProblem::Internal),
            ("/auth/%69nternal/session-token", PathProblem::Internal),
            ("/auth%2Finternal/x", PathProblem::EncodedSeparator),
        ] {
            assert_eq!(check_path(bad), Err(problem), "{bad}");
        }
    }
}
