//! The shop's queries on its own tables (products, cart_items, orders,
//! order_items). Written for SQLite and PostgreSQL alike: `$n` parameters,
//! BIGINT everywhere, sums cast back to BIGINT.

use shared_auth::store::{DbPool, now};
use shared_auth::token::random_token;

use crate::error::ShopError;
use crate::model::{Cart, CartLine, MAX_QUANTITY, Order, OrderLine, OrderSummary, Product};
use shared_auth::leptos::AuthError;

type Result<T, E = ShopError> = std::result::Result<T, E>;

/// The catalogue in display order.
pub async fn products(pool: &DbPool) -> Result<Vec<Product>> {
    Ok(sqlx::query_as(
        "SELECT slug, name, description, price_cents FROM products ORDER BY position, id",
    )
    .fetch_all(pool)
    .await?)
}

/// One product by its slug.
pub async fn product(pool: &DbPool, slug: &str) -> Result<Option<Product>> {
    Ok(
        sqlx::query_as("SELECT slug, name, description, price_cents FROM products WHERE slug = $1")
            .bind(slug)
            .fetch_optional(pool)
            .await?,
    )
}

async fn product_id(pool: &DbPool, slug: &str) -> Result<i64> {
    sqlx::query_scalar("SELECT id FROM products WHERE slug = $1")
        .bind(slug)
        .fetch_optional(pool)
        .await?
        .ok_or(ShopError::UnknownProduct)
}

/// Refuses quantities outside 1..=[`MAX_QUANTITY`].
pub fn check_quantity(quantity: i64) -> Result<i64> {
    if (1..=MAX_QUANTITY).contains(&quantity) {
        Ok(quantity)
    } else {
        Err(ShopError::InvalidQuantity)
    }
}

/// The user's cart, oldest line first.
pub async fn cart(pool: &DbPool, user_id: &str) -> Result<Cart> {
    let lines: Vec<CartLine> = sqlx::query_as(
        "SELECT p.slug, p.name, p.price_cents, c.quantity
         FROM cart_items c JOIN products p ON p.id = c.product_id
         WHERE c.user_id = $1 ORDER BY c.added_at, p.position",
    )
    .bind(user_id)
    .fetch_all(pool)
    .await?;
    Ok(Cart { lines })
}

/// How many items the user's cart holds.
pub async fn cart_count(pool: &DbPool, user_id: &str) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(quantity), 0) AS BIGINT) FROM cart_items WHERE user_id = $1",
    )
    .bind(user_id)
    .fetch_one(pool)
    .await?)
}

/// Adds `quantity` of a product; the line may not exceed [`MAX_QUANTITY`].
pub async fn add_to_cart(pool: &DbPool, user_id: &str, slug: &str, quantity: i64) -> Result<()> {
    let quantity = check_quantity(quantity)?;
    let product = product_id(pool, slug).await?;
    let done = sqlx::query(
        "INSERT INTO cart_items (user_id, product_id, quantity, added_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (user_id, product_id) DO UPDATE
         SET quantity = cart_items.quantity + excluded.quantity
         WHERE cart_items.quantity + excluded.quantity <= $5",
    )
    .bind(user_id)
    .bind(product)
    .bind(quantity)
    .bind(now())
    .bind(MAX_QUANTITY)
    .execute(pool)
    .await?;
    if done.rows_affected() == 0 {
        return Err(ShopError::InvalidQuantity);
    }
    Ok(())
}

/// Sets a line's quantity (adding the line if it is not in the cart).
pub async fn set_quantity(pool: &DbPool, user_id: &str, slug: &str, quantity: i64) -> Result<()> {
    let quantity = check_quantity(quantity)?;
    let product = product_id(pool, slug).await?;
    sqlx::query(
        "INSERT INTO cart_items (user_id, product_id, quantity, added_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (user_id, product_id) DO UPDATE SET quantity = excluded.quantity",
    )
    .bind(user_id)
    .bind(product)
    .bind(quantity)
    .bind(now())
    .execute(pool)
    .await?;
    Ok(())
}

/// Removes a line (removing a line that is not there is not an error).
pub async fn remove_from_cart(pool: &DbPool, user_id: &str, slug: &str) -> Result<()> {
    let product = product_id(pool, slug).await?;
    sqlx::query("DELETE FROM cart_items WHERE user_id = $1 AND product_id = $2")
        .bind(user_id)
        .bind(product)
        .execute(pool)
        .await?;
    Ok(())
}

/// Turns the cart into an order, once per `checkout_key`: a retry or a
/// double click with the same key returns the order the first one made,
/// and a second checkout of an emptied cart is refused. One transaction:
/// the order, its lines and the emptied cart commit together or not at all,
/// and the order holds exactly the lines its DELETE removed.
pub async fn checkout(pool: &DbPool, user_id: &str, checkout_key: &str) -> Result<String> {
    let key = checkout_key.trim();
    if key.is_empty() || key.len() > 64 {
        return Err(ShopError::MissingCheckoutKey);
    }
    let id = random_token(9);
    let mut tx = pool.begin().await?;
    // Write first: the unique key decides which of two racing checkouts
    // wins, before either reads the cart.
    let inserted = sqlx::query(
        "INSERT INTO orders (id, user_id, checkout_key, created_at, item_count, total_cents)
         VALUES ($1, $2, $3, $4, 0, 0)
         ON CONFLICT (user_id, checkout_key) DO NOTHING",
    )
    .bind(&id)
    .bind(user_id)
    .bind(key)
    .bind(now())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        tx.rollback().await?;
        return sqlx::query_scalar(
            "SELECT id FROM orders WHERE user_id = $1 AND checkout_key = $2",
        )
        .bind(user_id)
        .bind(key)
        .fetch_optional(pool)
        .await?
        .ok_or(ShopError::Auth(AuthError::Unavailable));
    }
    // Take the cart lines out first and order exactly those: a line added
    // by a concurrent request after this DELETE stays in the cart for the
    // next checkout (PostgreSQL's READ COMMITTED would otherwise let an
    // INSERT … SELECT and a later DELETE see different lines).
    let lines: Vec<(i64, i64)> =
        sqlx::query_as("DELETE FROM cart_items WHERE user_id = $1 RETURNING product_id, quantity")
            .bind(user_id)
            .fetch_all(&mut *tx)
            .await?;
    for (product_id, quantity) in lines {
        sqlx::query(
            "INSERT INTO order_items (order_id, product_id, slug, name, unit_price_cents, quantity)
             SELECT $1, p.id, p.slug, p.name, p.price_cents, $2 FROM products p WHERE p.id = $3",
        )
        .bind(&id)
        .bind(quantity)
        .bind(product_id)
        .execute(&mut *tx)
        .await?;
    }
    let (item_count, total_cents): (i64, i64) = sqlx::query_as(
        "SELECT CAST(COALESCE(SUM(quantity), 0) AS BIGINT),
                CAST(COALESCE(SUM(quantity * unit_price_cents), 0) AS BIGINT)
         FROM order_items WHERE order_id = $1",
    )
    .bind(&id)
    .fetch_one(&mut *tx)
    .await?;
    if item_count == 0 {
        tx.rollback().await?;
        return Err(ShopError::EmptyCart);
    }
    sqlx::query("UPDATE orders SET item_count = $1, total_cents = $2 WHERE id = $3")
        .bind(item_count)
        .bind(total_cents)
        .bind(&id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(id)
}

/// The user's orders, newest first.
pub async fn orders(pool: &DbPool, user_id: &str) -> Result<Vec<OrderSummary>> {
    Ok(sqlx::query_as(
        "SELECT id, created_at, item_count, total_cents FROM orders
         WHERE user_id = $1 ORDER BY created_at DESC, id",
    )
    .bind(user_id)
    .fetch_all(pool)
    .await?)
}

/// One of the user's orders; another user's order is `None`, exactly like
/// one that does not exist.
pub async fn order(pool: &DbPool, user_id: &str, id: &str) -> Result<Option<Order>> {
    let summary: Option<OrderSummary> = sqlx::query_as(
        "SELECT id, created_at, item_count, total_cents FROM orders WHERE id = $1 AND user_id = $2",
    )
    .bind(id)
    .bind(user_id)
    .fetch_optional(pool)
    .await?;
    let Some(summary) = summary else {
        return Ok(None);
    };
    let lines: Vec<OrderLine> = sqlx::query_as(
        "SELECT slug, name, unit_price_cents, quantity FROM order_items
         WHERE order_id = $1 ORDER BY name",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    Ok(Some(Order { summary, lines }))
}
