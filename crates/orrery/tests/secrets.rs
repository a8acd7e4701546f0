//! Secrets end to end: set through the API, read by a real shell task through a
//! template and an env reference, hidden in its log, never in an answer; a missing
//! secret is refused at apply, a corrupted one fails only its task.

use orrery_store::SealedSecret;
use orrery_testkit::TestServer;

const VALUE: &str = "hunter2-Very-Secret";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_reads_its_secrets_and_its_log_shows_only_stars() {
    let server = TestServer::start().await;
    let client = &server.client;
    let info = client
        .set_secret("default", "db_password", VALUE)
        .await
        .expect("set");
    assert_eq!((info.name.as_str(), info.version), ("db_password", 1));
    server
        .apply(concat!(
            "name: load\n",
            "tasks:\n",
            "  - name: copy\n",
            "    type: shell\n",
            "    script: |\n",
            "      echo \"template={{ secrets.db_password }}\"\n",
            "      echo \"env=$DB_PASSWORD\"\n",
            "      echo \"base64=$(printf %s \"$DB_PASSWORD\" | base64)\"\n",
            // The value arrived whole (its length), without writing it in the spec.
            "      test \"$(printf %s \"$DB_PASSWORD\" | wc -c)\" -eq 19\n",
            "      echo \"leak=$DB_PASSWORD\" >> \"$ORRERY_OUTPUT\"\n",
            "    env:\n",
            "      DB_PASSWORD: {secret: db_password}\n",
        ))
        .await;
    let run = server.run_to_end("load").await;
    assert_eq!(run.state, "success", "{run:#?}");
    let lines: Vec<String> = client
        .logs(run.id, None, None)
        .await
        .expect("logs")
        .into_iter()
        .map(|l| l.text)
        .collect();
    for expected in ["template=***", "env=***", "base64=***"] {
        assert!(
            lines.iter().any(|l| l == expected),
            "{expected} in {lines:?}"
        );
    }
    // An output carrying the value is masked too.
    assert_eq!(
        run.tasks[0].outputs.get("leak").map(String::as_str),
        Some("***"),
        "{run:#?}"
    );
    // Nowhere in what the API answers.
    let answers = [
        serde_json::to_string(&client.get_run(run.id).await.expect("run")).expect("json"),
        serde_json::to_string(&client.get_job("load").await.expect("job")).expect("json"),
        serde_json::to_string(&client.list_secrets("default").await.expect("list")).expect("json"),
        serde_json::to_string(&lines).expect("json"),
        serde_json::to_string(
            &client
                .audit(&orrery_client::AuditQuery::default())
                .await
                .expect("audit"),
        )
        .expect("json"),
    ];
    for answer in &answers {
        assert!(!answer.contains(VALUE), "{answer}");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_or_foreign_secret_is_refused_at_apply_naming_the_field() {
    let server = TestServer::start().await;
    let client = &server.client;
    client.create_project("other", "").await.expect("project");
    client
        .set_secret("other", "token", VALUE)
        .await
        .expect("set in other");
    let refused = client
        .apply(
            "name: load\ntasks:\n  - name: t\n    type: shell\n    script: echo ok\n    env:\n      TOKEN: {secret: token}\n",
            "yaml",
        )
        .await
        .expect_err("the secret is another project's");
    let orrery_client::ClientError::Api(problem) = refused else {
        panic!("expected a problem, got {refused}");
    };
    assert_eq!(problem.status, 400);
    assert_eq!(problem.errors[0].path, "tasks[0].env.TOKEN");
    assert!(
        problem.detail.contains("orrery secret set token"),
        "{}",
        problem.detail
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupted_secret_fails_its_task_naming_it_and_the_server_stays_up() {
    let server = TestServer::start().await;
    let client = &server.client;
    client
        .set_secret("default", "api_key", VALUE)
        .await
        .expect("set");
    server
        .apply("name: call\ntasks:\n  - name: t\n    type: shell\n    script: 'echo {{ secrets.api_key }}'\n")
        .await;
    // Someone with database access flips the stored ciphertext.
    let intents = server.server.store.api_intents();
    let key_id = server
        .server
        .store
        .api_reads()
        .list_secrets("default")
        .await
        .expect("list")[0]
        .key_id
        .clone();
    intents
        .set_secret(
            "default",
            "api_key",
            &SealedSecret {
                key_id,
                nonce: vec![0; 12],
                ciphertext: vec![1; 40],
            },
            "mallory",
            chrono::DateTime::UNIX_EPOCH,
        )
        .await
        .expect("tamper");
    let run = server.run_to_end("call").await;
    assert_eq!(run.state, "failed", "{run:#?}");
    let error = run.tasks[0].error.clone().unwrap_or_default();
    assert!(error.contains("api_key"), "{error}");
    assert!(!error.contains(VALUE), "{error}");
    // The server goes on: another job runs.
    server
        .apply("name: fine\ntasks:\n  - {name: t, type: noop}\n")
        .await;
    assert_eq!(server.run_to_end("fine").await.state, "success");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_rotation_reseals_every_secret_without_stopping_their_tasks() {
    let keys = tempfile::tempdir().expect("key dir");
    let write_key = |name: &str, byte: &str| {
        let path = keys.path().join(name);
        std::fs::write(&path, byte.repeat(32)).expect("write a key");
        path
    };
    let (old, new) = (write_key("old.key", "a1"), write_key("new.key", "b2"));
    let old_for_start = old.clone();
    let server = TestServer::start_with(move |config| {
        config.secret_key_file = Some(old_for_start);
    })
    .await;
    server
        .client
        .set_secret("default", "token", VALUE)
        .await
        .expect("set");
    server
        .apply("name: uses\ntasks:\n  - name: t\n    type: shell\n    script: 'test -n \"{{ secrets.token }}\"'\n")
        .await;
    assert_eq!(server.run_to_end("uses").await.state, "success");

    // 1. Every server restarts with the new key, the old one still accepted.
    let mut server = server;
    server.config.secret_key_file = Some(new.clone());
    server.config.previous_secret_key_files = vec![old.clone()];
    let server = server.restart().await;
    assert_eq!(server.run_to_end("uses").await.state, "success");
    // 2. Every secret is re-sealed under the new key.
    let rotation = server.client.rotate_secret_key().await.expect("rotate");
    assert_eq!((rotation.resealed, rotation.current), (1, 0));
    assert!(rotation.failed.is_empty(), "{rotation:?}");
    let again = server.client.rotate_secret_key().await.expect("again");
    assert_eq!((again.resealed, again.current), (0, 1));
    // 3. The old key can go: the secret still opens.
    let mut server = server;
    server.config.previous_secret_key_files = Vec::new();
    let server = server.restart().await;
    assert_eq!(server.run_to_end("uses").await.state, "success");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_template_cannot_put_a_secret_into_its_error() {
    let server = TestServer::start().await;
    server
        .client
        .set_secret("default", "token", VALUE)
        .await
        .expect("set");
    // The `date` filter echoes a value it cannot parse in its error.
    server
        .apply("name: leaky\ntasks:\n  - name: t\n    type: shell\n    script: 'echo {{ secrets.token | date }}'\n")
        .await;
    let run = server.run_to_end("leaky").await;
    assert_eq!(run.state, "failed", "{run:#?}");
    let error = run.tasks[0].error.clone().unwrap_or_default();
    assert!(error.contains("***"), "{error}");
    assert!(!error.contains(VALUE), "{error}");
    server.stop().await;
}
