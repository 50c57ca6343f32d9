//! Path prefixes, as routes and rate limits name them: `/` or whole
//! segments (`/shop`, `/shop/api`), matched on segment boundaries so
//! `/shop` owns `/shop/cart` but not `/shopping`.

/// Whether `prefix` is `/` or `/`-separated segments with no trailing
/// slash, no empty, dot or percent-encoded segment.
pub fn is_valid(prefix: &str) -> bool {
    if prefix == "/" {
        return true;
    }
    prefix.starts_with('/')
        && !prefix.ends_with('/')
        && !prefix.contains("//")
        && !prefix.contains('%')
        && !prefix
            .split('/')
            .any(|segment| segment == "." || segment == "..")
}

/// Whether `path` is `prefix` or below it.
pub fn matches(prefix: &str, path: &str) -> bool {
    prefix == "/"
        || path
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_match_whole_segments() {
        assert!(matches("/shop", "/shop"));
        assert!(matches("/shop", "/shop/cart"));
        assert!(!matches("/shop", "/shopping"));
        assert!(matches("/", "/anything"));
    }

    #[test]
    fn odd_prefixes_are_refused() {
        for bad in ["shop", "/shop/", "//shop", "/a/../b", "/%2e", "/./x"] {
            assert!(!is_valid(bad), "{bad}");
        }
        for good in ["/", "/shop", "/shop/api"] {
            assert!(is_valid(good), "{good}");
        }
    }
}
