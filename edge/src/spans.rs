//! Where a parsed head's header names and values lie in its buffer, as
//! (name start, name end, value start, value end): recorded while
//! `httparse`'s borrow of the buffer lasts, then turned into slices of the
//! frozen head (values shared, not copied).
//!
//! Kept inline up to [`INLINE`] headers: an array sized for the most a
//! head may have was zeroed on every request and response (6 KB of
//! `memset` per proxied request), and a heap vector would be an allocation
//! each. More headers than that spill to the heap.

use smallvec::SmallVec;

/// Headers held without allocating: more than browsers and the zones send.
pub const INLINE: usize = 24;

/// The spans of one head's headers, in order.
pub type Spans = SmallVec<[(usize, usize, usize, usize); INLINE]>;
