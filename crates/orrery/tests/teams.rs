//! Teams and access with the real binary, as the README's "Teams and access" section
//! types it: a project, a user with a password from stdin, roles that grant and
//! refuse, a CI service token, revocation.

use orrery_testkit::BinaryServer;
use std::path::Path;
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_orrery");

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// `orrery ARGS` against the server in `data_dir`, with `input` on stdin.
fn cli_with_input(data_dir: &Path, args: &[&str], input: &str) -> Output {
    let mut child = Command::new(BIN)
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env_remove("ORRERY_SERVER")
        .env_remove("ORRERY_TOKEN")
        .env_remove("ORRERY_PROJECT")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn orrery");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(input.as_bytes()).expect("write stdin");
    }
    child.wait_with_output().expect("run orrery")
}

/// The secret a `token create` printed: its last line.
fn secret_of(output: &Output) -> String {
    assert!(output.status.success(), "{}", stderr(output));
    stdout(output)
        .lines()
        .last()
        .expect("a secret line")
        .trim()
        .to_owned()
}

fn ok(output: Output) -> Output {
    assert!(
        output.status.success(),
        "{}\n{}",
        stdout(&output),
        stderr(&output)
    );
    output
}

#[test]
fn a_team_gets_a_project_roles_and_a_ci_token_from_the_command_line() {
    let data = tempfile::tempdir().expect("tempdir");
    let server = BinaryServer::start(BIN, data.path(), &[]);
    ok(server.cli(&[
        "project",
        "create",
        "payments",
        "--description",
        "Payments team",
    ]));
    let out = ok(cli_with_input(
        data.path(),
        &["user", "create", "ann", "--password-stdin"],
        "correct horse battery\n",
    ));
    assert!(stdout(&out).contains("password"), "{}", stdout(&out));
    ok(server.cli(&["member", "add", "payments", "ann", "--role", "viewer"]));
    let ann = secret_of(&server.cli(&["token", "create", "--user", "ann", "--expires", "30d"]));

    let spec = data.path().join("reconcile.yaml");
    std::fs::write(
        &spec,
        "name: reconcile\nproject: payments\ntasks:\n  - {name: t, type: noop}\n",
    )
    .expect("write the spec");
    let spec = spec.to_str().expect("utf-8 path");
    let as_ann = |args: &[&str]| {
        let mut all = vec!["--token", ann.as_str(), "--project", "payments"];
        all.extend_from_slice(args);
        server.cli(&all)
    };
    let refused = as_ann(&["apply", "-f", spec]);
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("job.apply"),
        "{}",
        stderr(&refused)
    );
    ok(server.cli(&["member", "add", "payments", "ann", "--role", "editor"]));
    ok(as_ann(&["apply", "-f", spec]));
    let jobs = stdout(&ok(as_ann(&["job", "list"])));
    assert!(jobs.contains("reconcile"), "{jobs}");
    let me = stdout(&ok(as_ann(&["whoami"])));
    assert!(
        me.contains("user:ann") && me.contains("payments: editor"),
        "{me}"
    );
    // A second version, its diff, and a rollback to the first.
    std::fs::write(
        spec,
        "name: reconcile\nproject: payments\ntimeout: 10m\ntasks:\n  - {name: t, type: noop}\n",
    )
    .expect("edit the spec");
    ok(as_ann(&["apply", "-f", spec]));
    let diff = stdout(&ok(as_ann(&["job", "diff", "reconcile"])));
    assert!(diff.contains("+timeout: 10m"), "{diff}");
    ok(as_ann(&["job", "rollback", "reconcile", "--to", "1"]));
    let versions = stdout(&ok(as_ann(&["job", "versions", "reconcile", "-o", "json"])));
    let versions: serde_json::Value = serde_json::from_str(&versions).expect("json");
    let versions = versions.as_array().expect("array");
    assert_eq!(versions.len(), 3);
    assert_eq!(versions[0]["spec_sha256"], versions[2]["spec_sha256"]);
    assert_eq!(versions[0]["created_by"], "user:ann");
    let same = stdout(&ok(as_ann(&["job", "diff", "reconcile", "1", "3"])));
    assert!(same.contains("are the same"), "{same}");

    // A CI pipeline gets an operator token of the project; it starts runs, no more.
    let ci = secret_of(&server.cli(&[
        "token",
        "create",
        "--project",
        "payments",
        "--role",
        "operator",
        "--name",
        "ci",
    ]));
    let as_ci = |args: &[&str]| {
        let mut all = vec!["--token", ci.as_str(), "--project", "payments"];
        all.extend_from_slice(args);
        server.cli(&all)
    };
    ok(as_ci(&["run", "start", "reconcile", "--wait"]));
    let refused = as_ci(&["job", "delete", "reconcile"]);
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("job.delete"),
        "{}",
        stderr(&refused)
    );

    let listed = stdout(&ok(server.cli(&[
        "token",
        "list",
        "--project",
        "payments",
        "-o",
        "json",
    ])));
    let tokens: serde_json::Value = serde_json::from_str(&listed).expect("json");
    let ci_entry = tokens
        .as_array()
        .expect("array")
        .iter()
        .find(|t| t["name"] == "ci")
        .expect("the ci token is listed");
    assert_eq!(ci_entry["role"], "operator");
    assert!(!listed.contains(&ci), "never the secret");
    let id = ci_entry["id"].as_i64().expect("id").to_string();
    ok(server.cli(&["token", "revoke", &id]));
    let refused = as_ci(&["job", "list"]);
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("unauthorized"),
        "{}",
        stderr(&refused)
    );

    let refused = server.cli(&["project", "delete", "payments"]);
    assert!(!refused.status.success());
    assert!(stderr(&refused).contains("job"), "{}", stderr(&refused));
    let members = stdout(&ok(server.cli(&["member", "list", "payments"])));
    assert!(
        members.contains("ann") && members.contains("editor"),
        "{members}"
    );
    // ann signs in with her password; later commands use the session until logout.
    let config = tempfile::tempdir().expect("config dir");
    let as_signed_in = |args: &[&str], input: &str| {
        let mut child = Command::new(BIN)
            .args(args)
            .env("ORRERY_CONFIG_DIR", config.path())
            .env_remove("ORRERY_SERVER")
            .env_remove("ORRERY_TOKEN")
            .env_remove("ORRERY_PROJECT")
            .env_remove("ORRERY_DATA_DIR")
            .current_dir(config.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn orrery");
        {
            use std::io::Write;
            let mut stdin = child.stdin.take().expect("stdin");
            stdin.write_all(input.as_bytes()).expect("write stdin");
        }
        child.wait_with_output().expect("run orrery")
    };
    let endpoint = std::fs::read_to_string(data.path().join("endpoint")).expect("endpoint");
    let endpoint = endpoint.trim();
    let refused = as_signed_in(
        &[
            "--server",
            endpoint,
            "login",
            "--username",
            "ann",
            "--password-stdin",
        ],
        "not her password\n",
    );
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("unauthorized"),
        "{}",
        stderr(&refused)
    );
    let signed_in = ok(as_signed_in(
        &[
            "--server",
            endpoint,
            "login",
            "--username",
            "ann",
            "--password-stdin",
        ],
        "correct horse battery\n",
    ));
    assert!(
        stdout(&signed_in).contains("signed in"),
        "{}",
        stdout(&signed_in)
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(config.path().join("credentials.json"))
        .expect("the session is stored")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let jobs = stdout(&ok(as_signed_in(
        &["job", "list", "--project", "payments"],
        "",
    )));
    assert!(jobs.contains("reconcile"), "{jobs}");
    ok(as_signed_in(&["logout"], ""));
    assert!(!as_signed_in(&["job", "list"], "").status.success());

    ok(server.cli(&["user", "disable", "ann"]));
    let refused = as_ann(&["job", "list"]);
    assert!(!refused.status.success());

    // Every change above is in the audit log, chained; an edit behind Orrery's back
    // is found and named.
    let listed = stdout(&ok(server.cli(&[
        "audit",
        "list",
        "--project",
        "payments",
        "-o",
        "json",
    ])));
    let rows: serde_json::Value = serde_json::from_str(&listed).expect("json");
    let actions: Vec<&str> = rows
        .as_array()
        .expect("rows")
        .iter()
        .filter_map(|r| r["action"].as_str())
        .collect();
    for action in [
        "project.create",
        "member.set",
        "job.create",
        "token.create",
        "token.revoke",
    ] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
    let applied = rows
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["action"] == "job.create")
        .expect("the apply");
    assert_eq!(applied["actor"], "user:ann");
    assert!(
        applied["client_address"]
            .as_str()
            .is_some_and(|a| a.starts_with("127.0.0.1:")),
        "{applied}"
    );
    let verified = stdout(&ok(server.cli(&["audit", "verify"])));
    assert!(verified.starts_with("intact"), "{verified}");
    let export = stdout(&ok(server.cli(&["audit", "export", "--since", "1h"])));
    let lines: Vec<serde_json::Value> = export
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert!(lines.len() >= actions.len(), "{export}");
    assert!(
        lines
            .windows(2)
            .all(|w| w[0]["id"].as_i64() < w[1]["id"].as_i64())
    );

    let id = applied["id"].as_i64().expect("id");
    tamper(
        &data.path().join("orrery.db"),
        &format!("UPDATE audit_log SET actor = 'user:mallory' WHERE id = {id}"),
    );
    let broken = server.cli(&["audit", "verify"]);
    assert_eq!(broken.status.code(), Some(1), "{}", stdout(&broken));
    assert!(
        stderr(&broken).contains(&format!("row {id}")),
        "{}",
        stderr(&broken)
    );
    server.stop();
}

/// Edits the server's SQLite database behind its back, as someone with file access.
fn tamper(db: &Path, sql: &str) {
    let url = format!("sqlite://{}", db.display());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let pool = sqlx::SqlitePool::connect(&url)
            .await
            .expect("open the database");
        sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
            .execute(&pool)
            .await
            .expect("tamper");
        pool.close().await;
    });
}
