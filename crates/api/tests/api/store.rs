//! The store conformance suite: the same checks against every backend. SQLite always; PostgreSQL
//! too when `TEST_DATABASE_URL` is set. Each check gets fresh databases.

use std::sync::Arc;

use api::store::{
    self, AccountData, MeterData, NewReading, NewSession, NewUser, OutgoingMail, ReadingSource,
    RefreshOutcome, Role, Store, TokenOutcome, TokenPurpose, is_unique_violation,
};

use crate::helpers::random_suffix;

/// A fresh store on every backend available, with a name for messages.
async fn backends() -> Vec<(&'static str, Arc<dyn Store>, tempfile::TempDir)> {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = store::connect(&format!(
        "sqlite://{}",
        dir.path().join("c.sqlite3").display()
    ))
    .await
    .unwrap();
    let mut all = vec![("sqlite", sqlite, dir)];
    if let Ok(server) = std::env::var("TEST_DATABASE_URL")
        && !server.is_empty()
    {
        use sqlx::Connection;
        let name = format!("lk_conformance_{}", random_suffix());
        let mut admin = sqlx::PgConnection::connect(&server).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .unwrap();
        let base = server.rsplit_once('/').unwrap().0;
        let pg = store::connect(&format!("{base}/{name}")).await.unwrap();
        all.push(("postgres", pg, tempfile::tempdir().unwrap()));
    }
    all
}

fn user(email: &str) -> NewUser<'_> {
    NewUser {
        email,
        full_name: "Иванов Иван",
        phone: "79876543210",
        password_hash: "$argon2id$fake",
        role: Role::Customer,
        confirmed: false,
        consent_version: "v1",
        now: 1_000,
    }
}

async fn insert_user(store: &dyn Store, email: &str) -> i64 {
    let mut tx = store.begin().await.unwrap();
    let id = tx.insert_user(&user(email)).await.unwrap();
    tx.commit().await.unwrap();
    id
}

#[tokio::test]
async fn users_are_unique_by_email_and_a_rolled_back_unit_leaves_nothing() {
    for (backend, store, _dir) in backends().await {
        let id = insert_user(store.as_ref(), "a@mail.ru").await;
        let found = store.user_by_email("a@mail.ru").await.unwrap().unwrap();
        assert_eq!((found.id, found.role()), (id, Role::Customer), "{backend}");
        assert!(found.email_confirmed_at.is_none());

        let mut tx = store.begin().await.unwrap();
        let error = tx.insert_user(&user("a@mail.ru")).await.unwrap_err();
        assert!(is_unique_violation(&error), "{backend}: {error}");
        drop(tx);

        let mut tx = store.begin().await.unwrap();
        tx.insert_user(&user("b@mail.ru")).await.unwrap();
        tx.enqueue_mail(&mail("b@mail.ru"), 1_000).await.unwrap();
        drop(tx); // no commit
        assert!(
            store.user_by_email("b@mail.ru").await.unwrap().is_none(),
            "{backend}"
        );
        assert_eq!(store.pending_mail().await.unwrap(), 0, "{backend}");
    }
}

#[tokio::test]
async fn tokens_are_single_use_expiring_and_bound_to_their_purpose() {
    for (backend, store, _dir) in backends().await {
        let id = insert_user(store.as_ref(), "t@mail.ru").await;
        let mut tx = store.begin().await.unwrap();
        tx.insert_token(id, TokenPurpose::ConfirmEmail, "h1", None, 1_000, 2_000)
            .await
            .unwrap();
        tx.insert_token(
            id,
            TokenPurpose::ChangeEmail,
            "h2",
            Some("n@mail.ru"),
            1_000,
            2_000,
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();

        let mut tx = store.begin().await.unwrap();
        assert_eq!(
            tx.take_token("h1", TokenPurpose::ResetPassword, 1_500)
                .await
                .unwrap(),
            TokenOutcome::Invalid,
            "{backend}"
        );
        assert_eq!(
            tx.take_token("h2", TokenPurpose::ChangeEmail, 2_000)
                .await
                .unwrap(),
            TokenOutcome::Expired,
            "{backend}"
        );
        assert_eq!(
            tx.take_token("h1", TokenPurpose::ConfirmEmail, 1_500)
                .await
                .unwrap(),
            TokenOutcome::Taken {
                user_id: id,
                payload: None
            },
            "{backend}"
        );
        assert_eq!(
            tx.take_token("h1", TokenPurpose::ConfirmEmail, 1_501)
                .await
                .unwrap(),
            TokenOutcome::Used,
            "{backend}"
        );
        assert_eq!(
            tx.take_token("nope", TokenPurpose::ConfirmEmail, 1_501)
                .await
                .unwrap(),
            TokenOutcome::Invalid
        );
        tx.commit().await.unwrap();
    }
}

#[tokio::test]
async fn refresh_tokens_rotate_and_a_reuse_revokes_the_session() {
    for (backend, store, _dir) in backends().await {
        let id = insert_user(store.as_ref(), "s@mail.ru").await;
        let mut tx = store.begin().await.unwrap();
        let session = tx
            .create_session(&NewSession {
                user_id: id,
                remember: true,
                now: 1_000,
                expires_at: 10_000,
                user_agent: "test",
                ip: "127.0.0.1",
                refresh_hash: "r1",
            })
            .await
            .unwrap();
        let rotated = tx.rotate_refresh("r1", "r2", 1_100).await.unwrap();
        assert_eq!(
            rotated,
            RefreshOutcome::Rotated {
                session_id: session,
                user_id: id,
                remember: true,
                expires_at: 10_000
            },
            "{backend}"
        );
        tx.commit().await.unwrap();
        assert!(
            store
                .user_in_session(id, session, 1_200)
                .await
                .unwrap()
                .is_some(),
            "{backend}"
        );

        let mut tx = store.begin().await.unwrap();
        assert_eq!(
            tx.rotate_refresh("r1", "r3", 1_300).await.unwrap(),
            RefreshOutcome::Reused,
            "{backend}"
        );
        tx.commit().await.unwrap();
        assert!(
            store
                .user_in_session(id, session, 1_400)
                .await
                .unwrap()
                .is_none(),
            "{backend}"
        );
        let mut tx = store.begin().await.unwrap();
        assert_eq!(
            tx.rotate_refresh("r2", "r4", 1_500).await.unwrap(),
            RefreshOutcome::Invalid,
            "{backend}"
        );
        tx.commit().await.unwrap();
        assert!(store.open_sessions(id, 1_500).await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn rate_limit_windows_count_and_restart() {
    for (backend, store, _dir) in backends().await {
        assert_eq!(
            store.hit(&[("k", 60)], 1_000).await.unwrap(),
            vec![(1, 1_000)],
            "{backend}"
        );
        assert_eq!(
            store.hit(&[("k", 60)], 1_030).await.unwrap(),
            vec![(2, 1_000)],
            "{backend}"
        );
        store.forgive_hit("k").await.unwrap();
        assert_eq!(
            store.hit(&[("k", 60)], 1_059).await.unwrap(),
            vec![(2, 1_000)],
            "{backend}"
        );
        assert_eq!(
            store.hit(&[("k", 60)], 1_060).await.unwrap(),
            vec![(1, 1_060)],
            "{backend}"
        );
        store.reset_hits("k").await.unwrap();
        assert_eq!(
            store.hit(&[("k", 60)], 1_061).await.unwrap(),
            vec![(1, 1_061)],
            "{backend}"
        );
        // Several keys, each in its own window, in one write; answers in the order asked.
        assert_eq!(
            store.hit(&[("a", 60), ("k", 600)], 1_062).await.unwrap(),
            vec![(1, 1_062), (2, 1_061)],
            "{backend}"
        );
        // A reset inside a unit of work counts only when it commits.
        let mut tx = store.begin().await.unwrap();
        tx.reset_hits("k").await.unwrap();
        drop(tx);
        assert_eq!(
            store.hit(&[("k", 60)], 1_063).await.unwrap(),
            vec![(3, 1_061)],
            "{backend}"
        );
        let mut tx = store.begin().await.unwrap();
        tx.reset_hits("k").await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(
            store.hit(&[("k", 60)], 1_064).await.unwrap(),
            vec![(1, 1_064)],
            "{backend}"
        );
    }
}

fn mail(to: &str) -> OutgoingMail {
    OutgoingMail {
        recipient: to.into(),
        subject: "s".into(),
        text: "t".into(),
        html: "h".into(),
    }
}

#[tokio::test]
async fn the_outbox_hands_a_message_to_one_sender_and_retries_it() {
    for (backend, store, _dir) in backends().await {
        let mut tx = store.begin().await.unwrap();
        tx.enqueue_mail(&mail("a@mail.ru"), 1_000).await.unwrap();
        tx.commit().await.unwrap();

        let claimed = store
            .claim_mail(1_000, 60)
            .await
            .unwrap()
            .expect("due message");
        assert_eq!(
            (claimed.recipient.as_str(), claimed.attempts),
            ("a@mail.ru", 1),
            "{backend}"
        );
        assert!(
            store.claim_mail(1_010, 60).await.unwrap().is_none(),
            "{backend}: locked"
        );
        store
            .mail_failed(claimed.id, "smtp down", Some(1_100), 1_010)
            .await
            .unwrap();
        assert!(
            store.claim_mail(1_050, 60).await.unwrap().is_none(),
            "{backend}: backing off"
        );
        let again = store.claim_mail(1_100, 60).await.unwrap().expect("retry");
        assert_eq!(
            (again.id, again.attempts, &again.message_id),
            (claimed.id, 2, &claimed.message_id)
        );
        store.mail_sent(again.id, 1_101).await.unwrap();
        assert_eq!(store.pending_mail().await.unwrap(), 0, "{backend}");
        assert!(
            store.claim_mail(5_000, 60).await.unwrap().is_none(),
            "{backend}"
        );

        let mut tx = store.begin().await.unwrap();
        tx.enqueue_mail(&mail("b@mail.ru"), 1_000).await.unwrap();
        tx.commit().await.unwrap();
        let doomed = store.claim_mail(1_000, 60).await.unwrap().unwrap();
        store
            .mail_failed(doomed.id, "bad address", None, 1_001)
            .await
            .unwrap();
        assert_eq!(
            store.pending_mail().await.unwrap(),
            0,
            "{backend}: given up"
        );
    }
}

#[tokio::test]
async fn concurrent_senders_never_claim_the_same_message() {
    for (backend, store, _dir) in backends().await {
        let mut tx = store.begin().await.unwrap();
        for i in 0..20 {
            tx.enqueue_mail(&mail(&format!("u{i}@mail.ru")), 1_000)
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
        let mut tasks = Vec::new();
        for _ in 0..4 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let mut ids = Vec::new();
                while let Some(m) = store.claim_mail(1_000, 60).await.unwrap() {
                    ids.push(m.id);
                }
                ids
            }));
        }
        let mut all = Vec::new();
        for task in tasks {
            all.extend(task.await.unwrap());
        }
        all.sort();
        let before = all.len();
        all.dedup();
        assert_eq!((before, all.len()), (20, 20), "{backend}");
    }
}

#[tokio::test]
async fn a_submission_is_saved_only_at_the_revision_it_was_decided_at() {
    for (name, store, _dir) in backends().await {
        let user = insert_user(store.as_ref(), "revision@mail.ru").await;
        let mut tx = store.begin().await.unwrap();
        let account = tx
            .insert_accounts(
                &[AccountData {
                    number: "720000001",
                    address: "г. Пенза",
                    last_payment_kopecks: Some(50_000),
                    last_payment_date: None,
                }],
                1_000,
            )
            .await
            .unwrap()[0]
            .0;
        let meter = tx
            .insert_meters(
                &[MeterData {
                    account_id: account,
                    name: "ГВС1",
                    kind: "hot_water",
                    serial_number: "23_0000001",
                    place: "",
                    installed_on: None,
                    last_verification: None,
                    next_verification: None,
                    whole_digits: 5,
                    decimals: 3,
                }],
                1_000,
            )
            .await
            .unwrap()[0]
            .0;
        tx.request_link(user, account, 1_000).await.unwrap();
        tx.activate_link(user, account, 1_000).await.unwrap();
        tx.commit().await.unwrap();

        let revision = |store: Arc<dyn Store>| async move {
            store
                .meter_for_submission(user, meter, "2026-12")
                .await
                .unwrap()
                .unwrap()
                .revision
        };
        let read_at = revision(store.clone()).await;
        let reading = |value| NewReading {
            meter_id: meter,
            billing_month: "2026-12".to_owned(),
            value,
            taken_on: "2026-12-04".to_owned(),
            source: ReadingSource::Customer,
            submitted_by: user,
            consumption: None,
            rollover: false,
            confirmed_implausible: false,
            now: 2_000,
        };
        let saved = store
            .save_reading_if_unchanged(&reading(9), read_at)
            .await
            .unwrap();
        assert_eq!(saved.map(|r| r.value), Some(9), "{name}");
        // Decided at the same revision, but something was saved since: nothing is saved.
        let stale = store
            .save_reading_if_unchanged(&reading(1), read_at)
            .await
            .unwrap();
        assert!(stale.is_none(), "{name}");
        assert_eq!(revision(store.clone()).await, read_at + 1, "{name}");
        let kept = store.readings_of_meter(meter).await.unwrap();
        assert_eq!(
            kept.iter().map(|r| r.value).collect::<Vec<_>>(),
            [9],
            "{name}"
        );

        // Billing's changes to the readings move the revision on too.
        let mut tx = store.begin().await.unwrap();
        tx.readings_changed(&[meter]).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(revision(store.clone()).await, read_at + 2, "{name}");
        // A stranger's submission basis is not there at all.
        let stranger = insert_user(store.as_ref(), "stranger@mail.ru").await;
        let theirs = store
            .meter_for_submission(stranger, meter, "2026-12")
            .await
            .unwrap();
        assert!(theirs.is_none(), "{name}");
    }
}

#[tokio::test]
async fn stale_rows_are_purged_and_live_ones_kept() {
    for (backend, store, _dir) in backends().await {
        let id = insert_user(store.as_ref(), "p@mail.ru").await;
        let session = |refresh_hash, expires_at| NewSession {
            user_id: id,
            remember: false,
            now: 1_000,
            expires_at,
            user_agent: "test",
            ip: "127.0.0.1",
            refresh_hash,
        };
        store
            .start_session(&session("live", 100_000), "-")
            .await
            .unwrap();
        store
            .start_session(&session("expired", 2_000), "-")
            .await
            .unwrap();
        let revoked = store
            .start_session(&session("revoked", 100_000), "-")
            .await
            .unwrap();
        let mut tx = store.begin().await.unwrap();
        assert!(tx.revoke_session(id, revoked, 2_500).await.unwrap());
        for (hash, expires_at) in [("old-token", 2_000), ("live-token", 100_000)] {
            tx.insert_token(
                id,
                TokenPurpose::ResetPassword,
                hash,
                None,
                1_000,
                expires_at,
            )
            .await
            .unwrap();
        }
        tx.enqueue_mail(&mail("sent@mail.ru"), 1_000).await.unwrap();
        tx.enqueue_mail(&mail("pending@mail.ru"), 9_000)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let sent = store.claim_mail(1_000, 60).await.unwrap().unwrap();
        store.mail_sent(sent.id, 2_000).await.unwrap();
        store.hit(&[("old", 100_000)], 1_000).await.unwrap();
        store.hit(&[("new", 100_000)], 9_000).await.unwrap();

        let deleted = store.purge_stale(5_000, 5_000).await.unwrap();
        // A counter, a token, two sessions and a letter; refresh tokens go with their sessions.
        assert_eq!(deleted, 5, "{backend}");

        let mut tx = store.begin().await.unwrap();
        assert!(
            matches!(
                tx.rotate_refresh("live", "live-2", 9_000).await.unwrap(),
                RefreshOutcome::Rotated { .. }
            ),
            "{backend}"
        );
        assert_eq!(
            tx.rotate_refresh("expired", "x", 9_000).await.unwrap(),
            RefreshOutcome::Invalid,
            "{backend}"
        );
        assert!(
            matches!(
                tx.take_token("live-token", TokenPurpose::ResetPassword, 9_000)
                    .await
                    .unwrap(),
                TokenOutcome::Taken { .. }
            ),
            "{backend}"
        );
        assert_eq!(
            tx.take_token("old-token", TokenPurpose::ResetPassword, 9_000)
                .await
                .unwrap(),
            TokenOutcome::Invalid,
            "{backend}"
        );
        tx.commit().await.unwrap();
        assert_eq!(store.pending_mail().await.unwrap(), 1, "{backend}");
        // The counter in its window goes on counting; the purged one starts again.
        assert_eq!(
            store
                .hit(&[("new", 100_000), ("old", 100_000)], 9_500)
                .await
                .unwrap(),
            vec![(2, 9_000), (1, 9_500)],
            "{backend}"
        );
        // Nothing more to do.
        assert_eq!(
            store.purge_stale(5_000, 5_000).await.unwrap(),
            0,
            "{backend}"
        );
    }
}
