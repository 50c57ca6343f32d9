//! The identity zone's account server functions and pages on its real
//! router and a fresh SQLite store: profile renaming (validated, visible
//! at once) and session revocation (this one, everywhere else, never
//! another user's).

#![allow(clippy::unwrap_used)] // set-up failing is a test failure

use axum::Router;
use contracts::user::DisplayNameError;
use http::StatusCode;
use serde_json::Value;
use shared_auth::leptos::AuthError;
use zone_identity::api::SessionInfo;
use zone_identity::error::AccountError;
use zone_runtime::server::ZoneApp;
use zone_runtime::testing::TestZone;

const CHROME: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36";
const FIREFOX: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:140.0) Gecko/20100101 Firefox/140.0";

async fn identity() -> TestZone {
    let app = ZoneApp {
        zone: zone_identity::ZONE,
        app: zone_identity::App,
        schema: None,
    };
    TestZone::start(app, |_, _| Ok(Router::new())).await
}

async fn signed_in(zone: &TestZone, cookie: &str) -> bool {
    let me = zone.get_json("/auth/me", Some(cookie)).await;
    me.json::<Value>()["authenticated"].as_bool().unwrap()
}

#[tokio::test]
async fn the_display_name_is_validated_and_shows_at_once() {
    let zone = identity().await;
    let alice = zone.sign_in("alice").await;
    let alice = Some(alice.as_str());

    let page = zone.get("/auth/profile", alice).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(r#"action="/auth/api/profile/name""#));

    let renamed = zone
        .call(
            "/auth/api/profile/name",
            "display_name=%20Alice%20Liddell%20",
            alice,
        )
        .await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.body);
    assert_eq!(renamed.json::<String>(), "Alice Liddell");
    let header = zone.get("/auth", alice).await;
    assert!(
        header
            .body
            .contains(r#"<span class="menu__label">Alice Liddell</span>"#)
    );

    for (input, problem) in [
        ("", DisplayNameError::Empty),
        ("%20%20", DisplayNameError::Empty),
        (&"x".repeat(41)[..], DisplayNameError::TooLong),
        ("bad%0Aname", DisplayNameError::Invisible),
        ("evil%E2%80%AEname", DisplayNameError::Invisible),
    ] {
        let reply = zone
            .call(
                "/auth/api/profile/name",
                &format!("display_name={input}"),
                alice,
            )
            .await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{input:?}");
        assert_eq!(
            reply.json::<AccountError>(),
            AccountError::InvalidName(problem)
        );
    }
    let unchanged = zone.get("/auth", alice).await;
    assert!(unchanged.body.contains("Alice Liddell"));

    let anonymous = zone
        .call("/auth/api/profile/name", "display_name=Eve", None)
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    let refused = zone
        .call_cross_site("/auth/api/profile/name", "display_name=Mallory", alice)
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(
        refused.json::<AccountError>(),
        AccountError::Auth(AuthError::CrossOrigin)
    );
    assert!(!zone.get("/auth", alice).await.body.contains("Mallory"));

    let login = zone.get("/auth/profile", None).await;
    assert_eq!(login.status, StatusCode::FOUND);
    assert_eq!(
        login.location(),
        Some("/auth/login?return_to=/auth/profile")
    );
}

#[tokio::test]
async fn sessions_are_listed_and_revoked_for_their_owner_only() {
    let zone = identity().await;
    let laptop = zone.sign_in_with_agent("alice", CHROME).await;
    let phone = zone.sign_in_with_agent("alice", FIREFOX).await;
    let tablet = zone.sign_in_with_agent("alice", "curl/8.5.0").await;
    let bob = zone.sign_in("bob").await;

    let sessions: Vec<SessionInfo> = zone
        .get_json("/auth/api/sessions", Some(&laptop))
        .await
        .json();
    assert_eq!(sessions.len(), 3);
    assert_eq!(sessions.iter().filter(|s| s.current).count(), 1);
    let current = sessions.iter().find(|s| s.current).unwrap();
    assert_eq!(current.user_agent.as_deref(), Some(CHROME));
    let page = zone.get("/auth/sessions", Some(&laptop)).await;
    assert!(page.body.contains("This device") && page.body.contains("Firefox on Windows"));

    // Bob cannot end Alice's sessions, even knowing their ids.
    let phone_id = sessions
        .iter()
        .find(|s| s.user_agent.as_deref() == Some(FIREFOX))
        .unwrap()
        .id
        .clone();
    let refused = zone
        .call(
            "/auth/api/sessions/revoke",
            &format!("id={phone_id}"),
            Some(&bob),
        )
        .await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
    assert_eq!(refused.json::<AccountError>(), AccountError::UnknownSession);
    assert!(signed_in(&zone, &phone).await);

    // Alice signs the phone out: it is anonymous from its next request.
    let left: Vec<SessionInfo> = zone
        .call(
            "/auth/api/sessions/revoke",
            &format!("id={phone_id}"),
            Some(&laptop),
        )
        .await
        .json();
    assert_eq!(left.len(), 2);
    assert!(!signed_in(&zone, &phone).await);
    let twice = zone
        .call(
            "/auth/api/sessions/revoke",
            &format!("id={phone_id}"),
            Some(&laptop),
        )
        .await;
    assert_eq!(twice.json::<AccountError>(), AccountError::UnknownSession);

    // Everywhere else: only this device is left; Bob is untouched.
    let left: Vec<SessionInfo> = zone
        .call("/auth/api/sessions/revoke-others", "", Some(&laptop))
        .await
        .json();
    assert_eq!(left.len(), 1);
    assert!(left[0].current);
    assert!(!signed_in(&zone, &tablet).await);
    assert!(signed_in(&zone, &laptop).await);
    assert!(signed_in(&zone, &bob).await);

    let anonymous = zone
        .call("/auth/api/sessions/revoke-others", "", None)
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_plain_form_revokes_and_comes_back() {
    let zone = identity().await;
    let laptop = zone.sign_in_with_agent("alice", CHROME).await;
    let phone = zone.sign_in_with_agent("alice", FIREFOX).await;
    // The list is server-rendered markup its island only trims
    // (`pages::session_editor`): every session carries its id.
    let before = zone.get("/auth/sessions", Some(&laptop)).await.body;
    assert_eq!(before.matches(r#"<li data-id="#).count(), 2, "{before}");
    assert!(before.contains(
        r#"<form method="post" action="/auth/api/sessions/revoke-others" class="sessions__revoke-others">"#
    ));

    // A refused plain post comes back to the page, which says why.
    let refused = zone
        .submit(
            "/auth/api/sessions/revoke",
            "id=nope",
            Some(&laptop),
            "/auth/sessions",
        )
        .await;
    assert_eq!(refused.status, StatusCode::FOUND);
    let back = refused.location().unwrap().to_owned();
    assert!(back.starts_with("/auth/sessions?__path="), "{back}");
    let page = zone.get(&back, Some(&laptop)).await.body;
    let message = AccountError::UnknownSession.to_string();
    assert!(
        page.contains(&format!(
            r#"<p role="alert" class="form-error">{message}</p>"#
        )),
        "{page}"
    );

    let reply = zone
        .submit(
            "/auth/api/sessions/revoke-others",
            "",
            Some(&laptop),
            "/auth/sessions",
        )
        .await;
    assert_eq!(reply.status, StatusCode::FOUND);
    // leptos redirects back to the Referer; the Location guard keeps it a path.
    assert_eq!(reply.location(), Some("/auth/sessions"));
    assert!(!signed_in(&zone, &phone).await);
    let after = zone.get("/auth/sessions", Some(&laptop)).await.body;
    assert_eq!(after.matches(r#"<li data-id="#).count(), 1, "{after}");
    assert!(
        after.contains(
            r#"action="/auth/api/sessions/revoke-others" hidden class="sessions__revoke-others">"#
        ),
        "{after}"
    );
    assert_eq!(
        zone.get("/auth/nowhere", Some(&laptop)).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn every_route_and_server_function_lies_under_the_zone_prefixes() {
    let outside =
        zone_runtime::testing::paths_outside(zone_identity::ZONE, zone_identity::App).await;
    // Not vacuous: the zone's server functions are registered and checked.
    assert!(
        leptos::server_fn::axum::server_fn_paths()
            .any(|(path, _)| path == "/auth/api/profile/name")
    );
    assert!(outside.is_empty(), "outside /auth: {outside:?}");
}

#[tokio::test]
async fn a_revoked_session_keeps_no_id_token() {
    use zone_identity::server::ID_TOKEN_GRANT;
    let zone = identity().await;
    let laptop = zone.sign_in_with_agent("alice", CHROME).await;
    let _phone = zone.sign_in_with_agent("alice", FIREFOX).await;
    let _tablet = zone.sign_in_with_agent("alice", "curl/8.5.0").await;
    let sessions: Vec<SessionInfo> = zone
        .get_json("/auth/api/sessions", Some(&laptop))
        .await
        .json();
    for session in &sessions {
        let token = format!("id-token-of-{}", session.id);
        zone.store()
            .put_grant(
                ID_TOKEN_GRANT,
                &session.id,
                &token,
                std::time::Duration::from_secs(600),
            )
            .await
            .unwrap();
    }
    let others: Vec<&SessionInfo> = sessions.iter().filter(|s| !s.current).collect();
    let revoked = zone
        .call(
            "/auth/api/sessions/revoke",
            &format!("id={}", others[0].id),
            Some(&laptop),
        )
        .await;
    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.body);
    assert!(!kept(&zone, &others[0].id).await, "revoked: token dropped");
    assert!(kept(&zone, &others[1].id).await, "others untouched");

    let revoked = zone
        .call("/auth/api/sessions/revoke-others", "", Some(&laptop))
        .await;
    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.body);
    assert!(!kept(&zone, &others[1].id).await);
    let current = sessions.iter().find(|s| s.current).unwrap();
    assert!(kept(&zone, &current.id).await, "this device keeps its own");
}

/// Whether an id_token is still kept for session `id`.
async fn kept(zone: &TestZone, id: &str) -> bool {
    zone.store()
        .peek_grant::<String>(zone_identity::server::ID_TOKEN_GRANT, id)
        .await
        .unwrap()
        .is_some()
}
