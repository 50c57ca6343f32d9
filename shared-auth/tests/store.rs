//! The store's conformance suite, run against a real SQLite file and a real
//! PostgreSQL database: sessions (create, validate, renew, expire, revoke),
//! users, single-use grants, migrations (also concurrent ones), and several
//! pools (as several zone processes would) hammering one database at once.

#![allow(clippy::unwrap_used)] // set-up failing is a test failure

use std::time::Duration;

use shared_auth::store::testing::{TestDb, time_to_revoke_elsewhere};
use shared_auth::store::{Backend, RevocationFeed, SessionPolicy, Store};

fn policy(ttl: u64, max_age: u64) -> SessionPolicy {
    SessionPolicy {
        ttl: Duration::from_secs(ttl),
        max_age: Duration::from_secs(max_age),
    }
}

async fn a_session_resolves_to_its_user_by_token_only(db: TestDb) {
    let store = db.migrated().await;
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

async fn only_the_hash_of_the_token_is_stored(db: TestDb) {
    let store = db.migrated().await;
    let alice = store
        .find_or_create_user("idp#alice", "alice")
        .await
        .unwrap();
    let new = store
        .create_session(&alice.id, None, policy(3600, 86400))
        .await
        .unwrap();
    // Every stored value, as text: the token is in none of them.
    let rows: Vec<(String, String, String)> =
        sqlx::query_as("SELECT id, token_hash, user_id FROM sessions")
            .fetch_all(store.pool())
            .await
            .unwrap();
    assert_eq!(rows.len(), 1);
    for (id, token_hash, user_id) in &rows {
        for value in [id, token_hash, user_id] {
            assert!(!value.contains(&new.token), "the raw token is stored");
        }
    }
    store.close().await;
    if db.backend == Backend::Sqlite {
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
}

async fn sessions_past_half_life_are_extended_up_to_the_absolute_limit(db: TestDb) {
    let store = db.migrated().await;
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

async fn expired_sessions_are_absent_and_deleted(db: TestDb) {
    let store = db.migrated().await;
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

async fn every_ended_session_is_logged_in_order(db: TestDb) {
    let store = db.migrated().await;
    let p = policy(3600, 86400);
    let alice = store
        .find_or_create_user("idp#alice", "alice")
        .await
        .unwrap();
    let start = store.revocation_mark().await.unwrap();
    let mut sessions = Vec::new();
    for _ in 0..5 {
        sessions.push(store.create_session(&alice.id, None, p).await.unwrap());
    }
    let id = |n: usize| sessions[n].session.id.clone();
    assert!(store.delete_session(&id(0)).await.unwrap());
    assert!(
        store
            .delete_session_by_token(&sessions[1].token)
            .await
            .unwrap()
    );
    assert!(store.delete_user_session(&alice.id, &id(2)).await.unwrap());
    assert_eq!(
        store
            .delete_user_sessions(&alice.id, Some(&id(4)))
            .await
            .unwrap(),
        1
    );
    // Nothing ended, nothing logged.
    assert!(!store.delete_session("no-such-session").await.unwrap());
    assert!(
        !store
            .delete_user_session("someone-else", &id(4))
            .await
            .unwrap()
    );

    let all = store.revocations_since(start, 100).await.unwrap();
    assert_eq!(all.session_ids, [id(0), id(1), id(2), id(3)]);
    assert_eq!(all.mark, start + 4);
    assert_eq!(store.revocation_mark().await.unwrap(), all.mark);
    let nothing_new = store.revocations_since(all.mark, 100).await.unwrap();
    assert_eq!(
        (nothing_new.session_ids.len(), nothing_new.mark),
        (0, all.mark)
    );
    let first_two = store.revocations_since(start, 2).await.unwrap();
    assert_eq!(
        (first_two.session_ids, first_two.mark),
        (vec![id(0), id(1)], start + 2)
    );

    // Expiry, found by a lookup or by the clean-up, is a revocation too.
    let short = store
        .create_session(&alice.id, None, policy(0, 86400))
        .await
        .unwrap();
    assert_eq!(store.delete_expired().await.unwrap(), 1);
    let expired = store.revocations_since(all.mark, 100).await.unwrap();
    assert_eq!(expired.session_ids, [short.session.id]);
}

async fn concurrent_revocations_get_distinct_numbers(db: TestDb) {
    let store = db.migrated().await;
    let p = policy(3600, 86400);
    let alice = store
        .find_or_create_user("idp#alice", "alice")
        .await
        .unwrap();
    let start = store.revocation_mark().await.unwrap();
    let mut ids = Vec::new();
    for _ in 0..8 {
        ids.push(
            store
                .create_session(&alice.id, None, p)
                .await
                .unwrap()
                .session
                .id,
        );
    }
    let tasks: Vec<_> = ids
        .iter()
        .cloned()
        .map(|id| {
            let store = store.clone();
            tokio::spawn(async move { store.delete_session(&id).await })
        })
        .collect();
    for task in tasks {
        assert!(task.await.unwrap().unwrap());
    }
    let logged = store.revocations_since(start, 100).await.unwrap();
    assert_eq!(logged.mark, start + 8);
    let mut logged = logged.session_ids;
    logged.sort();
    ids.sort();
    assert_eq!(
        logged, ids,
        "each ended session once, no number lost or shared"
    );
}

async fn a_followed_revocation_reaches_the_feed_within_a_second(db: TestDb) {
    let store = db.migrated().await;
    let feed = RevocationFeed::new();
    assert!(
        !feed.is_current(Duration::from_secs(1)),
        "never read: not current"
    );
    let follower = tokio::spawn(
        feed.clone()
            .follow(store.clone(), Duration::from_millis(250)),
    );
    // "Sign out everywhere else", seen from another process's feed.
    let took = time_to_revoke_elsewhere(&store, &feed).await;
    eprintln!(
        "revocation seen by the feed after {took:?} ({})",
        db.backend.name()
    );
    assert!(feed.is_current(Duration::from_secs(1)));
    follower.abort();
    // A feed that cannot read goes stale and says so.
    store.close().await;
    assert!(feed.catch_up(&store).await.is_err());
}

async fn sign_out_and_sign_out_everywhere(db: TestDb) {
    let store = db.migrated().await;
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

async fn users_are_provisioned_once_per_subject(db: TestDb) {
    let store = db.migrated().await;
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

async fn signing_keys_rotate_and_stay_published_until_retired(db: TestDb) {
    let store = db.migrated().await;
    assert_eq!(store.signing_key().await.unwrap(), None);
    assert!(store.add_first_signing_key("k1", "secret-1").await.unwrap());
    assert!(!store.add_first_signing_key("k0", "secret-0").await.unwrap());
    assert_eq!(store.signing_key().await.unwrap().unwrap().kid, "k1");
    store.rotate_signing_key("k2", "secret-2").await.unwrap();
    let signing = store.signing_key().await.unwrap().unwrap();
    assert_eq!((signing.kid.as_str(), signing.retired_at), ("k2", None));
    let now = shared_auth::store::now();
    let published: Vec<String> = store
        .signing_keys(now - 300)
        .await
        .unwrap()
        .into_iter()
        .map(|key| key.kid)
        .collect();
    assert_eq!(published, ["k2", "k1"], "the signing key first");
    let later: Vec<String> = store
        .signing_keys(now + 3600)
        .await
        .unwrap()
        .into_iter()
        .map(|key| key.kid)
        .collect();
    assert_eq!(
        later,
        ["k2"],
        "a key retired long enough ago is no longer published"
    );
    assert_eq!(
        store.delete_retired_signing_keys(now + 3600).await.unwrap(),
        1
    );
    assert_eq!(store.signing_keys(0).await.unwrap().len(), 1);
    assert!(
        !format!("{signing:?}").contains("secret-2"),
        "no private key in Debug"
    );
}

async fn the_first_signing_key_is_added_exactly_once(db: TestDb) {
    let store = db.migrated().await;
    let mut tasks = Vec::new();
    for i in 0..8 {
        let url = db.url.clone();
        tasks.push(tokio::spawn(async move {
            let store = Store::connect(&url).await.unwrap();
            store
                .add_first_signing_key(&format!("k{i}"), "secret")
                .await
                .unwrap()
        }));
    }
    let mut winners = 0;
    for task in tasks {
        winners += usize::from(task.await.unwrap());
    }
    assert_eq!(winners, 1, "one request creates the first key");
    let published = store.signing_keys(0).await.unwrap();
    assert_eq!(published.len(), 1, "{published:?}");
    assert_eq!(
        store.signing_key().await.unwrap().as_ref(),
        published.first()
    );
}

async fn rotations_at_once_all_succeed_and_leave_one_signing_key(db: TestDb) {
    let store = db.migrated().await;
    assert!(store.add_first_signing_key("k0", "secret").await.unwrap());
    let mut tasks = Vec::new();
    for i in 1..=3 {
        let url = db.url.clone();
        tasks.push(tokio::spawn(async move {
            let store = Store::connect(&url).await.unwrap();
            store.rotate_signing_key(&format!("k{i}"), "secret").await
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let keys = store.signing_keys(0).await.unwrap();
    assert_eq!(keys.len(), 4, "{keys:?}");
    let signing: Vec<_> = keys.iter().filter(|key| key.retired_at.is_none()).collect();
    assert_eq!(signing.len(), 1, "{keys:?}");
    assert_eq!(
        store.signing_key().await.unwrap().as_ref(),
        signing.first().copied()
    );
}

async fn a_store_with_two_signing_keys_keeps_the_one_that_signs(db: TestDb) {
    let store = db.connect().await;
    let mut before = shared_auth::store::schema();
    before.migrations = before
        .migrations
        .iter()
        .filter(|migration| migration.version < ONE_SIGNING_KEY_MIGRATION)
        .cloned()
        .collect();
    store.migrate_with(&before).await.unwrap();
    for kid in ["kb", "ka"] {
        sqlx::query(
            "INSERT INTO signing_keys (kid, private_key, created_at, retired_at)
             VALUES ($1, 'secret', 1000, NULL)",
        )
        .bind(kid)
        .execute(store.pool())
        .await
        .unwrap();
    }
    assert_eq!(store.signing_key().await.unwrap().unwrap().kid, "ka");
    store.migrate().await.unwrap();
    let signing = store.signing_key().await.unwrap().unwrap();
    assert_eq!((signing.kid.as_str(), signing.retired_at), ("ka", None));
    let others = store.signing_keys(0).await.unwrap();
    assert_eq!(
        others
            .iter()
            .map(|key| (key.kid.as_str(), key.retired_at))
            .collect::<Vec<_>>(),
        [("ka", None), ("kb", Some(1000))]
    );
}

/// The migration that allows one signing key at a time.
const ONE_SIGNING_KEY_MIGRATION: i64 = 20261201000001;

async fn grants_are_single_use_and_expire(db: TestDb) {
    let store = db.migrated().await;
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

async fn a_grant_taken_concurrently_is_won_exactly_once(db: TestDb) {
    let store = db.migrated().await;
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

async fn several_pools_share_one_database_without_errors(db: TestDb) {
    let store = db.migrated().await;
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

async fn zones_refuse_an_unmigrated_store(db: TestDb) {
    let store = db.connect().await;
    let err = store.check_schema().await.unwrap_err().to_string();
    assert!(err.contains("cargo xtask migrate"), "{err}");
    store.migrate().await.unwrap();
    store.check_schema().await.unwrap();
}

/// Only missing migrations read as "not migrated": a database that cannot
/// be read says so with its own error.
async fn a_schema_check_that_cannot_read_reports_why(db: TestDb) {
    let store = db.migrated().await;
    store.check_schema().await.unwrap();
    store.close().await;
    let err = store.check_schema().await.unwrap_err();
    assert!(
        matches!(err, shared_auth::store::StoreError::Sqlx(_)),
        "a closed pool is not an outdated schema: {err}"
    );
    assert!(!err.to_string().contains("cargo xtask migrate"), "{err}");
}

async fn a_zone_schema_lives_beside_the_shared_one(db: TestDb) {
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

    let store = db.migrated().await;
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

/// Several deploy jobs (or zone binaries with `--migrate`) at once: each
/// migration is applied exactly once and every run succeeds.
async fn concurrent_migrations_apply_each_version_once(db: TestDb) {
    let mut runs = Vec::new();
    for _ in 0..4 {
        let url = db.url.clone();
        runs.push(tokio::spawn(async move {
            let store = Store::connect(&url).await?;
            store.migrate().await?;
            store.check_schema().await?;
            store.close().await;
            Ok::<_, shared_auth::store::StoreError>(())
        }));
    }
    for run in runs {
        run.await.unwrap().unwrap();
    }
    let store = db.connect().await;
    let versions: Vec<i64> = sqlx::query_scalar("SELECT version FROM _sqlx_migrations")
        .fetch_all(store.pool())
        .await
        .unwrap();
    let expected: Vec<i64> = shared_auth::store::schema()
        .iter()
        .map(|m| m.version)
        .collect();
    assert_eq!(versions, expected);
}

/// Returning a session row after its user is gone is impossible: deleting
/// a user takes their sessions along (foreign keys on in both backends).
async fn deleting_a_user_deletes_their_sessions(db: TestDb) {
    let store = db.migrated().await;
    let user = store.find_or_create_user("idp#gone", "gone").await.unwrap();
    let new = store
        .create_session(&user.id, Some("agent"), policy(3600, 86400))
        .await
        .unwrap();
    sqlx::query("DELETE FROM users WHERE id = $1")
        .bind(&user.id)
        .execute(store.pool())
        .await
        .unwrap();
    assert!(
        store
            .validate_session(&new.token, policy(3600, 86400))
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.user_sessions(&user.id).await.unwrap().is_empty());
}

/// Every test above, once on a SQLite file and once on a PostgreSQL
/// database. The PostgreSQL variants need a server: plain `cargo test`
/// lists them as ignored; `cargo xtask test` starts one and runs them with
/// `--include-ignored`. Run without a server, they fail (never pass).
macro_rules! on_every_backend {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$test(super::TestDb::sqlite()).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                #[ignore = "needs PostgreSQL: `cargo xtask test` starts one and runs it"]
                async fn $test() {
                    super::$test(super::TestDb::postgres_required(stringify!($test)).await).await;
                }
            )*
        }
    };
}

on_every_backend!(
    a_session_resolves_to_its_user_by_token_only,
    only_the_hash_of_the_token_is_stored,
    sessions_past_half_life_are_extended_up_to_the_absolute_limit,
    expired_sessions_are_absent_and_deleted,
    sign_out_and_sign_out_everywhere,
    users_are_provisioned_once_per_subject,
    grants_are_single_use_and_expire,
    a_grant_taken_concurrently_is_won_exactly_once,
    several_pools_share_one_database_without_errors,
    zones_refuse_an_unmigrated_store,
    a_schema_check_that_cannot_read_reports_why,
    a_zone_schema_lives_beside_the_shared_one,
    concurrent_migrations_apply_each_version_once,
    deleting_a_user_deletes_their_sessions,
    signing_keys_rotate_and_stay_published_until_retired,
    the_first_signing_key_is_added_exactly_once,
    rotations_at_once_all_succeed_and_leave_one_signing_key,
    a_store_with_two_signing_keys_keeps_the_one_that_signs,
    every_ended_session_is_logged_in_order,
    concurrent_revocations_get_distinct_numbers,
    a_followed_revocation_reaches_the_feed_within_a_second,
);

#[tokio::test]
async fn unsupported_urls_are_clear_errors() {
    let err = Store::connect("mysql://x").await.unwrap_err().to_string();
    assert!(err.contains("unsupported DATABASE_URL"), "{err}");
}
