//! Projects as tenants through the API: personal and service tokens, roles that change
//! at once, names that never collide, and the refusals a user would meet.

use crate::harness::{ADMIN_SECRET, TestApi, problem};
use orrery_client::Client;
use orrery_client::types::{CreateTokenRequest, CreateUserRequest, SetMemberRequest};

const JOB: &str = "name: etl\nproject: {project}\ntasks:\n  - {name: t, type: noop}\n";

fn job_in(project: &str) -> String {
    JOB.replace("{project}", project)
}

async fn user_with_token(api: &TestApi, name: &str) -> Client {
    api.admin
        .create_user(&CreateUserRequest {
            name: name.to_owned(),
            password: Some("a long password".to_owned()),
            cluster_admin: false,
        })
        .await
        .expect("user");
    let token = api
        .admin
        .create_token_with(&CreateTokenRequest {
            name: format!("{name}-laptop"),
            user: Some(name.to_owned()),
            ..Default::default()
        })
        .await
        .expect("token");
    assert_eq!(token.user.as_deref(), Some(name));
    api.client(&token.secret)
}

async fn grant(api: &TestApi, project: &str, user: &str, role: &str) {
    api.admin
        .set_member(
            project,
            &SetMemberRequest {
                user: Some(user.to_owned()),
                group: None,
                role: role.to_owned(),
            },
        )
        .await
        .expect("member");
}

#[tokio::test]
async fn a_personal_token_follows_its_users_roles_and_stops_when_the_user_is_disabled() {
    let api = TestApi::start().await;
    api.admin.create_project("pay", "").await.expect("project");
    let ann = user_with_token(&api, "ann").await;
    // No role yet: the project is invisible.
    let p = problem(ann.get_project("pay").await.expect_err("hidden"));
    assert_eq!(p.status, 404);
    assert!(ann.list_projects().await.expect("list").is_empty());

    grant(&api, "pay", "ann", "viewer").await;
    assert_eq!(ann.get_project("pay").await.expect("visible").name, "pay");
    let me = ann.whoami().await.expect("whoami");
    assert_eq!(
        (me.actor.as_str(), me.kind.as_str(), me.cluster_admin),
        ("user:ann", "user", false)
    );
    assert_eq!(me.roles.get("pay").map(String::as_str), Some("viewer"));
    let p = problem(ann.apply(&job_in("pay"), "yaml").await.expect_err("viewer"));
    assert_eq!(p.status, 403);
    assert!(p.detail.contains("job.apply"), "{}", p.detail);
    assert!(p.detail.contains("editor"), "{}", p.detail);

    // A new role counts from the next request.
    grant(&api, "pay", "ann", "editor").await;
    ann.apply(&job_in("pay"), "yaml")
        .await
        .expect("editor applies");
    let audit = api.store.list_audit(20).await.expect("audit");
    assert!(
        audit
            .iter()
            .any(|a| a.action == "job.create" && a.actor == "user:ann"),
        "{audit:?}"
    );

    api.admin.disable_user("ann").await.expect("disable");
    let p = problem(ann.list_projects().await.expect_err("disabled"));
    assert_eq!(p.status, 401);
}

#[tokio::test]
async fn names_in_different_projects_never_collide_and_lists_show_only_visible_projects() {
    let api = TestApi::start().await;
    for project in ["pay", "ml"] {
        api.admin
            .create_project(project, "")
            .await
            .expect("project");
        api.admin
            .apply(&job_in(project), "yaml")
            .await
            .expect("apply");
    }
    let bob = user_with_token(&api, "bob").await;
    grant(&api, "ml", "bob", "operator").await;
    let jobs = bob.list_jobs().await.expect("jobs");
    let projects: Vec<&str> = jobs.iter().map(|j| j.project.as_str()).collect();
    assert_eq!(projects, ["ml"]);
    let in_ml = bob.clone().in_project("ml");
    let run = in_ml
        .start_run("etl", &Default::default())
        .await
        .expect("operator starts");
    assert_eq!(run.project, "ml");
    let p = problem(
        bob.clone()
            .in_project("pay")
            .start_run("etl", &Default::default())
            .await
            .expect_err("hidden"),
    );
    assert_eq!(p.status, 404);
    // The admin's run in pay is invisible to bob, by id and in lists.
    let theirs = api
        .admin
        .clone()
        .in_project("pay")
        .start_run("etl", &Default::default())
        .await
        .expect("admin starts");
    let p = problem(bob.get_run(theirs.id).await.expect_err("hidden"));
    assert_eq!(p.status, 404);
    let runs = bob.list_runs(&Default::default()).await.expect("runs");
    let ids: Vec<i64> = runs.items.iter().map(|r| r.id).collect();
    assert_eq!(ids, [run.id]);
}

#[tokio::test]
async fn service_tokens_act_in_their_project_only_and_api_tokens_edit_default() {
    let api = TestApi::start().await;
    api.admin.create_project("pay", "").await.expect("project");
    let ci = api
        .admin
        .create_token_with(&CreateTokenRequest {
            name: "ci".to_owned(),
            project: Some("pay".to_owned()),
            role: Some("editor".to_owned()),
            ..Default::default()
        })
        .await
        .expect("service token");
    assert_eq!(
        (ci.project.as_deref(), ci.role.as_deref(), ci.kind.as_str()),
        (Some("pay"), Some("editor"), "api")
    );
    let ci = api.client(&ci.secret);
    ci.apply(&job_in("pay"), "yaml")
        .await
        .expect("in its project");
    let p = problem(
        ci.apply(&job_in("default"), "yaml")
            .await
            .expect_err("elsewhere"),
    );
    assert_eq!(p.status, 404);
    let p = problem(
        ci.create_project("more", "")
            .await
            .expect_err("not a cluster admin"),
    );
    assert_eq!(p.status, 403);
    assert!(p.detail.contains("project.create"), "{}", p.detail);

    // `kind: api` alone is a service token of `default` with role `editor`.
    let shortcut = api.admin.create_token("deploy", "api").await.expect("api");
    assert_eq!(
        (shortcut.project.as_deref(), shortcut.role.as_deref()),
        (Some("default"), Some("editor"))
    );
    let deploy = api.client(&shortcut.secret);
    deploy
        .apply(&job_in("default"), "yaml")
        .await
        .expect("edits default");
    let p = problem(deploy.get_project("pay").await.expect_err("hidden"));
    assert_eq!(p.status, 404);

    // A project's admin lists and revokes its service tokens; never their secrets.
    let listed = api.admin.list_tokens(Some("pay")).await.expect("list");
    assert_eq!(listed.len(), 1);
    let text = serde_json::to_string(&listed).expect("json");
    assert!(!text.contains("secret"), "{text}");
    api.admin.revoke_token(listed[0].id).await.expect("revoke");
    let p = problem(ci.list_jobs().await.expect_err("revoked"));
    assert_eq!(p.status, 401);
}

#[tokio::test]
async fn users_make_their_own_personal_tokens_but_not_anyone_elses() {
    let api = TestApi::start().await;
    let ann = user_with_token(&api, "ann").await;
    api.admin
        .create_user(&CreateUserRequest {
            name: "bob".to_owned(),
            ..Default::default()
        })
        .await
        .expect("bob");
    let own = ann
        .create_token_with(&CreateTokenRequest {
            name: "second".to_owned(),
            user: Some("ann".to_owned()),
            expires_in: Some("30d".to_owned()),
            ..Default::default()
        })
        .await
        .expect("own token");
    assert!(own.expires_at.is_some());
    let p = problem(
        ann.create_token_with(&CreateTokenRequest {
            name: "sneaky".to_owned(),
            user: Some("bob".to_owned()),
            ..Default::default()
        })
        .await
        .expect_err("another user's"),
    );
    assert_eq!(p.status, 403);
    assert!(p.detail.contains("token.user"), "{}", p.detail);
    // Her own tokens only.
    let mine = ann.list_tokens(None).await.expect("list");
    let names: Vec<&str> = mine.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["second", "ann-laptop"]);
}

#[tokio::test]
async fn project_and_token_mistakes_are_refused_naming_the_field() {
    let api = TestApi::start().await;
    let p = problem(
        api.admin
            .apply(&job_in("nowhere"), "yaml")
            .await
            .expect_err("no such project"),
    );
    assert_eq!(p.status, 400);
    assert_eq!(p.errors[0].path, "project");
    assert!(
        p.detail.contains("orrery project create nowhere"),
        "{}",
        p.detail
    );

    let p = problem(
        api.admin
            .create_project("Bad Name", "")
            .await
            .expect_err("name"),
    );
    assert_eq!((p.status, p.errors[0].path.as_str()), (400, "name"));
    api.admin.create_project("pay", "").await.expect("project");
    let p = problem(
        api.admin
            .create_project("pay", "")
            .await
            .expect_err("twice"),
    );
    assert_eq!(p.status, 409);
    api.admin
        .apply(&job_in("pay"), "yaml")
        .await
        .expect("apply");
    let p = problem(api.admin.delete_project("pay").await.expect_err("has jobs"));
    assert_eq!(p.status, 409);
    assert!(p.detail.contains("1 job"), "{}", p.detail);
    let p = problem(
        api.admin
            .delete_project("default")
            .await
            .expect_err("default"),
    );
    assert_eq!(p.status, 409);

    let cases = [
        (
            serde_json::json!({"name": "t", "project": "pay"}),
            &["role"][..],
        ),
        (
            serde_json::json!({"name": "t", "project": "pay", "role": "owner"}),
            &["role"][..],
        ),
        (
            serde_json::json!({"name": "t", "project": "pay", "user": "ann"}),
            &["project"][..],
        ),
        (
            serde_json::json!({"name": "t", "user": "nobody"}),
            &["user"][..],
        ),
        (
            serde_json::json!({"name": "t", "kind": "worker", "expires_in": "soon"}),
            &["expires_in"][..],
        ),
    ];
    for (body, paths) in cases {
        let response = api
            .request(reqwest::Method::POST, "/api/v1/tokens", ADMIN_SECRET)
            .json(&body)
            .send()
            .await
            .expect("send");
        let (status, _, p) = crate::harness::raw_problem(response).await;
        assert_eq!(status, 400, "{body}: {p:?}");
        let got: Vec<&str> = p.errors.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(got, paths, "{body}: {p:?}");
    }
    let p = problem(
        api.admin
            .create_user(&CreateUserRequest {
                name: "ann".to_owned(),
                password: Some("short".to_owned()),
                cluster_admin: false,
            })
            .await
            .expect_err("short password"),
    );
    assert_eq!((p.status, p.errors[0].path.as_str()), (400, "password"));
    assert!(
        !p.detail.contains("short\""),
        "the password is not echoed: {}",
        p.detail
    );
}

#[tokio::test]
async fn a_change_is_audited_with_its_request_id_and_a_project_admin_reads_its_rows() {
    let api = TestApi::start().await;
    api.admin.create_project("pay", "").await.expect("project");
    let response = api
        .request(reqwest::Method::POST, "/api/v1/jobs", ADMIN_SECRET)
        .header("x-request-id", "deploy-42")
        .header(reqwest::header::CONTENT_TYPE, "application/yaml")
        .body(job_in("pay"))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status().as_u16(), 201);
    assert_eq!(
        response
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok()),
        Some("deploy-42")
    );
    // An id the caller did not give is made up, and a malformed one replaced.
    let response = api
        .request(reqwest::Method::GET, "/api/v1/jobs", ADMIN_SECRET)
        .header("x-request-id", "bad id\twith spaces")
        .send()
        .await
        .expect("send");
    let made = response
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(made.len(), 32, "{made}");

    let ann = user_with_token(&api, "ann").await;
    grant(&api, "pay", "ann", "admin").await;
    let page = ann
        .audit(&orrery_client::AuditQuery {
            project: Some("pay".to_owned()),
            action: Some("job.create".to_owned()),
            ..Default::default()
        })
        .await
        .expect("a project admin reads its rows");
    assert_eq!(page.items.len(), 1);
    let row = &page.items[0];
    assert_eq!(
        (
            row.actor.as_str(),
            row.project.as_deref(),
            row.request_id.as_deref()
        ),
        ("token:admin", Some("pay"), Some("deploy-42"))
    );
    assert!(row.hash.as_deref().is_some_and(|h| h.len() == 64));
    // Every row, and the chain, are for cluster admins.
    let p = problem(
        ann.audit(&Default::default())
            .await
            .expect_err("not a cluster admin"),
    );
    assert_eq!(p.status, 403);
    let check = api.admin.verify_audit().await.expect("verify");
    assert!(check.intact && check.checked >= 5, "{check:?}");
}

#[tokio::test]
async fn a_rollback_makes_an_old_spec_the_newest_version_and_is_audited() {
    let api = TestApi::start().await;
    let admin = &api.admin;
    admin.apply(&job_in("default"), "yaml").await.expect("v1");
    admin
        .apply(
            &job_in("default").replace("noop", "shell, script: 'echo v2'"),
            "yaml",
        )
        .await
        .expect("v2");
    let rolled = admin.rollback_job("etl", 1).await.expect("rollback");
    assert_eq!(
        (rolled.version, rolled.status),
        (3, orrery_client::types::ApplyStatus::Updated)
    );
    let job = admin.get_job("etl").await.expect("job");
    let hash_of = |version: u32| {
        job.versions
            .iter()
            .find(|v| v.version == version)
            .map(|v| v.spec_sha256.clone())
            .expect("version")
    };
    assert_eq!(hash_of(3), hash_of(1));
    assert_ne!(hash_of(2), hash_of(1));
    assert!(job.versions.iter().all(|v| v.created_by == "token:admin"));
    // Rolling back to what is already latest changes nothing.
    let again = admin.rollback_job("etl", 1).await.expect("again");
    assert_eq!(
        (again.version, again.status),
        (3, orrery_client::types::ApplyStatus::Unchanged)
    );
    let audit = api.store.list_audit(1).await.expect("audit");
    assert_eq!(
        (
            audit[0].action.as_str(),
            audit[0].before_version,
            audit[0].after_version
        ),
        ("job.rollback", Some(2), Some(3))
    );
    let p = problem(
        admin
            .rollback_job("etl", 9)
            .await
            .expect_err("no such version"),
    );
    assert_eq!((p.status, p.errors[0].path.as_str()), (400, "to"));
    let p = problem(
        admin
            .rollback_job("nope", 1)
            .await
            .expect_err("no such job"),
    );
    assert_eq!(p.status, 404);
}

#[tokio::test]
async fn a_password_buys_a_session_with_the_users_roles_and_failures_look_alike() {
    let api = TestApi::start().await;
    api.admin.create_project("pay", "").await.expect("project");
    let _ann = user_with_token(&api, "ann").await;
    grant(&api, "pay", "ann", "viewer").await;
    let anonymous = Client::new(&api.base, None);
    let login = |username: &str, password: &str| orrery_client::types::LoginRequest {
        username: username.to_owned(),
        password: password.to_owned(),
    };
    let session = anonymous
        .login(&login("ann", "a long password"))
        .await
        .expect("signed in");
    assert_eq!(session.user, "ann");
    let ann = api.client(&session.token);
    assert_eq!(ann.get_project("pay").await.expect("a viewer").name, "pay");

    let wrong = problem(
        anonymous
            .login(&login("ann", "wrong"))
            .await
            .expect_err("wrong"),
    );
    let unknown = problem(
        anonymous
            .login(&login("nobody", "a long password"))
            .await
            .expect_err("unknown"),
    );
    assert_eq!(wrong.status, 401);
    assert_eq!(
        (wrong.status, wrong.detail.as_str()),
        (unknown.status, unknown.detail.as_str()),
        "the answer does not tell which users exist"
    );
    ann.logout().await.expect("sign out");
    let p = problem(ann.list_projects().await.expect_err("signed out"));
    assert_eq!(p.status, 401);
    // The bootstrap token cannot sign out (a stray logout must not lock the cluster).
    let p = problem(api.admin.logout().await.expect_err("not a session"));
    assert_eq!(p.status, 400);
    api.admin.list_projects().await.expect("still works");
    api.admin.disable_user("ann").await.expect("disable");
    let p = problem(
        anonymous
            .login(&login("ann", "a long password"))
            .await
            .expect_err("disabled"),
    );
    assert_eq!(p.status, 401);
}

#[tokio::test]
async fn password_guessing_is_slowed_per_username_whether_or_not_it_exists() {
    let clock = std::sync::Arc::new(orrery_core::clock::ManualClock::new(crate::harness::at(0)));
    let api = TestApi::start_with_clock(clock.clone()).await;
    let _ann = user_with_token(&api, "ann").await;
    let anonymous = Client::new(&api.base, None);
    let attempt = |username: &'static str, password: &'static str| {
        let anonymous = anonymous.clone();
        async move {
            anonymous
                .login(&orrery_client::types::LoginRequest {
                    username: username.to_owned(),
                    password: password.to_owned(),
                })
                .await
        }
    };
    for username in ["ann", "nobody"] {
        for _ in 0..5 {
            let p = problem(attempt(username, "guess").await.expect_err("wrong"));
            assert_eq!(p.status, 401);
        }
        // Now even the right password waits; the answer says so alike for both names.
        let p = problem(
            attempt(username, "a long password")
                .await
                .expect_err("slowed"),
        );
        assert_eq!(p.status, 429, "{username}: {p:?}");
        assert!(p.detail.contains("try again in 1 s"), "{}", p.detail);
    }
    // An absurd username is refused at once, and not remembered.
    let p = problem(
        anonymous
            .login(&orrery_client::types::LoginRequest {
                username: "x".repeat(100_000),
                password: "guess".to_owned(),
            })
            .await
            .expect_err("too long"),
    );
    assert_eq!(p.status, 401);
    // Another username is not affected, and the wait passes with time.
    let response = api
        .http
        .post(format!("{}/api/v1/auth/login", api.base))
        .json(&serde_json::json!({"username": "ann", "password": "a long password"}))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status().as_u16(), 429);
    assert_eq!(
        response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("1")
    );
    clock.advance(chrono::Duration::seconds(2));
    attempt("ann", "a long password")
        .await
        .expect("the right password after the wait");
}

#[tokio::test]
async fn bad_audit_and_secret_requests_are_refused_naming_the_field() {
    let api = TestApi::start().await;
    for (query, field) in [
        ("since=yesterday", "since"),
        ("limit=0", "limit"),
        ("limit=100000", "limit"),
        ("order=sideways", "order"),
        ("cursor=abc", "cursor"),
    ] {
        let response = api
            .request(
                reqwest::Method::GET,
                &format!("/api/v1/audit?{query}"),
                ADMIN_SECRET,
            )
            .send()
            .await
            .expect("send");
        let (status, _, p) = crate::harness::raw_problem(response).await;
        assert_eq!(status, 400, "{query}: {p:?}");
        assert_eq!(p.errors[0].path, field, "{query}: {p:?}");
    }
    for (name, body, field) in [
        ("bad-name", serde_json::json!({"value": "v"}), "name"),
        ("ok_name", serde_json::json!({"value": ""}), "value"),
        (
            "ok_name",
            serde_json::json!({"value": "x".repeat(70_000)}),
            "value",
        ),
    ] {
        let response = api
            .request(
                reqwest::Method::PUT,
                &format!("/api/v1/projects/default/secrets/{name}"),
                ADMIN_SECRET,
            )
            .json(&body)
            .send()
            .await
            .expect("send");
        let (status, _, p) = crate::harness::raw_problem(response).await;
        assert_eq!(status, 400, "{name}: {p:?}");
        assert_eq!(p.errors[0].path, field, "{name}: {p:?}");
    }
    let response = api
        .request(
            reqwest::Method::PUT,
            "/api/v1/projects/default/secrets/ok_name",
            ADMIN_SECRET,
        )
        .json(&serde_json::json!({"value": "v", "extra": 1}))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status().as_u16(), 400);
}
