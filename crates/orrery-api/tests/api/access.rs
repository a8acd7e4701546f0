//! Every API route is authorized: the route table (read from the OpenAPI document, so
//! a new route cannot be left out) × {no token, viewer, operator, editor, admin of the
//! project, another project's admin, a cluster admin, an expired and a revoked token}.

use crate::harness::{ADMIN_SECRET, TestApi, at};
use orrery_client::types::{CreateTokenRequest, CreateUserRequest, SetMemberRequest};
use orrery_core::clock::ManualClock;
use reqwest::Method;
use std::collections::BTreeSet;
use std::sync::Arc;

/// What a route needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Needs {
    /// No token needed; every caller gets this status.
    Public(u16),
    /// Any valid token.
    SignedIn,
    /// A user's token (2xx); any other valid token is refused with 400.
    UserSession,
    /// At least this role in project `pay` (0 viewer … 3 admin).
    Role(u8, &'static str),
    /// A cluster admin; the permission a refusal names.
    ClusterAdmin(&'static str),
}

const VIEWER: u8 = 0;
const OPERATOR: u8 = 1;
const EDITOR: u8 = 2;
const ADMIN: u8 = 3;

/// One call of the table. `{who}` in a path or body is the caller's label, so
/// destructive calls act on an object of their own.
struct Call {
    method: Method,
    /// The OpenAPI path template it exercises.
    template: &'static str,
    path: &'static str,
    body: Option<&'static str>,
    needs: Needs,
}

fn call(
    method: Method,
    template: &'static str,
    path: &'static str,
    body: Option<&'static str>,
    needs: Needs,
) -> Call {
    Call {
        method,
        template,
        path,
        body,
        needs,
    }
}

fn table() -> Vec<Call> {
    use Needs::*;
    let (get, post, patch, delete) = (Method::GET, Method::POST, Method::PATCH, Method::DELETE);
    vec![
        call(
            post.clone(),
            "/api/v1/jobs",
            "/api/v1/jobs",
            Some("name: applied-{who}\nproject: pay\ntasks:\n  - {name: t, type: noop}\n"),
            Role(EDITOR, "job.apply"),
        ),
        call(
            get.clone(),
            "/api/v1/jobs",
            "/api/v1/jobs?project=pay",
            None,
            Role(VIEWER, "job.read"),
        ),
        call(
            get.clone(),
            "/api/v1/jobs/{name}",
            "/api/v1/jobs/j?project=pay",
            None,
            Role(VIEWER, "job.read"),
        ),
        call(
            delete.clone(),
            "/api/v1/jobs/{name}",
            "/api/v1/jobs/doomed-{who}?project=pay",
            None,
            Role(EDITOR, "job.delete"),
        ),
        call(
            post.clone(),
            "/api/v1/jobs/{name}/runs",
            "/api/v1/jobs/j/runs",
            Some(r#"{"project": "pay"}"#),
            Role(OPERATOR, "run.start"),
        ),
        call(
            post.clone(),
            "/api/v1/jobs/{name}/pause",
            "/api/v1/jobs/j/pause?project=pay",
            None,
            Role(OPERATOR, "job.pause"),
        ),
        call(
            post.clone(),
            "/api/v1/jobs/{name}/resume",
            "/api/v1/jobs/j/resume?project=pay",
            None,
            Role(OPERATOR, "job.pause"),
        ),
        call(
            get.clone(),
            "/api/v1/jobs/{name}/occurrences",
            "/api/v1/jobs/j/occurrences?project=pay",
            None,
            Role(VIEWER, "job.read"),
        ),
        call(
            post.clone(),
            "/api/v1/jobs/{name}/backfill",
            "/api/v1/jobs/j/backfill",
            Some(
                r#"{"from": "2027-01-01T00:00:00Z", "to": "2027-01-02T00:00:00Z", "project": "pay"}"#,
            ),
            Role(OPERATOR, "job.backfill"),
        ),
        call(
            get.clone(),
            "/api/v1/jobs/{name}/graph",
            "/api/v1/jobs/j/graph?project=pay",
            None,
            Role(VIEWER, "job.read"),
        ),
        call(
            get.clone(),
            "/api/v1/runs",
            "/api/v1/runs?project=pay",
            None,
            Role(VIEWER, "run.read"),
        ),
        call(
            get.clone(),
            "/api/v1/runs/{id}",
            "/api/v1/runs/{run}",
            None,
            Role(VIEWER, "run.read"),
        ),
        call(
            post.clone(),
            "/api/v1/runs/{id}/cancel",
            "/api/v1/runs/{run}/cancel",
            None,
            Role(OPERATOR, "run.cancel"),
        ),
        call(
            post.clone(),
            "/api/v1/runs/{id}/rerun",
            "/api/v1/runs/{run}/rerun",
            None,
            Role(OPERATOR, "run.rerun"),
        ),
        call(
            post.clone(),
            "/api/v1/runs/{id}/tasks/{task}/retry",
            "/api/v1/runs/{run}/tasks/t/retry",
            None,
            Role(OPERATOR, "task.retry"),
        ),
        call(
            post.clone(),
            "/api/v1/runs/{id}/tasks/{task}/mark",
            "/api/v1/runs/{run}/tasks/t/mark",
            Some(r#"{"state": "success"}"#),
            Role(OPERATOR, "task.mark"),
        ),
        call(
            get.clone(),
            "/api/v1/runs/{id}/logs",
            "/api/v1/runs/{run}/logs",
            None,
            Role(VIEWER, "run.read"),
        ),
        call(
            get.clone(),
            "/api/v1/workers",
            "/api/v1/workers",
            None,
            SignedIn,
        ),
        call(
            post.clone(),
            "/api/v1/workers/{name}/drain",
            "/api/v1/workers/nobody/drain",
            None,
            ClusterAdmin("worker.manage"),
        ),
        call(
            get.clone(),
            "/api/v1/cluster",
            "/api/v1/cluster",
            None,
            SignedIn,
        ),
        call(
            post.clone(),
            "/api/v1/tokens",
            "/api/v1/tokens",
            Some(r#"{"name": "t-{who}", "project": "pay", "role": "viewer"}"#),
            Role(ADMIN, "token.project"),
        ),
        call(
            get.clone(),
            "/api/v1/tokens",
            "/api/v1/tokens?project=pay",
            None,
            Role(ADMIN, "token.project"),
        ),
        call(
            delete.clone(),
            "/api/v1/tokens/{id}",
            "/api/v1/tokens/{token}",
            None,
            Role(ADMIN, "token.project"),
        ),
        call(
            get.clone(),
            "/api/v1/projects",
            "/api/v1/projects",
            None,
            SignedIn,
        ),
        call(
            post.clone(),
            "/api/v1/projects",
            "/api/v1/projects",
            Some(r#"{"name": "new-{who}"}"#),
            ClusterAdmin("project.create"),
        ),
        call(
            get.clone(),
            "/api/v1/projects/{name}",
            "/api/v1/projects/pay",
            None,
            Role(VIEWER, "project.read"),
        ),
        call(
            patch,
            "/api/v1/projects/{name}",
            "/api/v1/projects/pay",
            Some(r#"{"description": "payments"}"#),
            Role(ADMIN, "project.update"),
        ),
        call(
            delete.clone(),
            "/api/v1/projects/{name}",
            "/api/v1/projects/gone-{who}",
            None,
            ClusterAdmin("project.delete"),
        ),
        call(
            get.clone(),
            "/api/v1/projects/{name}/members",
            "/api/v1/projects/pay/members",
            None,
            Role(VIEWER, "project.read"),
        ),
        call(
            post.clone(),
            "/api/v1/projects/{name}/members",
            "/api/v1/projects/pay/members",
            Some(r#"{"user": "victim-{who}", "role": "operator"}"#),
            Role(ADMIN, "member.manage"),
        ),
        call(
            delete.clone(),
            "/api/v1/projects/{name}/members/users/{user}",
            "/api/v1/projects/pay/members/users/victim-{who}",
            None,
            Role(ADMIN, "member.manage"),
        ),
        call(
            delete,
            "/api/v1/projects/{name}/members/groups/{group}",
            "/api/v1/projects/pay/members/groups/g-{who}",
            None,
            Role(ADMIN, "member.manage"),
        ),
        call(
            get,
            "/api/v1/users",
            "/api/v1/users",
            None,
            ClusterAdmin("user.manage"),
        ),
        call(
            post.clone(),
            "/api/v1/users",
            "/api/v1/users",
            Some(r#"{"name": "u-{who}"}"#),
            ClusterAdmin("user.manage"),
        ),
        call(
            post,
            "/api/v1/users/{name}/disable",
            "/api/v1/users/victim-{who}/disable",
            None,
            ClusterAdmin("user.manage"),
        ),
        call(
            Method::POST,
            "/api/v1/jobs/{name}/rollback",
            "/api/v1/jobs/j/rollback",
            Some(r#"{"to": 1, "project": "pay"}"#),
            Role(EDITOR, "job.apply"),
        ),
        call(
            Method::GET,
            "/api/v1/projects/{name}/secrets",
            "/api/v1/projects/pay/secrets",
            None,
            Role(VIEWER, "secret.list"),
        ),
        call(
            Method::PUT,
            "/api/v1/projects/{name}/secrets/{secret}",
            "/api/v1/projects/pay/secrets/shared",
            Some(r#"{"value": "s3cr3t"}"#),
            Role(EDITOR, "secret.set"),
        ),
        call(
            Method::DELETE,
            "/api/v1/projects/{name}/secrets/{secret}",
            "/api/v1/projects/pay/secrets/doomed_{who_}",
            None,
            Role(EDITOR, "secret.set"),
        ),
        call(
            Method::GET,
            "/api/v1/projects/{name}/alerts",
            "/api/v1/projects/pay/alerts?state=firing",
            None,
            Role(VIEWER, "alert.read"),
        ),
        call(
            Method::GET,
            "/api/v1/projects/{name}/alerts/history",
            "/api/v1/projects/pay/alerts/history",
            None,
            Role(VIEWER, "alert.read"),
        ),
        call(
            Method::GET,
            "/api/v1/projects/{name}/silences",
            "/api/v1/projects/pay/silences",
            None,
            Role(VIEWER, "alert.read"),
        ),
        call(
            Method::POST,
            "/api/v1/projects/{name}/silences",
            "/api/v1/projects/pay/silences",
            Some(r#"{"matchers": {"job": "j"}, "duration": "1h", "comment": "by {who}"}"#),
            Role(OPERATOR, "alert.operate"),
        ),
        call(
            Method::POST,
            "/api/v1/projects/{name}/silences/{id}/expire",
            "/api/v1/projects/pay/silences/{silence}/expire",
            None,
            Role(OPERATOR, "alert.operate"),
        ),
        call(
            Method::GET,
            "/api/v1/projects/{name}/receivers",
            "/api/v1/projects/pay/receivers",
            None,
            Role(VIEWER, "alert.read"),
        ),
        call(
            Method::POST,
            "/api/v1/projects/{name}/receivers/{receiver}/test",
            "/api/v1/projects/pay/receivers/nowhere/test",
            None,
            Role(OPERATOR, "alert.operate"),
        ),
        call(
            Method::POST,
            "/api/v1/secrets/rotate-key",
            "/api/v1/secrets/rotate-key",
            None,
            ClusterAdmin("secret.rotate"),
        ),
        call(
            Method::GET,
            "/api/v1/audit",
            "/api/v1/audit?project=pay",
            None,
            Role(ADMIN, "audit.read"),
        ),
        call(
            Method::GET,
            "/api/v1/audit/verify",
            "/api/v1/audit/verify",
            None,
            ClusterAdmin("audit.cluster"),
        ),
        // A wrong password answers 401 whoever asks; no token is needed.
        call(
            Method::POST,
            "/api/v1/auth/login",
            "/api/v1/auth/login",
            Some(r#"{"username": "nobody-{who}", "password": "not it"}"#),
            Public(401),
        ),
        // A code this server never made answers 401 whoever asks.
        call(
            Method::POST,
            "/api/v1/auth/oidc/exchange",
            "/api/v1/auth/oidc/exchange",
            Some(r#"{"code": "k.bm90IGEgY29kZQ", "verifier": "v-{who}"}"#),
            Public(401),
        ),
        call(
            Method::GET,
            "/api/v1/auth/whoami",
            "/api/v1/auth/whoami",
            None,
            SignedIn,
        ),
        // Last: it revokes the caller's own token.
        call(
            Method::POST,
            "/api/v1/auth/logout",
            "/api/v1/auth/logout",
            None,
            UserSession,
        ),
    ]
}

/// A caller of the matrix: its label, secret, and role in `pay` (`None`: none).
struct Caller {
    label: &'static str,
    secret: Option<String>,
    role_in_pay: Option<u8>,
    cluster_admin: bool,
    /// Its token is valid (not missing, expired or revoked).
    valid: bool,
    /// Its token is a user's (personal).
    user: bool,
}

/// Per caller, the objects its destructive calls act on: a job, a project, a user
/// (member of `pay` directly and as group), and a token of `pay`.
async fn own_objects(api: &TestApi, who: &str) -> (i64, i64) {
    let admin = &api.admin;
    admin
        .apply(
            &format!("name: doomed-{who}\nproject: pay\ntasks:\n  - {{name: t, type: noop}}\n"),
            "yaml",
        )
        .await
        .expect("apply");
    admin
        .create_project(&format!("gone-{who}"), "")
        .await
        .expect("project");
    admin
        .create_user(&CreateUserRequest {
            name: format!("victim-{who}"),
            ..Default::default()
        })
        .await
        .expect("user");
    for (user, group) in [
        (Some(format!("victim-{who}")), None),
        (None, Some(format!("g-{who}"))),
    ] {
        admin
            .set_member(
                "pay",
                &SetMemberRequest {
                    user,
                    group,
                    role: "viewer".to_owned(),
                },
            )
            .await
            .expect("member");
    }
    let token = admin
        .create_token_with(&CreateTokenRequest {
            name: format!("doomed-{who}"),
            project: Some("pay".to_owned()),
            role: Some("viewer".to_owned()),
            ..Default::default()
        })
        .await
        .expect("token")
        .id;
    admin
        .set_secret("pay", &format!("doomed_{}", who.replace('-', "_")), "v")
        .await
        .expect("secret");
    let silence = admin
        .create_silence(
            "pay",
            &orrery_client::types::CreateSilenceRequest {
                matchers: [("job".to_owned(), who.to_owned())].into_iter().collect(),
                duration: "1h".to_owned(),
                comment: "to expire".to_owned(),
            },
        )
        .await
        .expect("silence")
        .id;
    (token, silence)
}

/// A user with `role` in `project` and a personal token; its secret.
async fn member_token(api: &TestApi, name: &str, project: &str, role: &str) -> String {
    let admin = &api.admin;
    admin
        .create_user(&CreateUserRequest {
            name: name.to_owned(),
            password: Some("correct horse battery".to_owned()),
            cluster_admin: false,
        })
        .await
        .expect("user");
    admin
        .set_member(
            project,
            &SetMemberRequest {
                user: Some(name.to_owned()),
                group: None,
                role: role.to_owned(),
            },
        )
        .await
        .expect("member");
    admin
        .create_token_with(&CreateTokenRequest {
            name: format!("{name}-token"),
            user: Some(name.to_owned()),
            ..Default::default()
        })
        .await
        .expect("personal token")
        .secret
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_answers_each_caller_by_its_role() {
    let clock = Arc::new(ManualClock::new(at(0)));
    let api = TestApi::start_with_clock(clock.clone()).await;
    let admin = &api.admin;
    for project in ["pay", "ml"] {
        admin.create_project(project, "").await.expect("project");
        admin
            .apply(
                &format!("name: j\nproject: {project}\ntasks:\n  - {{name: t, type: noop}}\n"),
                "yaml",
            )
            .await
            .expect("apply");
    }
    // A receiver nobody listens at: its test answers what went wrong, with a 200.
    admin
        .apply(
            "kind: Receiver\nname: nowhere\nproject: pay\nwebhook: {url: \"http://127.0.0.1:9/hook\"}\n",
            "yaml",
        )
        .await
        .expect("receiver");
    let run = admin
        .clone()
        .in_project("pay")
        .start_run("j", &Default::default())
        .await
        .expect("run")
        .id;

    let mut callers = vec![Caller {
        label: "anonymous",
        secret: None,
        role_in_pay: None,
        cluster_admin: false,
        valid: false,
        user: false,
    }];
    for (rank, role) in ["viewer", "operator", "editor", "admin"]
        .into_iter()
        .enumerate()
    {
        let label: &'static str = ["pay-viewer", "pay-operator", "pay-editor", "pay-admin"][rank];
        callers.push(Caller {
            label,
            secret: Some(member_token(&api, label, "pay", role).await),
            role_in_pay: u8::try_from(rank).ok(),
            cluster_admin: false,
            valid: true,
            user: true,
        });
    }
    callers.push(Caller {
        label: "ml-admin",
        secret: Some(member_token(&api, "ml-admin", "ml", "admin").await),
        role_in_pay: None,
        cluster_admin: false,
        valid: true,
        user: true,
    });
    callers.push(Caller {
        label: "cluster-admin",
        secret: Some(ADMIN_SECRET.to_owned()),
        role_in_pay: Some(ADMIN),
        cluster_admin: true,
        valid: true,
        user: false,
    });
    let expiring = admin
        .create_token_with(&CreateTokenRequest {
            name: "short-lived".to_owned(),
            project: Some("pay".to_owned()),
            role: Some("admin".to_owned()),
            expires_in: Some("1h".to_owned()),
            ..Default::default()
        })
        .await
        .expect("expiring token");
    let revoked = admin
        .create_token_with(&CreateTokenRequest {
            name: "revoked".to_owned(),
            project: Some("pay".to_owned()),
            role: Some("admin".to_owned()),
            ..Default::default()
        })
        .await
        .expect("token");
    admin.revoke_token(revoked.id).await.expect("revoke");
    clock.advance(chrono::Duration::hours(2));
    for (label, secret) in [("expired", expiring.secret), ("revoked", revoked.secret)] {
        callers.push(Caller {
            label,
            secret: Some(secret),
            role_in_pay: Some(ADMIN),
            cluster_admin: false,
            valid: false,
            user: false,
        });
    }

    let calls = table();
    // The table covers every route the API documents.
    let document: serde_json::Value = api
        .http
        .get(format!("{}/api/v1/openapi.json", api.base))
        .send()
        .await
        .expect("openapi")
        .json()
        .await
        .expect("json");
    let mut documented = BTreeSet::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        if !path.starts_with("/api/v1/") {
            continue;
        }
        for method in item.as_object().expect("item").keys() {
            documented.insert((method.to_uppercase(), path.clone()));
        }
    }
    let covered: BTreeSet<(String, String)> = calls
        .iter()
        .map(|c| (c.method.to_string(), c.template.to_owned()))
        .collect();
    assert_eq!(covered, documented, "the matrix must list every API route");

    let mut failures = Vec::new();
    for caller in &callers {
        let (token, silence) = own_objects(&api, caller.label).await;
        for call in &calls {
            let path = call
                .path
                .replace("{who_}", &caller.label.replace('-', "_"))
                .replace("{who}", caller.label)
                .replace("{run}", &run.to_string())
                .replace("{token}", &token.to_string())
                .replace("{silence}", &silence.to_string());
            let mut request = api
                .http
                .request(call.method.clone(), format!("{}{path}", api.base));
            if let Some(secret) = &caller.secret {
                request = request.bearer_auth(secret);
            }
            if let Some(body) = call.body {
                let body = body.replace("{who}", caller.label);
                let content_type = if body.starts_with('{') {
                    "application/json"
                } else {
                    "application/yaml"
                };
                request = request
                    .header(reqwest::header::CONTENT_TYPE, content_type)
                    .body(body);
            }
            let response = request.send().await.expect("send");
            let status = response.status().as_u16();
            let text = response.text().await.unwrap_or_default();
            let verdict = judge(caller, call, status, &text);
            if let Err(expected) = verdict {
                failures.push(format!(
                    "{} {} {path}: got {status} {text}; expected {expected}",
                    caller.label, call.method
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Whether `status` (and its problem `text`) is what `caller` should get from
/// `call`; else what was expected.
fn judge(caller: &Caller, call: &Call, status: u16, text: &str) -> Result<(), String> {
    if status == 500 {
        return Err("never a 500".to_owned());
    }
    if let Needs::Public(expected) = call.needs {
        return (status == expected)
            .then_some(())
            .ok_or_else(|| expected.to_string());
    }
    if !caller.valid {
        return (status == 401)
            .then_some(())
            .ok_or_else(|| "401".to_owned());
    }
    let allowed_status = |status: u16| !matches!(status, 401 | 403);
    match call.needs {
        Needs::Public(_) => Ok(()),
        Needs::UserSession => {
            let expected = if caller.user { 204 } else { 400 };
            (status == expected)
                .then_some(())
                .ok_or_else(|| expected.to_string())
        }
        Needs::SignedIn => (200..300)
            .contains(&status)
            .then_some(())
            .ok_or_else(|| "2xx".to_owned()),
        Needs::ClusterAdmin(permission) => {
            if caller.cluster_admin {
                allowed_status(status)
                    .then_some(())
                    .ok_or_else(|| "allowed".to_owned())
            } else if status == 403 && text.contains(permission) {
                Ok(())
            } else {
                Err(format!("403 naming {permission}"))
            }
        }
        Needs::Role(needed, permission) => match caller.role_in_pay {
            None => (status == 404)
                .then_some(())
                .ok_or_else(|| "404 (hidden)".to_owned()),
            Some(role) if role >= needed => (allowed_status(status) && status != 404)
                .then_some(())
                .ok_or_else(|| "allowed".to_owned()),
            Some(_) => (status == 403 && text.contains(permission))
                .then_some(())
                .ok_or_else(|| format!("403 naming {permission}")),
        },
    }
}
