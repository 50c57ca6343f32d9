//! The store against a real SQLite file: sessions (create, validate, renew,
//! expire, revoke), users, single-use grants, and several pools (as several
//! zone processes would) hammering one file at once.

#![allow(clippy::unwrap_used)] // set-up failing is a test failure

use std::time::Duration;

use shared_auth::store::{SessionPolicy, Store};

struct TestDb {
    _dir: tempfile::TempDir,
    url: String,
}

impl TestDb {
    async fn new() -> (Self, Store) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!(
            "sqlite://{}",
            dir.path().join("nested/sessions.sqlite").display()
        );
        let store = Store::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        (Self { _dir: dir, url }, store)
    }
}

fn policy(ttl: u64, max_age: u64) -> SessionPolicy {
    SessionPolicy {
        ttl: Duration::from_secs(ttl),
        max_age: Duration::from_secs(max_age),
    }
}

#[tokio::test]
async fn a_session_resolves_to_its_user_by_token_only() {
    let (_db, store) = TestDb::new().await;
    let alice = store
        .find_or_create_user("idp#alice", "alice")
        .await
        .unwrap();
    let new = store
        .create_session(&alice.id, Some("test-agent"), policy(3600, 86400))
        .await
        .unwrap();
    assert!(new.token.len() >= 43, "at least 256 bits of token");

    let found = store
        .validate_session(&new.token, policy(3600, 86400))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.user, alice);
    assert_eq!(found.session.id, new.session.id);
    assert!(!found.renewed);
    assert_eq!(found.session.user_agent.as_deref(), Some("test-agent"));

    assert!(
        store
            .validate_session("not-the-token", policy(3600, 86400))
            .await
            .unwrap()
            .is_none()
    );
    let mut tampered = new.token.clone();
    tampered.replace_range(0..1, if tampered.starts_with('A') { "B" } else { "A" });
    assert!(
        store
            .validate_session(&tampered, policy(3600, 86400))
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn only_the_hash_of_the_token_is_stored() {
    let (db, store) = TestDb::new().await;
    let alice = store
        .find_or_create_user("idp#alice", "alice")
        .await
        .unwrap();
    let new = store
        .create_session(&alice.id, None, policy(3600, 86400))
        .await
        .unwrap();
    store.close().await;
    let path = db.url.trim_start_matches("sqlite://");
    let mut bytes = std::fs::read(path).unwrap();
    for wal in ["-wal", "-shm"] {
        if let Ok(more) = std::fs::read(format!("{path}{wal}")) {
            bytes.extend(more);
        }
    }
    let haystack = String::from_utf8_lossy(&bytes);
    assert!(
        !haystack.contains(&new.token),
        "the raw token reached the database file"
    );
}

#[tokio::test]
async fn sessions_past_half_life_are_extended_up_to_the_absolute_limit() {
    let (_db, store) = TestDb::new().await;
    let alice = store
        .find_or_create_user("idp#alice", "alice")
        .await
        .unwrap();
    // Created with 60 s to live; validated under a 200 s policy it is past
    // half its life, so it is extended to a full 200 s.
    let new = store
        .create_session(&alice.id, None, policy(60, 1000))
        .await
        .unwrap();
    let renewed = store
        .validate_session(&new.token, policy(200, 1000))
        .await
        .unwrap()
        .unwrap();
    assert!(renewed.renewed);
    assert!(renewed.session.expires_at >= new.session.expires_at + 139);

    // The absolute limit caps renewal.
    let capped = store
        .create_session(&alice.id, None, policy(100, 150))
        .await
        .unwrap();
    let v = store
        .validate_session(&capped.token, policy(1000, 150))
        .await
        .unwrap()
        .unwrap();
    assert!(v.renewed);
    assert_eq!(v.session.expires_at, v.session.absolute_expires_at);
    let again = store
        .validate_session(&capped.token, policy(1000, 150))
        .await
        .unwrap()
        .unwrap();
    assert!(!again.renewed, "nothing left to extend");
}

#[tokio::test]
async fn expired_sessions_are_absent_and_deleted() {
    let (_db, store) = TestDb::new().await;
    let alice = store
        .find_or_create_user("idp#alice", "alice")
        .await
        .unwrap();
    let expired = store
        .create_session(&alice.id, None, policy(0, 0))
        .await
        .unwrap();
    assert!(
        store
            .validate_session(&expired.token, policy(3600, 3600))
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.user_sessions(&alice.id).await.unwrap().is_empty());

    let stale = store
        .create_session(&alice.id, None, policy(0, 0))
        .await
        .unwrap();
    let live = store
        .create_session(&alice.id, None, policy(3600, 3600))
        .await
        .unwrap();
    assert_eq!(store.delete_expired().await.unwrap(), 1);
    assert!(
        store
            .validate_session(&stale.token, policy(3600, 3600))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .validate_session(&live.token, policy(3600, 3600))
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn sign_out_and_sign_out_everywhere() {
    let (_db, store) = TestDb::new().await;
    let p = policy(3600, 86400);
    let alice = store
        .find_or_create_user("idp#alice", "alice")
        .await
        .unwrap();
    let bob = store.find_or_create_user("idp#bob", "bob").await.unwrap();
    let a1 = store.create_session(&alice.id, None, p).await.unwrap();
    let a2 = store.create_session(&alice.id, None, p).await.unwrap();
    let a3 = store.create_session(&alice.id, None, p).await.unwrap();
    let b1 = store.create_session(&bob.id, None, p).await.unwrap();

    assert!(store.delete_session_by_token(&a1.token).await.unwrap());
    assert!(
        store
            .validate_session(&a1.token, p)
            .await
            .unwrap()
            .is_none()
    );
    assert!(!store.delete_session_by_token(&a1.token).await.unwrap());

    assert_eq!(
        store
            .delete_user_sessions(&alice.id, Some(&a2.session.id))
            .await
            .unwrap(),
        1
    );
    assert!(
        store
            .validate_session(&a2.token, p)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .validate_session(&a3.token, p)
            .await
            .unwrap()
            .is_none()
    );

    assert_eq!(
        store.delete_user_sessions(&alice.id, None).await.unwrap(),
        1
    );
    assert!(
        store
            .validate_session(&a2.token, p)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .validate_session(&b1.token, p)
            .await
            .unwrap()
            .is_some(),
        "bob untouched"
    );
}

#[tokio::test]
async fn users_are_provisioned_once_per_subject() {
    let (_db, store) = TestDb::new().await;
    let first = store.find_or_create_user("idp#42", "alice").await.unwrap();
    assert_eq!(first.display_name, "alice");
    let again = store.find_or_create_user("idp#42", "alice2").await.unwrap();
    assert_eq!(again.id, first.id);
    assert_eq!(again.username, "alice2", "the provider owns the username");
    let other = store
        .find_or_create_user("other-idp#42", "alice")
        .await
        .unwrap();
    assert_ne!(other.id, first.id);
    assert_eq!(
        store.user(&first.id).await.unwrap().unwrap().username,
        "alice2"
    );
}

#[tokio::test]
async fn grants_are_single_use_and_expire() {
    let (_db, store) = TestDb::new().await;
    store
        .put_grant("code", "secret-1", &"payload", Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(
        store
            .peek_grant::<String>("code", "secret-1")
            .await
            .unwrap()
            .as_deref(),
        Some("payload")
    );
    assert_eq!(
        store
            .take_grant::<String>("other-kind", "secret-1")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .take_grant::<String>("code", "secret-1")
            .await
            .unwrap()
            .as_deref(),
        Some("payload")
    );
    assert_eq!(
        store
            .take_grant::<String>("code", "secret-1")
            .await
            .unwrap(),
        None,
        "replayed"
    );

    store
        .put_grant("code", "old", &"payload", Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(
        store.take_grant::<String>("code", "old").await.unwrap(),
        None,
        "expired"
    );
}

#[tokio::test]
async fn a_grant_taken_concurrently_is_won_exactly_once() {
    let (db, store) = TestDb::new().await;
    store
        .put_grant("code", "contested", &1u32, Duration::from_secs(60))
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let url = db.url.clone();
        tasks.push(tokio::spawn(async move {
            let store = Store::connect(&url).await.unwrap();
            store.take_grant::<u32>("code", "contested").await.unwrap()
        }));
    }
    let mut winners = 0;
    for task in tasks {
        winners += usize::from(task.await.unwrap().is_some());
    }
    assert_eq!(winners, 1);
}

#[tokio::test]
async fn several_pools_share_one_file_without_errors() {
    let (db, store) = TestDb::new().await;
    let p = policy(3600, 86400);
    let user = store.find_or_create_user("idp#load", "load").await.unwrap();
    // Three pools stand for the three zone processes.
    let mut pools = Vec::new();
    for _ in 0..3 {
        pools.push(Store::connect(&db.url).await.unwrap());
    }
    let mut tasks = Vec::new();
    for i in 0..60 {
        let store = pools[i % 3].clone();
        let user_id = user.id.clone();
        tasks.push(tokio::spawn(async move {
            let new = store.create_session(&user_id, None, p).await?;
            for _ in 0..5 {
                let found = store.validate_session(&new.token, p).await?;
                assert!(found.is_some());
            }
            if i % 4 == 0 {
                store.delete_session_by_token(&new.token).await?;
            }
            Ok::<_, shared_auth::store::StoreError>(())
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(store.user_sessions(&user.id).await.unwrap().len(), 45);
}

#[tokio::test]
async fn zones_refuse_an_unmigrated_store() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("fresh.sqlite").display());
    let store = Store::connect(&url).await.unwrap();
    let err = store.check_schema().await.unwrap_err().to_string();
    assert!(err.contains("cargo xtask migrate"), "{err}");
    store.migrate().await.unwrap();
    store.check_schema().await.unwrap();
}

#[tokio::test]
async fn a_zone_schema_lives_beside_the_shared_one() {
    let dir = tempfile::tempdir().unwrap();
    let migrations = dir.path().join("zone-migrations");
    std::fs::create_dir(&migrations).unwrap();
    std::fs::write(
        migrations.join("20990101000001_widgets.sql"),
        "CREATE TABLE widgets (id BIGINT PRIMARY KEY);",
    )
    .unwrap();
    let mut zone = shared_auth::store::Migrator::new(migrations.as_path())
        .await
        .unwrap();
    zone.set_ignore_missing(true);

    let url = format!("sqlite://{}", dir.path().join("z.sqlite").display());
    let store = Store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    let err = store.check_schema_of(&zone).await.unwrap_err().to_string();
    assert!(err.contains("20990101000001"), "{err}");
    store.migrate_with(&zone).await.unwrap();
    store.check_schema_of(&zone).await.unwrap();
    // Each set tolerates the other's versions: re-running either is a no-op.
    store.migrate().await.unwrap();
    store.migrate_with(&zone).await.unwrap();
    store.check_schema().await.unwrap();
    sqlx::query("INSERT INTO widgets (id) VALUES (1)")
        .execute(store.pool())
        .await
        .unwrap();
}

#[tokio::test]
async fn unsupported_urls_are_clear_errors() {
    let err = Store::connect("mysql://x").await.unwrap_err().to_string();
    assert!(err.contains("unsupported DATABASE_URL"), "{err}");
}
