//! API tokens: create, authenticate by scope, revoke; stored hashed, never in plaintext.

use cmms_core::auth::{Scope, TOUCH_INTERVAL_MS, hash_token};
use cmms_pipeline::auth::{self, AuthError};
use cmms_store::testing::Db;

const NOW: i64 = 1_790_000_000_000;

pub(crate) async fn tokens_authenticate_by_scope_until_revoked(db: Db) {
    let store = &db.store;
    let (row, token) = auth::create_token(store, Some("ci-reader"), &[Scope::Read], NOW).await.unwrap();
    assert_eq!((row.name.as_str(), row.scopes.as_str()), ("ci-reader", "read"));
    assert!(token.starts_with("cmms_") && token.len() == 5 + 64, "{token}");

    let who = auth::authenticate(store, &token, Scope::Read, NOW).await.unwrap();
    assert_eq!((who.token_id, who.name.as_str()), (row.id, "ci-reader"));
    let who = auth::authenticate(store, &format!("Bearer {token}"), Scope::Read, NOW + 1).await.unwrap();
    assert_eq!(who.token_id, row.id);

    for wrong in [Scope::Ingest, Scope::Operate, Scope::Admin] {
        match auth::authenticate(store, &token, wrong, NOW).await {
            Err(e @ AuthError::Forbidden { required, .. }) => {
                assert_eq!(required, wrong);
                assert_eq!(e.http_status(), 403);
                assert_eq!(e.to_string(), format!("this token's scopes (read) do not allow {wrong}"));
            }
            other => panic!("{wrong}: expected Forbidden, got {other:?}"),
        }
    }

    let other = format!("cmms_{}", "0".repeat(64));
    let flipped = format!("{}{}", &token[..token.len() - 1], if token.ends_with('0') { '1' } else { '0' });
    for bad in ["", "Bearer", "garbage", "cmms_", other.as_str(), flipped.as_str(), token.to_uppercase().as_str()] {
        let err = auth::authenticate(store, bad, Scope::Read, NOW).await.unwrap_err();
        assert!(matches!(err, AuthError::Unauthenticated), "{bad:?}: {err:?}");
        assert_eq!(err.http_status(), 401);
    }

    let revoked = auth::revoke_token(store, "ci-reader", NOW + 5).await.unwrap();
    assert_eq!(revoked.revoked_at, Some(NOW + 5));
    let err = auth::authenticate(store, &token, Scope::Read, NOW + 6).await.unwrap_err();
    assert!(matches!(err, AuthError::Unauthenticated), "{err:?}");
    let again = auth::revoke_token(store, &row.id.to_string(), NOW + 7).await.unwrap_err();
    assert!(matches!(again, AuthError::AlreadyRevoked { .. }), "{again:?}");
    assert!(matches!(auth::revoke_token(store, "ci-reader", NOW).await, Err(AuthError::NotFound(_))));
    assert!(matches!(auth::revoke_token(store, "404", NOW).await, Err(AuthError::NotFound(_))));
    assert_eq!(store.tokens().await.unwrap()[0].revoked_at, Some(NOW + 5), "the first revocation time is kept");
}

pub(crate) async fn tokens_are_stored_hashed(db: Db) {
    let store = &db.store;
    let (_, token) = auth::create_token(store, None, &[Scope::Ingest, Scope::Read], NOW).await.unwrap();
    let hashes = store.column_texts("api_tokens", "token_hash").await.unwrap();
    assert_eq!(hashes, vec![hash_token(&token)]);
    for column in ["name", "token_hash", "scopes"] {
        for value in store.column_texts("api_tokens", column).await.unwrap() {
            assert!(!value.contains(&token[5..]), "{column} holds the plaintext token");
        }
    }
    assert!(store.token_by_hash(&token).await.unwrap().is_none(), "the plaintext is not a stored hash");
    let listed = serde_json::to_string(&auth::list_tokens(store).await.unwrap()).unwrap();
    assert!(!listed.contains(&hash_token(&token)) && !listed.contains(&token), "{listed}");
}

pub(crate) async fn admin_allows_everything_and_operate_reads(db: Db) {
    let store = &db.store;
    let (admin, admin_token) = auth::create_token(store, None, &[Scope::Admin], NOW).await.unwrap();
    assert_eq!(admin.name, format!("token-{}", admin.id));
    for s in Scope::ALL {
        auth::authenticate(store, &admin_token, s, NOW).await.unwrap();
    }
    let (_, op) = auth::create_token(store, Some("ops"), &[Scope::Operate, Scope::Operate], NOW).await.unwrap();
    auth::authenticate(store, &op, Scope::Read, NOW).await.unwrap();
    auth::authenticate(store, &op, Scope::Operate, NOW).await.unwrap();
    assert!(matches!(auth::authenticate(store, &op, Scope::Ingest, NOW).await, Err(AuthError::Forbidden { .. })));
    let (_, ingest) = auth::create_token(store, Some("feeder"), &[Scope::Ingest], NOW).await.unwrap();
    auth::authenticate(store, &ingest, Scope::Ingest, NOW).await.unwrap();
    assert!(matches!(auth::authenticate(store, &ingest, Scope::Read, NOW).await, Err(AuthError::Forbidden { .. })));
    let scopes: Vec<String> = auth::list_tokens(store).await.unwrap().into_iter().map(|t| t.scopes).collect();
    assert_eq!(scopes, vec!["admin", "operate", "ingest"]);
}

pub(crate) async fn names_are_unique_among_active_tokens(db: Db) {
    let store = &db.store;
    auth::create_token(store, Some("x"), &[Scope::Read], NOW).await.unwrap();
    let taken = auth::create_token(store, Some("x"), &[Scope::Read], NOW).await.unwrap_err();
    assert!(matches!(taken, AuthError::NameTaken(_)), "{taken:?}");
    for bad in ["12", "token-3", "a b"] {
        let e = auth::create_token(store, Some(bad), &[Scope::Read], NOW).await.unwrap_err();
        assert!(matches!(e, AuthError::InvalidName { .. }), "{bad}: {e:?}");
    }
    assert!(matches!(auth::create_token(store, None, &[], NOW).await, Err(AuthError::Scope(_))));
    auth::revoke_token(store, "x", NOW).await.unwrap();
    let (again, _) = auth::create_token(store, Some("x"), &[Scope::Read], NOW).await.unwrap();
    assert_eq!(auth::revoke_token(store, "x", NOW).await.unwrap().id, again.id, "the name now means the new token");
    assert_eq!(store.count_rows("api_tokens").await.unwrap(), 2);
}

pub(crate) async fn last_use_is_recorded_at_most_once_a_minute(db: Db) {
    let store = &db.store;
    let (row, token) = auth::create_token(store, Some("t"), &[Scope::Read], NOW).await.unwrap();
    let last_used = async || store.token(row.id).await.unwrap().unwrap().last_used_at;
    assert_eq!(last_used().await, None);
    auth::authenticate(store, &token, Scope::Read, NOW + 1_000).await.unwrap();
    assert_eq!(last_used().await, Some(NOW + 1_000));
    auth::authenticate(store, &token, Scope::Read, NOW + 1_000 + TOUCH_INTERVAL_MS - 1).await.unwrap();
    assert_eq!(last_used().await, Some(NOW + 1_000), "throttled");
    let _ = auth::authenticate(store, &token, Scope::Admin, NOW + 1_000 + TOUCH_INTERVAL_MS).await;
    assert_eq!(last_used().await, Some(NOW + 1_000 + TOUCH_INTERVAL_MS), "a forbidden use is still a use");
}
