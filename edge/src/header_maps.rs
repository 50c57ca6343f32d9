//! Header maps reused on each thread. A parsed head's map (the client's
//! request, the zone's response) was two allocations, and at the capacity
//! a head needs they were past the allocator's small-size fast path: four
//! allocations and frees per proxied request, about 3% of the edge's own
//! instructions (callgrind). The maps the edge's own HTTP/1.1 sides make
//! are given back, cleared, where the edge is done with them, and the next
//! head takes one. Cleared means empty: nothing of one message is seen by
//! the next.

use std::cell::RefCell;

use http::HeaderMap;

/// Maps kept per thread at most; more are freed.
const KEPT: usize = 64;
/// A map that grew past this many headers (a head far larger than a
/// browser's) is freed rather than kept.
const MAX_KEPT_CAPACITY: usize = 96;

thread_local! {
    static SPARE: RefCell<Vec<HeaderMap>> = const { RefCell::new(Vec::new()) };
}

/// An empty map with room for at least `capacity` headers: a kept one
/// when there is one.
pub fn take(capacity: usize) -> HeaderMap {
    match SPARE.with_borrow_mut(Vec::pop) {
        Some(mut map) => {
            map.reserve(capacity);
            map
        }
        None => HeaderMap::with_capacity(capacity),
    }
}

/// Clears `map` and keeps it for a later head.
pub fn give_back(mut map: HeaderMap) {
    if map.capacity() > MAX_KEPT_CAPACITY {
        return;
    }
    map.clear();
    SPARE.with_borrow_mut(|spare| {
        if spare.len() < KEPT {
            spare.push(map);
        }
    });
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    #[test]
    fn a_map_given_back_comes_back_empty_with_its_room() {
        let mut map = take(8);
        map.insert("x-secret", HeaderValue::from_static("one request's"));
        map.append("x-secret", HeaderValue::from_static("and another"));
        let room = map.capacity();
        give_back(map);
        let again = take(4);
        assert!(again.is_empty());
        assert!(again.get("x-secret").is_none());
        assert_eq!(again.keys_len(), 0);
        assert!(again.capacity() >= room.min(4));
    }

    #[test]
    fn the_spares_are_bounded_in_number_and_size() {
        let mut huge = HeaderMap::with_capacity(4 * MAX_KEPT_CAPACITY);
        huge.insert("a", HeaderValue::from_static("b"));
        give_back(huge);
        for _ in 0..2 * KEPT {
            give_back(HeaderMap::with_capacity(8));
        }
        let kept = SPARE.with_borrow(|spare| {
            assert!(spare.iter().all(|map| map.capacity() <= MAX_KEPT_CAPACITY));
            spare.len()
        });
        assert_eq!(kept, KEPT);
    }
}
