//! The cart badge's contract: the shop zone answers [`CART_COUNT_PATH`]
//! (a server function at a stable path) with [`CartBadgeCount`]; the badge
//! island every zone's header renders fetches it through the edge and
//! refetches on [`CART_CHANGED_EVENT`]. No zone imports another: this path,
//! this body and this event name are the whole contract.

use serde::{Deserialize, Serialize};

/// The shop's server function behind the badge.
pub const CART_COUNT_PATH: &str = "/shop/api/cart/count";

/// The browser event an island fires after changing the cart, so the
/// badge on the same page fetches the new count.
pub const CART_CHANGED_EVENT: &str = "meridian-cart-changed";

/// The body of [`CART_COUNT_PATH`]: how many items the signed-in user's
/// cart holds (0 when anonymous).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartBadgeCount {
    pub items: i64,
}

impl CartBadgeCount {
    pub fn new(items: i64) -> Self {
        Self { items }
    }
}
