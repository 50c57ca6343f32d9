//! How a zone tells the edge a response may be cached: `Cache-Control`
//! (`public, max-age=N` or `s-maxage=N`), or RFC 9213's targeted
//! [`CDN_CACHE_CONTROL`], which the edge reads first, so a zone can give
//! shared caches lifetimes it does not give browsers. `private` or
//! `no-store` in `Cache-Control` forbids caching whatever the targeted
//! header says.

/// RFC 9213's `CDN-Cache-Control`: `Cache-Control` for CDNs (the edge).
pub const CDN_CACHE_CONTROL: &str = "cdn-cache-control";

/// `Cache-Tag`: the zone's names for what a response shows (space- or
/// comma-separated), so `POST /_edge/purge {"tag": …}` can drop them.
pub const CACHE_TAG: &str = "cache-tag";
