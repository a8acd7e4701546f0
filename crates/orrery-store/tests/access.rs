//! The store's contract for tenancy and access on both backends: projects, users,
//! members and tokens, each change audited.

mod common;

use common::at;
use orrery_store::records::MemberRecord;
use orrery_store::test_support::{TestBackend, TestStore};
use orrery_store::{NewToken, NewUser, SsoSignIn, StoreError, backend_tests};

backend_tests!(
    the_default_project_exists_and_projects_are_created_once,
    a_project_with_jobs_cannot_be_deleted_and_deleting_one_revokes_its_tokens,
    users_are_created_once_and_their_password_hash_is_only_read_for_sign_in,
    members_get_one_role_per_project_directly_or_by_group,
    tokens_carry_their_owner_expire_and_are_revoked,
    the_audit_log_is_a_chain_that_names_the_first_altered_row,
    secrets_are_versioned_listed_without_values_and_resealed,
    failed_sign_ins_are_counted_per_name_and_old_ones_forgotten,
    sso_sign_ins_create_or_link_a_user_once_and_record_groups,
);

async fn the_default_project_exists_and_projects_are_created_once(test: TestStore) {
    let (reads, intents) = (test.store.api_reads(), test.store.api_intents());
    let names = |projects: Vec<orrery_store::records::ProjectRecord>| {
        projects.into_iter().map(|p| p.name).collect::<Vec<_>>()
    };
    assert_eq!(
        names(reads.list_projects().await.expect("list")),
        ["default"]
    );
    let created = intents
        .create_project("pay", "payments", "alice", at(1))
        .await
        .expect("create");
    assert_eq!(
        reads.get_project("pay").await.expect("get"),
        Some(created.clone())
    );
    assert!(matches!(
        intents.create_project("pay", "", "bob", at(2)).await,
        Err(StoreError::Conflict { .. })
    ));
    let updated = intents
        .update_project("pay", "payments team", "alice", at(3))
        .await
        .expect("update")
        .expect("exists");
    assert_eq!(updated.description, "payments team");
    assert_eq!(
        intents
            .update_project("nope", "", "alice", at(3))
            .await
            .expect("update"),
        None
    );
    assert_eq!(
        names(reads.list_projects().await.expect("list")),
        ["default", "pay"]
    );
    let audit = test.store.list_audit(10).await.expect("audit");
    let actions: Vec<&str> = audit.iter().map(|a| a.action.as_str()).collect();
    assert_eq!(actions, ["project.update", "project.create"]);
}

async fn a_project_with_jobs_cannot_be_deleted_and_deleting_one_revokes_its_tokens(
    test: TestStore,
) {
    let (reads, intents) = (test.store.api_reads(), test.store.api_intents());
    for name in ["empty", "busy"] {
        intents
            .create_project(name, "", "alice", at(1))
            .await
            .expect("create");
    }
    let token = intents
        .create_token(
            &NewToken {
                name: "ci",
                kind: "api",
                secret: "empty-ci-secret",
                user_id: None,
                project: Some("empty"),
                role: Some("editor"),
                expires_at: None,
            },
            "alice",
            at(2),
        )
        .await
        .expect("token");
    intents
        .apply_job(&orrery_store::JobApply {
            project: "busy",
            name: "j",
            canonical_spec: "{}",
            paused: None,
            actor: "alice",
            now: at(3),
        })
        .await
        .expect("apply");
    match intents.delete_project("busy", "alice", at(4)).await {
        Err(StoreError::Conflict { message }) => assert!(message.contains("1 job"), "{message}"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert!(
        intents
            .delete_project("empty", "alice", at(5))
            .await
            .expect("delete")
    );
    assert!(
        !intents
            .delete_project("empty", "alice", at(6))
            .await
            .expect("again")
    );
    assert_eq!(reads.get_project("empty").await.expect("get"), None);
    let stored = reads.get_token(token.id).await.expect("get").expect("kept");
    assert_eq!(stored.revoked_at, Some(at(5)));
    assert!(!stored.is_live(at(5)));
}

async fn users_are_created_once_and_their_password_hash_is_only_read_for_sign_in(test: TestStore) {
    let (reads, intents) = (test.store.api_reads(), test.store.api_intents());
    let ann = intents
        .create_user(
            &NewUser {
                name: "ann",
                password_hash: Some("$argon2id$stand-in"),
                cluster_admin: true,
            },
            "root",
            at(1),
        )
        .await
        .expect("create");
    assert!(ann.cluster_admin && ann.has_password);
    let sso = intents
        .create_user(
            &NewUser {
                name: "bob@example.com",
                password_hash: None,
                cluster_admin: false,
            },
            "root",
            at(1),
        )
        .await
        .expect("create");
    assert!(!sso.has_password);
    assert!(matches!(
        intents
            .create_user(
                &NewUser {
                    name: "ann",
                    password_hash: None,
                    cluster_admin: false
                },
                "root",
                at(2)
            )
            .await,
        Err(StoreError::Conflict { .. })
    ));
    let (found, hash) = reads
        .user_with_hash("ann")
        .await
        .expect("read")
        .expect("ann");
    assert_eq!((found, hash.as_deref()), (ann, Some("$argon2id$stand-in")));
    assert!(
        intents
            .disable_user("ann", "root", at(3))
            .await
            .expect("disable")
    );
    assert!(
        !intents
            .disable_user("ann", "root", at(4))
            .await
            .expect("again")
    );
    let users = reads.list_users().await.expect("list");
    let summary: Vec<_> = users
        .iter()
        .map(|u| (u.name.as_str(), u.disabled_at))
        .collect();
    assert_eq!(summary, [("ann", Some(at(3))), ("bob@example.com", None)]);
}

async fn members_get_one_role_per_project_directly_or_by_group(test: TestStore) {
    let (reads, intents) = (test.store.api_reads(), test.store.api_intents());
    intents
        .create_project("pay", "", "root", at(0))
        .await
        .expect("project");
    let member = |project: &str, kind: &str, subject: &str, role: &str| MemberRecord {
        project: project.to_owned(),
        subject_kind: kind.to_owned(),
        subject: subject.to_owned(),
        role: role.to_owned(),
        added_at: at(1),
    };
    for record in [
        member("pay", "user", "ann", "viewer"),
        member("pay", "user", "ann", "editor"),
        member("default", "user", "ann", "operator"),
        member("pay", "group", "sre", "admin"),
    ] {
        intents.set_member(&record, "root").await.expect("set");
    }
    let mut direct = reads.roles_of("ann", &[]).await.expect("roles");
    direct.sort();
    assert_eq!(
        direct,
        [
            ("default".to_owned(), "operator".to_owned()),
            ("pay".to_owned(), "editor".to_owned())
        ]
    );
    let with_group = reads
        .roles_of("ann", &["sre".to_owned()])
        .await
        .expect("roles");
    assert!(with_group.contains(&("pay".to_owned(), "admin".to_owned())));
    let listed = reads.list_members("pay").await.expect("list");
    let subjects: Vec<_> = listed
        .iter()
        .map(|m| (m.subject_kind.as_str(), m.subject.as_str(), m.role.as_str()))
        .collect();
    assert_eq!(
        subjects,
        [("user", "ann", "editor"), ("group", "sre", "admin")]
    );
    assert!(
        intents
            .remove_member("pay", "user", "ann", "root", at(2))
            .await
            .expect("remove")
    );
    assert!(
        !intents
            .remove_member("pay", "user", "ann", "root", at(2))
            .await
            .expect("again")
    );
    assert_eq!(
        reads.roles_of("ann", &[]).await.expect("roles"),
        [("default".to_owned(), "operator".to_owned())]
    );
    // Members of a project that does not exist are refused by the database.
    assert!(
        intents
            .set_member(&member("ghost", "user", "ann", "viewer"), "root")
            .await
            .is_err()
    );
}

async fn tokens_carry_their_owner_expire_and_are_revoked(test: TestStore) {
    let (reads, intents) = (test.store.api_reads(), test.store.api_intents());
    let user = intents
        .create_user(
            &NewUser {
                name: "ann",
                password_hash: None,
                cluster_admin: false,
            },
            "root",
            at(0),
        )
        .await
        .expect("user");
    let personal = intents
        .create_token(
            &NewToken {
                name: "laptop",
                kind: "api",
                secret: "ann-secret",
                user_id: Some(user.id),
                project: None,
                role: None,
                expires_at: Some(at(100)),
            },
            "root",
            at(1),
        )
        .await
        .expect("token");
    let owner = personal.user.as_ref().expect("a personal token");
    assert_eq!((owner.id, owner.name.as_str()), (user.id, "ann"));
    assert_eq!(personal.created_by.as_deref(), Some("root"));
    assert!(personal.is_live(at(99)) && !personal.is_live(at(100)));
    let found = reads
        .find_token("ann-secret")
        .await
        .expect("find")
        .expect("token");
    assert_eq!(found, personal);
    // Use is noted at most once a minute.
    intents.touch_token(&found, at(10)).await.expect("touch");
    let touched = reads
        .get_token(found.id)
        .await
        .expect("get")
        .expect("token");
    assert_eq!(touched.last_used_at, Some(at(10)));
    intents.touch_token(&touched, at(30)).await.expect("touch");
    assert_eq!(
        reads
            .get_token(found.id)
            .await
            .expect("get")
            .expect("token")
            .last_used_at,
        Some(at(10))
    );
    // A disabled user's token stops working.
    intents
        .disable_user("ann", "root", at(40))
        .await
        .expect("disable");
    let found = reads
        .find_token("ann-secret")
        .await
        .expect("find")
        .expect("token");
    assert!(!found.is_live(at(41)));
    assert!(
        intents
            .revoke_token(found.id, "root", at(42))
            .await
            .expect("revoke")
    );
    assert!(
        !intents
            .revoke_token(found.id, "root", at(43))
            .await
            .expect("again")
    );
    let listed = reads.list_tokens(None).await.expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].revoked_at, Some(at(42)));
    assert!(
        reads
            .list_tokens(Some("pay"))
            .await
            .expect("list")
            .is_empty()
    );
}

/// Runs one statement on the test database behind the store's back, as an attacker
/// with database access would.
async fn tamper(test: &TestStore, sql: &str) {
    match test.backend() {
        TestBackend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&test.url())
                .await
                .expect("raw connect");
            sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
                .execute(&pool)
                .await
                .expect("tamper");
            pool.close().await;
        }
        TestBackend::Postgres => {
            let pool = sqlx::PgPool::connect(&test.url())
                .await
                .expect("raw connect");
            sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
                .execute(&pool)
                .await
                .expect("tamper");
            pool.close().await;
        }
    }
}

async fn the_audit_log_is_a_chain_that_names_the_first_altered_row(test: TestStore) {
    let (reads, intents) = (test.store.api_reads(), test.store.api_intents());
    let request = orrery_store::RequestMeta {
        request_id: "req-1".to_owned(),
        client_address: Some("127.0.0.1:5555".to_owned()),
    };
    orrery_store::in_request(request, async {
        for name in ["a", "b", "c", "d"] {
            intents
                .create_project(name, "", "alice", at(1))
                .await
                .expect("create");
        }
    })
    .await;
    let rows = test.store.list_audit(10).await.expect("audit");
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[0].project.as_deref(), Some("d"));
    assert_eq!(rows[0].request_id.as_deref(), Some("req-1"));
    assert_eq!(rows[0].client_address.as_deref(), Some("127.0.0.1:5555"));
    assert_eq!(rows[0].prev_hash, rows[1].hash);
    let intact = reads.verify_audit().await.expect("verify");
    assert_eq!((intact.checked, intact.first_broken), (4, None));

    // An edited row fails its own hash.
    let (b, c) = (rows[2].id, rows[1].id);
    tamper(
        &test,
        &format!("UPDATE audit_log SET actor = 'mallory' WHERE id = {b}"),
    )
    .await;
    let check = reads.verify_audit().await.expect("verify");
    let (id, reason) = check.first_broken.expect("broken");
    assert_eq!(id, b);
    assert!(reason.contains("edited"), "{reason}");
    tamper(
        &test,
        &format!("UPDATE audit_log SET actor = 'alice' WHERE id = {b}"),
    )
    .await;
    assert_eq!(
        reads.verify_audit().await.expect("verify").first_broken,
        None
    );

    // A removed row breaks the link of the one after it.
    tamper(&test, &format!("DELETE FROM audit_log WHERE id = {b}")).await;
    let check = reads.verify_audit().await.expect("verify");
    let (id, reason) = check.first_broken.expect("broken");
    assert_eq!(id, c);
    assert!(reason.contains("does not follow"), "{reason}");
}

async fn secrets_are_versioned_listed_without_values_and_resealed(test: TestStore) {
    let (reads, intents) = (test.store.api_reads(), test.store.api_intents());
    let leader = orrery_store::test_support::leader_of(&test.store).await;
    let sealed = |key: &str, byte: u8| orrery_store::SealedSecret {
        key_id: key.to_owned(),
        nonce: vec![byte; 12],
        ciphertext: vec![byte; 20],
    };
    let first = intents
        .set_secret("default", "token", &sealed("old", 1), "alice", at(1))
        .await
        .expect("set");
    assert_eq!(first.version, 1);
    let second = intents
        .set_secret("default", "token", &sealed("old", 2), "bob", at(2))
        .await
        .expect("set again");
    assert_eq!((second.version, second.updated_by.as_str()), (2, "bob"));
    intents
        .set_secret("default", "other", &sealed("new", 3), "alice", at(3))
        .await
        .expect("set");
    let listed = reads.list_secrets("default").await.expect("list");
    let names: Vec<(&str, u32)> = listed
        .iter()
        .map(|s| (s.name.as_str(), s.version))
        .collect();
    assert_eq!(names, [("other", 1), ("token", 2)]);
    // The scheduler reads the sealed bytes back as written.
    let found = leader
        .sealed_secrets("default", &["token".to_owned(), "missing".to_owned()])
        .await
        .expect("sealed");
    assert_eq!(found, [("token".to_owned(), sealed("old", 2))]);
    // Re-sealing touches only what is not under the current key.
    let outcome = intents
        .reseal_secrets(
            "new",
            |_, _, old| {
                let mut fresh = old.clone();
                fresh.key_id = "new".to_owned();
                Ok(fresh)
            },
            "root",
            at(4),
        )
        .await
        .expect("reseal");
    assert_eq!((outcome.resealed, outcome.current), (1, 1));
    let found = leader
        .sealed_secrets("default", &["token".to_owned()])
        .await
        .expect("sealed");
    assert_eq!(found[0].1.key_id, "new");
    assert!(
        intents
            .delete_secret("default", "token", "root", at(5))
            .await
            .expect("delete")
    );
    assert!(
        !intents
            .delete_secret("default", "token", "root", at(5))
            .await
            .expect("again")
    );
    let audit = test.store.list_audit(10).await.expect("audit");
    let actions: Vec<&str> = audit.iter().map(|a| a.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "secret.delete",
            "secret.reseal",
            "secret.set",
            "secret.set",
            "secret.set"
        ]
    );
    assert!(
        audit
            .iter()
            .all(|a| a.project.as_deref() == Some("default"))
    );
}

async fn failed_sign_ins_are_counted_per_name_and_old_ones_forgotten(test: TestStore) {
    let (reads, intents) = (test.store.api_reads(), test.store.api_intents());
    assert_eq!(reads.login_failures("ann").await.expect("read"), None);
    for k in 0..3 {
        intents
            .record_login_failure("ann", at(10 + k), at(0))
            .await
            .expect("record");
    }
    intents
        .record_login_failure("old", at(1), at(0))
        .await
        .expect("record");
    assert_eq!(
        reads.login_failures("ann").await.expect("read"),
        Some((3, at(12)))
    );
    // A failure at 100 s forgets those last seen before 5 s.
    intents
        .record_login_failure("bob", at(100), at(5))
        .await
        .expect("record");
    assert_eq!(reads.login_failures("old").await.expect("read"), None);
    assert_eq!(
        reads.login_failures("ann").await.expect("read"),
        Some((3, at(12)))
    );
    intents.clear_login_failures("ann").await.expect("clear");
    assert_eq!(reads.login_failures("ann").await.expect("read"), None);
}

async fn sso_sign_ins_create_or_link_a_user_once_and_record_groups(test: TestStore) {
    let (reads, intents) = (test.store.api_reads(), test.store.api_intents());
    let groups = |names: &[&str]| names.iter().map(|g| (*g).to_owned()).collect::<Vec<_>>();
    let first = groups(&["pay-devs"]);
    let alice = intents
        .sso_sign_in(
            &SsoSignIn {
                subject: "https://id#1",
                username: "alice",
                groups: &first,
            },
            at(1),
        )
        .await
        .expect("first sign-in");
    assert!(!alice.has_password && !alice.cluster_admin);
    // Her token sees the groups of her latest sign-in.
    let token = |secret: &'static str, user_id: i64| NewToken {
        name: "session",
        kind: "api",
        secret,
        user_id: Some(user_id),
        project: None,
        role: None,
        expires_at: None,
    };
    intents
        .create_token(&token("alice-1", alice.id), "sso", at(1))
        .await
        .expect("token");
    let seen = |secret: &'static str| {
        let reads = reads.clone();
        async move {
            reads
                .find_token(secret)
                .await
                .expect("find")
                .expect("token")
                .user
                .expect("personal")
                .groups
        }
    };
    assert_eq!(seen("alice-1").await, ["pay-devs"]);
    // Same subject, new groups, even a new display name: the same user.
    let later = groups(&["ml-ops", "pay-admins"]);
    let again = intents
        .sso_sign_in(
            &SsoSignIn {
                subject: "https://id#1",
                username: "alice.renamed",
                groups: &later,
            },
            at(2),
        )
        .await
        .expect("second sign-in");
    assert_eq!((again.id, again.name.as_str()), (alice.id, "alice"));
    assert_eq!(seen("alice-1").await, ["ml-ops", "pay-admins"]);
    // Another subject naming itself after alice does not become her.
    let error = intents
        .sso_sign_in(
            &SsoSignIn {
                subject: "https://id#2",
                username: "alice",
                groups: &[],
            },
            at(3),
        )
        .await
        .expect_err("a taken name");
    assert!(
        matches!(&error, StoreError::Conflict { message } if message.contains("alice")),
        "{error}"
    );
    // Nor a local user with a password.
    intents
        .create_user(
            &NewUser {
                name: "root",
                password_hash: Some("$argon2id$stand-in"),
                cluster_admin: true,
            },
            "orrery",
            at(3),
        )
        .await
        .expect("local user");
    assert!(matches!(
        intents
            .sso_sign_in(
                &SsoSignIn {
                    subject: "https://id#3",
                    username: "root",
                    groups: &[],
                },
                at(4),
            )
            .await,
        Err(StoreError::Conflict { .. })
    ));
    // A user made ahead without a password (so roles can be given before the first
    // sign-in) is linked to the first subject that signs in under its name.
    let bob = intents
        .create_user(
            &NewUser {
                name: "bob",
                password_hash: None,
                cluster_admin: false,
            },
            "root",
            at(4),
        )
        .await
        .expect("bob");
    let linked = intents
        .sso_sign_in(
            &SsoSignIn {
                subject: "https://id#4",
                username: "bob",
                groups: &[],
            },
            at(5),
        )
        .await
        .expect("link");
    assert_eq!(linked.id, bob.id);
    assert!(matches!(
        intents
            .sso_sign_in(
                &SsoSignIn {
                    subject: "https://id#5",
                    username: "bob",
                    groups: &[],
                },
                at(6),
            )
            .await,
        Err(StoreError::Conflict { .. })
    ));
    let audit = test.store.list_audit(20).await.expect("audit");
    let actions: Vec<(&str, &str)> = audit
        .iter()
        .filter(|row| row.actor == "sso")
        .map(|row| (row.action.as_str(), row.resource.as_str()))
        .collect();
    assert!(
        actions.contains(&("user.create", "user/alice")),
        "{actions:?}"
    );
    assert!(actions.contains(&("user.link", "user/bob")), "{actions:?}");
}
