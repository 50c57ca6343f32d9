//! The shop's server functions and pages on its real router and a fresh
//! SQLite store: sign-in required, validation, idempotent checkout, other
//! users' orders invisible, the anonymous add-to-cart round trip, and the
//! plain-form (no JavaScript) behaviour.

#![allow(clippy::unwrap_used)] // set-up failing is a test failure

use http::StatusCode;
use serde_json::Value;
use shared_auth::leptos::AuthError;
use zone_runtime::server::ZoneApp;
use zone_runtime::testing::TestZone;
use zone_shop::error::ShopError;
use zone_shop::model::{AddedToCart, Cart, Order, OrderSummary};

async fn shop() -> TestZone {
    let app = ZoneApp {
        zone: zone_shop::ZONE,
        app: zone_shop::App,
        schema: Some(zone_shop::server::migrations()),
    };
    TestZone::start(app, zone_shop::server::routes).await
}

async fn count(shop: &TestZone, cookie: Option<&str>) -> i64 {
    let reply = shop.get_json("/shop/api/cart/count", cookie).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.json::<Value>()["items"].as_i64().unwrap()
}

#[tokio::test]
async fn the_catalogue_and_product_pages_come_from_the_database() {
    let shop = shop().await;
    let page = shop.get("/shop", None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Enamel mug") && page.body.contains("€14.50"));
    assert!(page.body.contains(r#"href="/shop/p/brass-pen""#));

    let product = shop.get("/shop/p/brass-pen", None).await;
    assert_eq!(product.status, StatusCode::OK);
    assert!(product.body.contains("Brass pen") && product.body.contains("€48.00"));
    assert!(
        product.body.contains(r#"action="/shop/api/cart/add""#),
        "a plain form without JS"
    );

    let missing = shop.get("/shop/p/no-such-thing", None).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.body.contains("This page does not exist"));
    assert_eq!(
        shop.get("/shop/nowhere", None).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn anonymous_catalogue_pages_are_marked_for_the_edge_cache() {
    let cdn = contracts::cache::CDN_CACHE_CONTROL;
    let shop = shop().await;
    for path in ["/shop", "/shop/p/brass-pen"] {
        let page = shop.get(path, None).await;
        assert_eq!(
            page.headers[cdn],
            shared_ui::cache::FOR_SHARED_CACHES,
            "{path}"
        );
        assert_eq!(
            page.headers[contracts::cache::CACHE_TAG],
            zone_shop::CATALOGUE_TAG
        );
    }
    // The cart is personal: never marked, signed in or not.
    let cart = shop.get("/shop/cart", None).await;
    assert!(!cart.headers.contains_key(cdn));
    let alice = shop.sign_in("alice").await;
    let page = shop.get("/shop", Some(&alice)).await;
    assert!(!page.headers.contains_key(cdn));
    assert_eq!(
        page.headers[http::header::CACHE_CONTROL],
        "private, no-store"
    );
    // A cookie of a session that does not exist: the page renders for
    // nobody, but the answer clears the cookie, so it is private, and no
    // CDN may be told otherwise.
    let dead = format!("{}={}", contracts::cookie::SESSION, "A".repeat(52));
    let page = shop.get("/shop", Some(&dead)).await;
    assert!(!page.set_cookies().is_empty(), "{:?}", page.headers);
    assert_eq!(
        page.headers[http::header::CACHE_CONTROL],
        "private, no-store"
    );
    assert!(!page.headers.contains_key(cdn), "{:?}", page.headers);
}

#[tokio::test]
async fn cart_functions_require_a_session() {
    let shop = shop().await;
    for (path, form) in [
        ("/shop/api/cart/update", "slug=brass-pen&quantity=1"),
        ("/shop/api/cart/remove", "slug=brass-pen"),
        ("/shop/api/cart/checkout", "checkout_key=k1"),
    ] {
        let reply = shop.call(path, form, None).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(
            reply.json::<ShopError>(),
            ShopError::Auth(AuthError::Unauthenticated {
                login_url: "/auth/login?return_to=/shop".into()
            }),
            "{path}: signing in comes back to the shop"
        );
    }
    assert_eq!(
        shop.get_json("/shop/api/orders", None).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        count(&shop, None).await,
        0,
        "anonymous badge is empty, not an error"
    );
    let cart_page = shop.get("/shop/cart", None).await;
    assert_eq!(cart_page.status, StatusCode::FOUND);
    assert_eq!(
        cart_page.location(),
        Some("/auth/login?return_to=/shop/cart")
    );
}

#[tokio::test]
async fn cart_input_is_validated_with_typed_errors() {
    let shop = shop().await;
    let alice = shop.sign_in("alice").await;
    let alice = Some(alice.as_str());
    for quantity in ["0", "100", "-3", "2.5", "lots", ""] {
        let reply = shop
            .call(
                "/shop/api/cart/add",
                &format!("slug=brass-pen&quantity={quantity}"),
                alice,
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{quantity:?}"
        );
        assert_eq!(reply.json::<ShopError>(), ShopError::InvalidQuantity);
    }
    let unknown = shop
        .call("/shop/api/cart/add", "slug=unicorn&quantity=1", alice)
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.json::<ShopError>(), ShopError::UnknownProduct);
    let missing_field = shop.call("/shop/api/cart/add", "quantity=1", alice).await;
    assert_eq!(missing_field.json::<ShopError>(), ShopError::UnknownProduct);
    let no_quantity = shop
        .call("/shop/api/cart/add", "slug=brass-pen", alice)
        .await;
    assert_eq!(no_quantity.json::<ShopError>(), ShopError::InvalidQuantity);

    // A line holds at most 99.
    let ok = shop
        .call("/shop/api/cart/add", "slug=brass-pen&quantity=60", alice)
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    let over = shop
        .call("/shop/api/cart/add", "slug=brass-pen&quantity=40", alice)
        .await;
    assert_eq!(over.json::<ShopError>(), ShopError::InvalidQuantity);
    assert_eq!(count(&shop, alice).await, 60);
}

#[tokio::test]
async fn mutations_from_another_site_are_refused() {
    let shop = shop().await;
    let alice = shop.sign_in("alice").await;
    let reply = shop
        .call_cross_site(
            "/shop/api/cart/add",
            "slug=brass-pen&quantity=1",
            Some(&alice),
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(
        reply.json::<ShopError>(),
        ShopError::Auth(AuthError::CrossOrigin)
    );
    assert_eq!(count(&shop, Some(&alice)).await, 0);
}

#[tokio::test]
async fn the_cart_updates_and_checkout_is_idempotent() {
    let shop = shop().await;
    let alice = shop.sign_in("alice").await;
    let alice = Some(alice.as_str());
    shop.call("/shop/api/cart/add", "slug=enamel-mug&quantity=2", alice)
        .await;
    shop.call("/shop/api/cart/add", "slug=brass-pen&quantity=1", alice)
        .await;
    shop.call("/shop/api/cart/add", "slug=plant-pot&quantity=1", alice)
        .await;
    assert_eq!(count(&shop, alice).await, 4);

    let cart: Cart = shop
        .call("/shop/api/cart/update", "slug=enamel-mug&quantity=3", alice)
        .await
        .json();
    assert_eq!(cart.item_count(), 5);
    let cart: Cart = shop
        .call("/shop/api/cart/remove", "slug=plant-pot", alice)
        .await
        .json();
    assert_eq!(cart.lines.len(), 2);
    assert_eq!(cart.total_cents(), 3 * 1_450 + 4_800);

    // Double click: the same key twice, at once and again later.
    let (first, second) = tokio::join!(
        shop.call("/shop/api/cart/checkout", "checkout_key=key-1", alice),
        shop.call("/shop/api/cart/checkout", "checkout_key=key-1", alice),
    );
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!(second.status, StatusCode::OK, "{}", second.body);
    let id: String = first.json();
    assert_eq!(second.json::<String>(), id);
    let retry = shop
        .call("/shop/api/cart/checkout", "checkout_key=key-1", alice)
        .await;
    assert_eq!(retry.json::<String>(), id);

    // One order, the cart is empty, a new checkout has nothing to order.
    let orders: Vec<OrderSummary> = shop.get_json("/shop/api/orders", alice).await.json();
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0].id, id);
    assert_eq!(
        (orders[0].item_count, orders[0].total_cents),
        (4, 3 * 1_450 + 4_800)
    );
    assert_eq!(count(&shop, alice).await, 0);
    let again = shop
        .call("/shop/api/cart/checkout", "checkout_key=key-2", alice)
        .await;
    assert_eq!(again.json::<ShopError>(), ShopError::EmptyCart);
    let no_key = shop
        .call("/shop/api/cart/checkout", "checkout_key=", alice)
        .await;
    assert_eq!(no_key.json::<ShopError>(), ShopError::MissingCheckoutKey);

    let order: Option<Order> = shop
        .get_json(&format!("/shop/api/order?id={id}"), alice)
        .await
        .json();
    let order = order.unwrap();
    assert_eq!(order.lines.len(), 2);
    let page = shop.get(&format!("/shop/orders/{id}"), alice).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(&format!("Order {id}")) && page.body.contains("€91.50"));
}

#[tokio::test]
async fn other_users_orders_are_invisible() {
    let shop = shop().await;
    let alice = shop.sign_in("alice").await;
    let bob = shop.sign_in("bob").await;
    shop.call(
        "/shop/api/cart/add",
        "slug=desk-lamp&quantity=1",
        Some(&alice),
    )
    .await;
    let id: String = shop
        .call("/shop/api/cart/checkout", "checkout_key=a", Some(&alice))
        .await
        .json();

    let page = shop.get(&format!("/shop/orders/{id}"), Some(&bob)).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(!page.body.contains("Desk lamp"));
    let api: Option<Order> = shop
        .get_json(&format!("/shop/api/order?id={id}"), Some(&bob))
        .await
        .json();
    assert_eq!(api, None);
    let orders: Vec<OrderSummary> = shop.get_json("/shop/api/orders", Some(&bob)).await.json();
    assert!(orders.is_empty());
    // Bob reusing Alice's checkout key makes his own (empty) attempt.
    let bobs = shop
        .call("/shop/api/cart/checkout", "checkout_key=a", Some(&bob))
        .await;
    assert_eq!(bobs.json::<ShopError>(), ShopError::EmptyCart);
}

#[tokio::test]
async fn an_anonymous_add_to_cart_survives_sign_in() {
    let shop = shop().await;
    let reply = shop
        .call("/shop/api/cart/add", "slug=wool-socks&quantity=2", None)
        .await;
    // Not an error: the intent is kept and the island sends us to sign in.
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.json::<AddedToCart>(),
        AddedToCart::SignInFirst {
            login_url: "/auth/login?return_to=/shop/cart/resume".into()
        }
    );
    let pending = reply
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("shop.pending-add="))
        .unwrap();
    assert!(pending.contains("Path=/shop") && pending.contains("HttpOnly"));
    let pending = pending.split(';').next().unwrap().to_owned();

    // Back from sign-in with the cookie: the item is in the cart.
    let alice = shop.sign_in("alice").await;
    let both = format!("{alice}; {pending}");
    let resume = shop.get("/shop/cart/resume", Some(&both)).await;
    assert_eq!(resume.status, StatusCode::FOUND);
    assert_eq!(resume.location(), Some("/shop/p/wool-socks?added=2"));
    assert!(
        resume
            .set_cookies()
            .iter()
            .any(|c| c.starts_with("shop.pending-add=;"))
    );
    assert_eq!(count(&shop, Some(&alice)).await, 2);

    // The intent is single-use, and a link without the cookie adds nothing.
    let again = shop.get("/shop/cart/resume", Some(&both)).await;
    assert_eq!(again.location(), Some("/shop/cart"));
    assert_eq!(count(&shop, Some(&alice)).await, 2);
    let page = shop.get("/shop/p/wool-socks?added=2", Some(&alice)).await;
    assert!(page.body.contains("Added 2 to your cart"));

    // Unknown products are refused before anyone is asked to sign in.
    let unknown = shop
        .call("/shop/api/cart/add", "slug=unicorn&quantity=1", None)
        .await;
    assert_eq!(unknown.json::<ShopError>(), ShopError::UnknownProduct);
}

#[tokio::test]
async fn plain_forms_work_without_javascript() {
    let shop = shop().await;
    let alice = shop.sign_in("alice").await;
    let alice = Some(alice.as_str());

    // Success: back to the page the form was on.
    let added = shop
        .submit(
            "/shop/api/cart/add",
            "slug=oak-coasters&quantity=3",
            alice,
            "/shop/p/oak-coasters",
        )
        .await;
    assert_eq!(added.status, StatusCode::FOUND);
    // leptos redirects back to the Referer; the Location guard keeps it a path.
    assert_eq!(added.location(), Some("/shop/p/oak-coasters"));
    assert_eq!(count(&shop, alice).await, 3);

    // Failure: back to the page, which shows the error.
    let refused = shop
        .submit(
            "/shop/api/cart/add",
            "slug=oak-coasters&quantity=500",
            alice,
            "/shop/p/oak-coasters",
        )
        .await;
    assert_eq!(refused.status, StatusCode::FOUND);
    let back = refused.location().unwrap().to_owned();
    assert!(back.starts_with("/shop/p/oak-coasters?__path="), "{back}");
    let page = shop.get(&back, alice).await;
    assert!(
        page.body.contains("Please choose a quantity from 1 to 99."),
        "{}",
        page.body
    );

    // Anonymous: on to sign-in.
    let anonymous = shop
        .submit(
            "/shop/api/cart/add",
            "slug=oak-coasters&quantity=1",
            None,
            "/shop/p/oak-coasters",
        )
        .await;
    assert_eq!(anonymous.status, StatusCode::FOUND);
    assert_eq!(
        anonymous.location(),
        Some("/auth/login?return_to=/shop/cart/resume")
    );

    // The cart page renders the lines and a checkout form with a key.
    let cart = shop.get("/shop/cart", alice).await;
    assert!(cart.body.contains("Oak coasters") && cart.body.contains(r#"name="checkout_key""#));
    let key = cart
        .body
        .split(r#"name="checkout_key" value=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    let placed = shop
        .submit(
            "/shop/api/cart/checkout",
            &format!("checkout_key={key}"),
            alice,
            "/shop/cart",
        )
        .await;
    assert_eq!(placed.status, StatusCode::FOUND);
    let order_path = placed.location().unwrap().to_owned();
    assert!(order_path.starts_with("/shop/orders/"), "{order_path}");
    let order = shop.get(&order_path, alice).await;
    assert_eq!(order.status, StatusCode::OK);
    assert!(order.body.contains("Oak coasters"));
}

/// The cart page is server-rendered markup that its island only updates
/// (`pages::cart_editor`): every line, total and notice it writes to is
/// there, and a refused plain post shows its message above the cart.
#[tokio::test]
async fn the_cart_page_carries_what_its_island_updates() {
    let shop = shop().await;
    let alice = shop.sign_in("alice").await;
    let alice = Some(alice.as_str());

    let empty = shop.get("/shop/cart", alice).await;
    assert_eq!(empty.status, StatusCode::OK);
    assert!(
        empty.body.contains(r#"<div hidden class="cart-full">"#),
        "{}",
        empty.body
    );
    assert!(empty.body.contains(r#"<section class="card cart-empty">"#));

    for (slug, quantity) in [("oak-coasters", 2), ("brass-pen", 1)] {
        let added = shop
            .call(
                "/shop/api/cart/add",
                &format!("slug={slug}&quantity={quantity}"),
                alice,
            )
            .await;
        assert_eq!(added.status, StatusCode::OK, "{}", added.body);
    }
    let cart = shop.get("/shop/cart", alice).await;
    let body = &cart.body;
    for hook in [
        r#"<div class="cart-editor""#,
        r#"<tr data-slug="oak-coasters" class="cart-line">"#,
        r#"<tr data-slug="brass-pen" class="cart-line">"#,
        r#"class="num cart-line__total""#,
        r#"class="cart__count">3 items<"#,
        r#"class="num cart__total""#,
        r#"<div class="cart-full">"#,
        r#"<section hidden class="card cart-empty">"#,
        r#"<form method="post" action="/shop/api/cart/update" class="cart-line__quantity">"#,
        r#"<form method="post" action="/shop/api/cart/remove">"#,
        r#"<form method="post" action="/shop/api/cart/checkout" class="checkout">"#,
    ] {
        assert!(body.contains(hook), "the cart page lacks {hook}: {body}");
    }

    let refused = shop
        .submit(
            "/shop/api/cart/update",
            "slug=oak-coasters&quantity=500",
            alice,
            "/shop/cart",
        )
        .await;
    assert_eq!(refused.status, StatusCode::FOUND);
    let back = refused.location().unwrap().to_owned();
    assert!(back.starts_with("/shop/cart?__path="), "{back}");
    let page = shop.get(&back, alice).await;
    assert!(
        page.body.contains(
            r#"<p role="alert" class="form-error">Please choose a quantity from 1 to 99.</p>"#
        ),
        "{}",
        page.body
    );
}

/// The error a plain post came back with travels in the query, which
/// anyone can write into a link: the zone's own messages show, free text
/// never does.
#[tokio::test]
async fn a_crafted_error_link_shows_no_free_text() {
    let shop = shop().await;
    // base64url of {"Transport":"Call +1 555 0100 to unlock your account"}
    let free_text =
        "eyJUcmFuc3BvcnQiOiJDYWxsICsxIDU1NSAwMTAwIHRvIHVubG9jayB5b3VyIGFjY291bnQifQ%3D%3D";
    // base64url of "InvalidQuantity"
    let own = "IkludmFsaWRRdWFudGl0eSI%3D";
    let page = |err: &str| format!("/shop/p/oak-coasters?__path=/shop/api/cart/add&__err={err}");

    let crafted = shop.get(&page(free_text), None).await;
    assert_eq!(crafted.status, StatusCode::OK);
    assert!(!crafted.body.contains("Call +1"), "{}", crafted.body);
    assert!(
        crafted.body.contains(
            r#"<p role="alert" class="form-error">That did not work. Please try again.</p>"#
        ),
        "{}",
        crafted.body
    );

    let refused = shop.get(&page(own), None).await;
    assert!(
        refused.body.contains(
            r#"<p role="alert" class="form-error">Please choose a quantity from 1 to 99.</p>"#
        ),
        "{}",
        refused.body
    );
}

#[tokio::test]
async fn a_foreign_referer_never_becomes_a_redirect() {
    let shop = shop().await;
    for path in ["/shop/api/products", "/shop/api/cart/count"] {
        let request = http::Request::get(path)
            .header(http::header::ACCEPT, "text/html")
            .header(http::header::REFERER, "https://evil.example/phish")
            .body(axum::body::Body::empty())
            .unwrap();
        let reply = shop.send(request).await;
        if let Some(location) = reply.location() {
            assert!(
                location.starts_with('/') && !location.starts_with("//"),
                "{path} redirects off the origin: {location}"
            );
        }
    }
}

/// Checkout and add-to-cart racing on one cart: every unit added is either
/// in an order or still in the cart afterwards, never deleted unordered.
/// (On PostgreSQL the old `INSERT … SELECT` then `DELETE` lost lines added
/// in between.)
#[tokio::test]
async fn a_line_added_during_checkout_is_ordered_or_kept() {
    let shop = shop().await;
    let alice = shop.sign_in("alice").await;
    let alice = Some(alice.as_str());
    let products = ["oak-coasters", "brass-pen", "enamel-mug"];
    let mut added = 0;
    for round in 0..12 {
        let slug = products[round % products.len()];
        let add_form = format!("slug={slug}&quantity=1");
        let checkout_form = format!("checkout_key=race-{round}");
        let add = shop.call("/shop/api/cart/add", &add_form, alice);
        let checkout = shop.call("/shop/api/cart/checkout", &checkout_form, alice);
        let (add, _) = tokio::join!(add, checkout);
        assert_eq!(add.status, StatusCode::OK, "{}", add.body);
        added += 1;
    }
    let orders = shop.get_json("/shop/api/orders", alice).await;
    let ordered: i64 = orders
        .json::<Vec<OrderSummary>>()
        .iter()
        .map(|o| o.item_count)
        .sum();
    assert_eq!(ordered + count(&shop, alice).await, added);
}

#[tokio::test]
async fn every_route_and_server_function_lies_under_the_zone_prefixes() {
    let outside = zone_runtime::testing::paths_outside(zone_shop::ZONE, zone_shop::App).await;
    // Not vacuous: the zone's server functions are registered and checked.
    assert!(
        leptos::server_fn::axum::server_fn_paths().any(|(path, _)| path == "/shop/api/cart/add")
    );
    assert!(outside.is_empty(), "outside /shop: {outside:?}");
}
