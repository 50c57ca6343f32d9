//! What the shop shows and stores: products, cart lines, orders. Shared by
//! the server (rows) and the islands (props, server-function results).
//! Money is integer minor units (euro cents), never floats.

use serde::{Deserialize, Serialize};

/// The most of one product a cart line or an order line may hold.
pub const MAX_QUANTITY: i64 = 99;

/// One product of the catalogue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct Product {
    pub slug: String,
    pub name: String,
    pub description: String,
    /// Price in euro cents.
    pub price_cents: i64,
}

/// One line of a cart: a product and how many.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct CartLine {
    pub slug: String,
    pub name: String,
    pub price_cents: i64,
    pub quantity: i64,
}

impl CartLine {
    pub fn total_cents(&self) -> i64 {
        self.price_cents * self.quantity
    }
}

/// A user's cart, in the order items were first added.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cart {
    pub lines: Vec<CartLine>,
}

impl Cart {
    /// How many items (not lines) the cart holds: the header badge.
    pub fn item_count(&self) -> i64 {
        self.lines.iter().map(|line| line.quantity).sum()
    }

    pub fn total_cents(&self) -> i64 {
        self.lines.iter().map(CartLine::total_cents).sum()
    }
}

/// What "add to cart" did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AddedToCart {
    /// The item is in the cart, which now holds `items` items.
    Added { items: i64 },
    /// Anonymous: the item is kept for after sign-in at `login_url`, which
    /// comes back to the product with the item in the cart.
    SignInFirst { login_url: String },
}

/// An order as listed on `/shop/orders`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct OrderSummary {
    pub id: String,
    /// Unix seconds.
    pub created_at: i64,
    pub item_count: i64,
    pub total_cents: i64,
}

/// One line of a placed order, at the price of the day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct OrderLine {
    pub slug: String,
    pub name: String,
    pub unit_price_cents: i64,
    pub quantity: i64,
}

/// An order with its lines: `/shop/orders/<id>`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub summary: OrderSummary,
    pub lines: Vec<OrderLine>,
}

/// `1450` → `"€14.50"`.
pub fn format_price(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let cents = cents.unsigned_abs();
    format!("{sign}€{}.{:02}", cents / 100, cents % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_format_in_euros() {
        assert_eq!(format_price(1_450), "€14.50");
        assert_eq!(format_price(5), "€0.05");
        assert_eq!(format_price(0), "€0.00");
        assert_eq!(format_price(-1_999), "-€19.99");
    }

    #[test]
    fn carts_count_items_and_total_in_cents() {
        let line = |slug: &str, price_cents, quantity| CartLine {
            slug: slug.into(),
            name: slug.into(),
            price_cents,
            quantity,
        };
        let cart = Cart {
            lines: vec![line("a", 1_450, 2), line("b", 999, 3)],
        };
        assert_eq!(cart.item_count(), 5);
        assert_eq!(cart.total_cents(), 2 * 1_450 + 3 * 999);
        assert_eq!(Cart::default().item_count(), 0);
    }
}
