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
    // The same checks in one pass, without allocating (this runs on every
    // request; `contains("//")` and `split('/')` were a few per cent of
    // the edge's own instructions on a proxied request).
    if let Some(dot_segment) = plain_dot_segment(path.as_bytes()) {
        if dot_segment {
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

/// For a path with no `%`, no backslash and no doubled slash: whether
/// one of its segments is `.` or `..`. `None` for any other path.
fn plain_dot_segment(path: &[u8]) -> Option<bool> {
    let mut dot_segment = false;
    let mut start = 0;
    let mut previous = 0;
    for (i, &byte) in path.iter().enumerate() {
        match byte {
            b'%' | b'\\' => return None,
            b'/' if previous == b'/' => return None,
            b'/' => {
                dot_segment |= matches!(&path[start..i], b"." | b"..");
                start = i + 1;
            }
            _ => {}
        }
        previous = byte;
    }
    Some(dot_segment || matches!(&path[start..], b"." | b".."))
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

    #[test]
    fn the_one_pass_check_agrees_with_splitting_on_every_short_path() {
        let alphabet = ['/', '.', 'a', '%', '\\'];
        // Every path of up to six of these characters.
        let mut paths = Vec::new();
        let mut length_n = vec![String::new()];
        for _ in 0..6 {
            length_n = length_n
                .iter()
                .flat_map(|path| alphabet.iter().map(move |c| format!("{path}{c}")))
                .collect();
            paths.extend(length_n.iter().cloned());
        }
        for path in &paths {
            let expected = (!path.contains(['%', '\\']) && !path.contains("//"))
                .then(|| path.split('/').any(|s| s == "." || s == ".."));
            assert_eq!(plain_dot_segment(path.as_bytes()), expected, "{path:?}");
        }
    }
}
