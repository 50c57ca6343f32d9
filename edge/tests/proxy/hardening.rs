//! The edge's defences (issue 13): the dev-only mock provider's route, rate
//! limits, the client address behind trusted proxies (addresses or ranges)
//! and the status check. Upgrades are in `upgrades`, connection caps and
//! HTTP/2 limits in `connections`.

use std::time::Duration;

use axum::body::Body;
use edge::manifest::{LimitSpec, standard_limits};
use edge::trusted::TrustedProxies;
use http::StatusCode;

use super::support::{Setup, Stack};

fn trusted(list: &str) -> TrustedProxies {
    list.parse().unwrap()
}

fn login_limit(burst: u32, per_second: f64) -> Vec<LimitSpec> {
    vec![LimitSpec {
        path: "/auth/login".into(),
        methods: vec!["GET".into()],
        burst,
        per_second,
    }]
}

#[tokio::test]
async fn the_mock_provider_is_routed_only_when_given_its_address() {
    let stack = Stack::start().await;
    assert_eq!(
        stack.get("/mock-idp/authorize").await.1["x-upstream"],
        "public-0"
    );

    let stack = Stack::with(Setup {
        mock_idp: Some(true),
        ..Setup::default()
    })
    .await;
    for path in [
        "/mock-idp/authorize?client_id=meridian",
        "/mock-idp/.well-known/openid-configuration",
    ] {
        let (status, headers, body) = stack.get(path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(headers["x-upstream"], "mock-idp-0", "{path}");
        assert!(body.starts_with(&format!("mock-idp-0 {path}\n")), "{body}");
    }
    assert_eq!(stack.get("/mock-idpx").await.1["x-upstream"], "public-0");
    assert_eq!(stack.get("/auth/login").await.1["x-upstream"], "identity-0");
    let (_, _, body) = stack.get("/_edge/status").await;
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    let mock = json["zones"]
        .as_array()
        .unwrap()
        .iter()
        .find(|z| z["zone"] == "mock-idp")
        .unwrap();
    assert_eq!(mock["prefixes"], serde_json::json!(["/mock-idp"]));

    let stack = Stack::with(Setup {
        mock_idp: Some(false),
        ..Setup::default()
    })
    .await;
    let (status, _, body) = stack.get("/mock-idp/authorize").await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert!(
        body.contains("The mock identity provider is not answering"),
        "{body}"
    );
}

#[tokio::test]
async fn a_flood_gets_429_with_retry_after_then_recovers() {
    let stack = Stack::with(Setup {
        limits: login_limit(3, 1.0),
        ..Setup::default()
    })
    .await;
    for _ in 0..3 {
        assert_eq!(
            stack.get("/auth/login?return_to=%2F").await.0,
            StatusCode::OK
        );
    }
    let (status, headers, body) = stack.get("/auth/login").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(headers["retry-after"], "1");
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(body.contains("Too many requests") && body.contains("--color-brand"));
    assert!(
        !body.contains("identity-0"),
        "the refused request reached the zone"
    );
    assert!(headers.contains_key("x-request-id"));
    // Other paths and methods are not limited.
    assert_eq!(stack.get("/auth").await.0, StatusCode::OK);
    let post = stack
        .request("/auth/login")
        .method("POST")
        .body(Body::empty())
        .unwrap();
    assert_eq!(stack.send(post).await.0, StatusCode::OK);
    // An X-Forwarded-For from an untrusted peer does not make a new client.
    let spoofed = stack
        .request("/auth/login")
        .header("x-forwarded-for", "198.51.100.77")
        .body(Body::empty())
        .unwrap();
    assert_eq!(stack.send(spoofed).await.0, StatusCode::TOO_MANY_REQUESTS);
    // One token per second: after Retry-After the client is served again.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(stack.get("/auth/login").await.0, StatusCode::OK);
}

#[tokio::test]
async fn the_compiled_in_limits_cover_every_anonymous_write() {
    let stack = Stack::with(Setup {
        limits: standard_limits(),
        ..Setup::default()
    })
    .await;
    for (method, path) in [
        ("GET", "/auth/login"),
        // Both delete from the store for any input, forged or not.
        ("GET", "/auth/callback"),
        ("POST", "/auth/logout"),
        ("POST", "/shop/api/cart/add"),
        ("POST", "/mock-idp/authorize"),
    ] {
        let mut statuses = Vec::new();
        for _ in 0..40 {
            let request = stack
                .request(path)
                .method(method)
                .body(Body::empty())
                .unwrap();
            statuses.push(stack.send(request).await.0);
        }
        assert!(
            statuses[..20].iter().all(|s| *s == StatusCode::OK),
            "{path}: the burst of 20 is served: {statuses:?}"
        );
        assert!(
            statuses.contains(&StatusCode::TOO_MANY_REQUESTS),
            "{method} {path}: never limited"
        );
    }
}

#[tokio::test]
async fn clients_behind_a_trusted_proxy_are_counted_apart_and_limits_can_be_switched_off() {
    let stack = Stack::with(Setup {
        limits: login_limit(1, 0.01),
        trusted_proxies: trusted("127.0.0.1"),
        ..Setup::default()
    })
    .await;
    let from = |chain: &str| {
        stack
            .request("/auth/login")
            .header("x-forwarded-for", chain)
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(stack.send(from("203.0.113.1")).await.0, StatusCode::OK);
    assert_eq!(
        stack.send(from("203.0.113.1")).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(stack.send(from("203.0.113.2")).await.0, StatusCode::OK);
    // Entries left of the proxy's are the client's own words.
    assert_eq!(
        stack.send(from("203.0.113.3, 203.0.113.1")).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );

    let off = Stack::with(Setup {
        limits: login_limit(1, 0.01),
        rate_limits: Some(false),
        ..Setup::default()
    })
    .await;
    for _ in 0..5 {
        assert_eq!(off.get("/auth/login").await.0, StatusCode::OK);
    }
}

#[tokio::test]
async fn trusted_proxies_may_be_a_range() {
    // Ingress pods change addresses: the edge trusts their whole range.
    let stack = Stack::with(Setup {
        limits: login_limit(1, 0.01),
        trusted_proxies: trusted("127.0.0.0/8,fd00::/8"),
        ..Setup::default()
    })
    .await;
    let from = |path: &str, chain: &str| {
        stack
            .request(path)
            .header("x-forwarded-for", chain)
            .header("x-forwarded-proto", "https")
            .body(Body::empty())
            .unwrap()
    };
    // The peer (127.0.0.1) is in the range: the clients it names are
    // counted apart, past entries in the range (127.0.0.9).
    let login = "/auth/login";
    assert_eq!(
        stack.send(from(login, "203.0.113.1")).await.0,
        StatusCode::OK
    );
    assert_eq!(
        stack.send(from(login, "203.0.113.1, 127.0.0.9")).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        stack.send(from(login, "203.0.113.2")).await.0,
        StatusCode::OK
    );
    // And the zone gets the chain extended, the proxy's scheme kept.
    let (_, _, body) = stack.send(from("/shop", "203.0.113.5")).await;
    assert!(
        body.contains("\nx-forwarded-for: 203.0.113.5, 127.0.0.1\n"),
        "{body}"
    );
    assert!(body.contains("\nx-forwarded-proto: https"), "{body}");
}

#[tokio::test]
async fn status_is_only_for_loopback_and_trusted_proxies() {
    let stack = Stack::with(Setup {
        shop: vec![false, true],
        trusted_proxies: trusted("127.0.0.1"),
        ..Setup::default()
    })
    .await;
    stack.get("/shop").await; // an error to hide
    let forwarded = stack
        .request("/_edge/status")
        .header("x-forwarded-for", "203.0.113.9")
        .body(Body::empty())
        .unwrap();
    let (status, headers, body) = stack.send(forwarded).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(
        !body.contains("connect") && !body.contains("upstreams"),
        "{body}"
    );
    let (status, _, body) = stack.get("/_edge/status").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("connect failed"), "{body}");

    // Without trusted proxies a loopback peer's X-Forwarded-For is ignored.
    let stack = Stack::start().await;
    let forwarded = stack
        .request("/_edge/status")
        .header("x-forwarded-for", "203.0.113.9")
        .body(Body::empty())
        .unwrap();
    assert_eq!(stack.send(forwarded).await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_loopback_client_named_by_a_trusted_proxy_gets_no_status() {
    let stack = Stack::with(Setup {
        trusted_proxies: trusted("127.0.0.1"),
        ..Setup::default()
    })
    .await;
    let via_proxy = |chain: &str| {
        stack
            .request("/_edge/status")
            .header("x-forwarded-for", chain)
            .body(Body::empty())
            .unwrap()
    };
    // A loopback address in X-Forwarded-For is the proxy's word, not the
    // socket's: it is not local.
    for chain in ["127.0.0.2", "::1", "[::1]:443", "127.0.0.2, 127.0.0.1"] {
        assert_eq!(
            stack.send(via_proxy(chain)).await.0,
            StatusCode::FORBIDDEN,
            "{chain}"
        );
    }
    // A named client that is itself a trusted proxy may; so may the
    // loopback peer speaking for itself.
    assert_eq!(stack.send(via_proxy("127.0.0.1")).await.0, StatusCode::OK);
    assert_eq!(stack.get("/_edge/status").await.0, StatusCode::OK);

    // The same through a range.
    let stack = Stack::with(Setup {
        trusted_proxies: trusted("127.0.0.0/30"),
        ..Setup::default()
    })
    .await;
    let request = |chain: &str| {
        stack
            .request("/_edge/status")
            .header("x-forwarded-for", chain)
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(stack.send(request("127.0.0.2")).await.0, StatusCode::OK);
    assert_eq!(
        stack.send(request("127.0.0.9")).await.0,
        StatusCode::FORBIDDEN
    );
}
