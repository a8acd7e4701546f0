//! Alerting end to end against real HTTP receivers: a failing run's alerts arrive
//! grouped in one signed webhook message with the log tail, a later success resolves
//! them, a receiver that fails twice gets the message on the third try, and DingTalk
//! and Feishu messages carry signatures their documented algorithms accept.

use orrery_testkit::{AlertReceiver, Received, SmtpServer, TestServer, Vendor, eventually};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);

fn route(receiver: &str, group_wait: &str) -> String {
    format!(
        "kind: AlertRoute\nname: default\nroute:\n  receiver: {receiver}\n  group_by: [job]\n  group_wait: {group_wait}\n  group_interval: 1s\n  send_resolved: true\n"
    )
}

fn received_at_least(receiver: &AlertReceiver, n: usize) -> Vec<Received> {
    eventually(&format!("{n} messages at the receiver"), WAIT, || {
        let received = receiver.received();
        (received.len() >= n).then_some(received)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_run_sends_one_signed_grouped_message_and_a_success_resolves_it() {
    let server = TestServer::start().await;
    let client = &server.client;
    let hook = AlertReceiver::start(Vendor::Plain, vec![]).await;
    client
        .set_secret("default", "hook_key", "s3cret")
        .await
        .expect("secret");
    server
        .apply(&format!(
            "kind: Receiver\nname: audit-hook\nwebhook: {{url: \"{}/hook\", secret: {{secret: hook_key}}}}\n",
            hook.url
        ))
        .await;
    server.apply(&route("audit-hook", "1s")).await;
    server
        .apply(concat!(
            "name: nightly-etl\n",
            "tasks:\n",
            "  - {name: extract, type: shell, script: \"echo reading input; echo 'disk full' >&2; exit 3\"}\n",
            "  - {name: load, type: shell, script: \"exit 4\"}\n",
        ))
        .await;
    let run = server.run_to_end("nightly-etl").await;
    assert_eq!(run.state, "failed");

    let received = received_at_least(&hook, 1);
    let message = &received[0];
    assert_eq!(message.path, "/hook");
    let body = message.json();
    assert_eq!(body["version"], "4");
    assert_eq!(body["status"], "firing");
    assert_eq!(body["receiver"], "audit-hook");
    assert_eq!(body["groupLabels"]["job"], "nightly-etl");
    let names: Vec<&str> = body["alerts"]
        .as_array()
        .expect("alerts")
        .iter()
        .filter_map(|a| a["labels"]["alertname"].as_str())
        .collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        vec!["RunFailed", "TaskFailed", "TaskFailed"],
        "both task failures and the run's failure in one message"
    );
    let extract = body["alerts"]
        .as_array()
        .and_then(|alerts| {
            alerts
                .iter()
                .find(|a| a["labels"]["task"] == "extract")
                .cloned()
        })
        .expect("the extract alert");
    assert_eq!(extract["labels"]["severity"], "warning");
    assert_eq!(extract["annotations"]["run_id"], run.id.to_string());
    let tail = extract["annotations"]["log_tail"].as_str().unwrap_or("");
    assert!(tail.contains("disk full"), "log tail: {tail:?}");
    // Signed with the secret's value; keyed for the receiver's dedup.
    let expected = format!(
        "sha256={}",
        orrery_alerts::channels::hmac_sha256_hex("s3cret", &message.body)
    );
    assert_eq!(message.headers.get("x-orrery-signature"), Some(&expected));
    assert_eq!(
        message.headers.get("idempotency-key").map(String::as_str),
        body["dedupKey"].as_str()
    );

    // The job is fixed: its next success resolves every alert of the job.
    server
        .apply("name: nightly-etl\ntasks:\n  - {name: extract, type: shell, script: \"true\"}\n")
        .await;
    let run = server.run_to_end("nightly-etl").await;
    assert_eq!(run.state, "success");
    let received = received_at_least(&hook, 2);
    let resolved = received[1].json();
    assert_eq!(resolved["status"], "resolved", "{resolved:#}");
    assert_eq!(resolved["alerts"].as_array().map(Vec::len), Some(3));
    // Nothing else is sent: no repeat of what was already told.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(hook.received().len(), 2);
    let metrics = reqwest::get(format!("http://{}/metrics", server.server.addr))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    for expected in [
        "orrery_alerts_raised_total{alertname=\"TaskFailed\"}",
        "orrery_notifications_total{receiver_type=\"webhook\",outcome=\"sent\"}",
        "orrery_alert_outbox_depth",
        "orrery_alert_outbox_oldest_age_seconds",
    ] {
        assert!(metrics.contains(expected), "{expected} in /metrics");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_failing_twice_gets_the_message_on_the_third_try() {
    let server = TestServer::start().await;
    let hook = AlertReceiver::start(
        Vendor::Plain,
        vec![(503, "busy"), (429, "slow down"), (200, "ok")],
    )
    .await;
    server
        .apply(&format!(
            "kind: Receiver\nname: flaky\nwebhook: {{url: \"{}/h\"}}\n",
            hook.url
        ))
        .await;
    server.apply(&route("flaky", "0s")).await;
    server
        .apply("name: broken\ntasks:\n  - {name: a, type: shell, script: \"exit 1\"}\n")
        .await;
    server.run_to_end("broken").await;
    let received = received_at_least(&hook, 3);
    let keys: Vec<Option<&String>> = received
        .iter()
        .map(|r| r.headers.get("idempotency-key"))
        .collect();
    assert!(keys[0].is_some());
    assert!(
        keys.iter().all(|k| *k == keys[0]),
        "every try carries the same key: {keys:?}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dingtalk_and_feishu_messages_are_signed_as_the_vendors_document() {
    let server = TestServer::start().await;
    let ding = AlertReceiver::start(Vendor::DingTalk("SECding".to_owned()), vec![]).await;
    let feishu = AlertReceiver::start(Vendor::Feishu("fs-secret".to_owned()), vec![]).await;
    server
        .apply(&format!(
            "kind: Receiver\nname: ding\ndingtalk: {{url: \"{}/robot/send?access_token=abc\", secret: SECding}}\n",
            ding.url
        ))
        .await;
    server
        .apply(&format!(
            "kind: Receiver\nname: lark\nfeishu: {{url: \"{}/open-apis/bot/v2/hook/x\", secret: fs-secret}}\n",
            feishu.url
        ))
        .await;
    server
        .apply(concat!(
            "kind: AlertRoute\nname: default\nroute:\n  receiver: ding\n  group_by: [job]\n  group_wait: 0s\n",
            "  routes:\n    - {matchers: {severity: critical}, receiver: lark, continue: true}\n",
        ))
        .await;
    server
        .apply("name: payments\ntasks:\n  - {name: reconcile, type: shell, script: \"exit 2\"}\n")
        .await;
    server.run_to_end("payments").await;
    let to_ding = received_at_least(&ding, 1);
    assert_eq!(
        to_ding[0].query.get("access_token").map(String::as_str),
        Some("abc")
    );
    let body = to_ding[0].json();
    assert_eq!(body["msgtype"], "markdown");
    let text = body["markdown"]["text"].as_str().unwrap_or("");
    assert!(text.contains("payments"), "{text}");
    let to_feishu = received_at_least(&feishu, 1);
    let body = to_feishu[0].json();
    assert_eq!(body["msg_type"], "text");
    assert!(body["sign"].is_string());
    // Both answered success (a bad signature would have been refused and retried).
    let history = server
        .client
        .alert_history("default", 50)
        .await
        .expect("history");
    assert!(history.iter().all(|n| n.state == "sent"), "{history:#?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_names_the_alert_and_the_job_in_its_subject_with_text_and_html() {
    let server = TestServer::start().await;
    let smtp = SmtpServer::start().await;
    server
        .apply(&format!(
            "kind: Receiver\nname: oncall-mail\nemail: {{to: [oncall@example.com], from: orrery@example.com, smarthost: \"127.0.0.1:{}\", tls: none}}\n",
            smtp.port
        ))
        .await;
    server
        .apply(concat!(
            "kind: AlertRoute\nname: default\nroute:\n  receiver: oncall-mail\n  group_by: [alertname, job]\n  group_wait: 0s\n",
            "  routes:\n    - {matchers: {alertname: TaskFailed}, receiver: oncall-mail}\n",
        ))
        .await;
    server
        .apply("name: reconcile\ntasks:\n  - {name: match, type: shell, script: \"echo mismatch >&2; exit 1\"}\n")
        .await;
    server.run_to_end("reconcile").await;
    let messages = eventually("two e-mails", WAIT, || {
        let messages = smtp.messages();
        (messages.len() >= 2).then_some(messages)
    });
    let subjects: Vec<String> = messages
        .iter()
        .filter_map(|m| {
            m.lines()
                .find(|l| l.starts_with("Subject: "))
                .map(str::to_owned)
        })
        .collect();
    for expected in [
        "RunFailed default/reconcile",
        "TaskFailed default/reconcile",
    ] {
        assert!(
            subjects.iter().any(|s| s.contains(expected)),
            "{expected} in {subjects:?}"
        );
    }
    let task_mail = messages
        .iter()
        .find(|m| m.contains("TaskFailed"))
        .expect("the task's mail");
    assert!(task_mail.contains("To: oncall@example.com"), "{task_mail}");
    assert!(task_mail.contains("text/plain") && task_mail.contains("text/html"));
    assert!(task_mail.contains("mismatch"), "the log tail: {task_mail}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fire_that_never_started_misses_its_sla_once_by_the_scheduler_clock() {
    let start = "2026-03-01T00:00:30Z".parse().expect("time");
    let (server, clock) = TestServer::start_manual(start).await;
    // Each minute's fire finds the previous run still going and is skipped: no run
    // exists for it, so its start_by deadline passes with nothing started.
    server
        .apply(concat!(
            "name: settle\n",
            "schedule: {cron: '* * * * *', concurrency: forbid}\n",
            "sla: {start_by: 20s}\n",
            "tasks:\n  - {name: work, type: shell, script: \"sleep 600\"}\n",
        ))
        .await;
    let alerts_of = |server: &TestServer| {
        let client = server.client.clone();
        async move {
            client
                .list_alerts("default", None, 100)
                .await
                .unwrap_or_default()
        }
    };
    let first: chrono::DateTime<chrono::Utc> = "2026-03-01T00:01:00Z".parse().expect("time");
    orrery_testkit::eventually_async("the timer to be armed", WAIT, || async {
        let jobs = server.client.list_jobs().await.ok()?;
        jobs.iter()
            .any(|j| j.next_fire_at == Some(first))
            .then_some(())
    })
    .await;
    // 00:01 fires and runs; 00:02 is skipped; its deadline is 00:02:20.
    for seconds in [31, 60, 20, 30] {
        clock.advance(chrono::Duration::seconds(seconds));
        tokio::time::sleep(Duration::from_millis(1500)).await;
    }
    let alerts = orrery_testkit::eventually_async("an SlaMissed alert", WAIT, || async {
        let alerts = alerts_of(&server).await;
        alerts
            .iter()
            .any(|a| a.alertname == "SlaMissed")
            .then_some(alerts)
    })
    .await;
    let sla: Vec<_> = alerts
        .iter()
        .filter(|a| a.alertname == "SlaMissed")
        .collect();
    assert_eq!(sla.len(), 1, "{alerts:#?}");
    assert_eq!(sla[0].annotations["sla"], "start_by");
    assert_eq!(
        sla[0].annotations["logical_date"], "2026-03-01T00:02:00+00:00",
        "the skipped fire's deadline, not the one that ran"
    );
    assert!(
        sla[0].annotations["error"].contains("no run was started"),
        "{:?}",
        sla[0].annotations
    );
    assert!(
        alerts.iter().any(|a| a.alertname == "FireMissed"),
        "the skipped fire is its own alert: {alerts:#?}"
    );
    server.stop_allowing_errors().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silenced_job_sends_nothing_until_its_silence_expires() {
    let server = TestServer::start().await;
    let client = &server.client;
    let hook = AlertReceiver::start(Vendor::Plain, vec![]).await;
    server
        .apply(&format!(
            "kind: Receiver\nname: hook\nwebhook: {{url: \"{}/h\"}}\n",
            hook.url
        ))
        .await;
    server.apply(&route("hook", "0s")).await;
    for job in ["muted", "loud"] {
        server
            .apply(&format!(
                "name: {job}\ntasks:\n  - {{name: a, type: shell, script: \"exit 1\"}}\n"
            ))
            .await;
    }
    let silence = client
        .create_silence(
            "default",
            &orrery_client::types::CreateSilenceRequest {
                matchers: [("job".to_owned(), "muted".to_owned())]
                    .into_iter()
                    .collect(),
                duration: "2h".to_owned(),
                comment: "db migration".to_owned(),
            },
        )
        .await
        .expect("silence");
    // The muted job fails first: had it not been silenced, its message would come
    // before (or with) the loud one's.
    server.run_to_end("muted").await;
    server.run_to_end("loud").await;
    let received = received_at_least(&hook, 1);
    let jobs: Vec<String> = received
        .iter()
        .map(|r| {
            r.json()["groupLabels"]["job"]
                .as_str()
                .unwrap_or("")
                .to_owned()
        })
        .collect();
    assert_eq!(jobs, vec!["loud"], "only the loud job is told");
    // The alerts still fire and are listed.
    let firing = client
        .list_alerts("default", Some("firing"), 100)
        .await
        .expect("alerts");
    assert!(
        firing
            .iter()
            .any(|a| a.labels.get("job").map(String::as_str) == Some("muted"))
    );

    client
        .expire_silence("default", silence.id)
        .await
        .expect("expire");
    let received = received_at_least(&hook, 2);
    assert_eq!(received[1].json()["groupLabels"]["job"], "muted");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_dingtalk_signature_is_refused_by_the_vendor_and_recorded_as_failed() {
    let server = TestServer::start().await;
    let ding = AlertReceiver::start(Vendor::DingTalk("the-real-secret".to_owned()), vec![]).await;
    server
        .apply(&format!(
            "kind: Receiver\nname: ding\ndingtalk: {{url: \"{}/robot/send?access_token=abc\", secret: a-stale-secret}}\n",
            ding.url
        ))
        .await;
    server.apply(&route("ding", "0s")).await;
    server
        .apply("name: payments\ntasks:\n  - {name: reconcile, type: shell, script: \"exit 2\"}\n")
        .await;
    server.run_to_end("payments").await;
    let history = orrery_testkit::eventually_async("a failed delivery", WAIT, || async {
        let history = server.client.alert_history("default", 10).await.ok()?;
        history
            .iter()
            .any(|n| n.state == "failed")
            .then_some(history)
    })
    .await;
    let failed = history
        .iter()
        .find(|n| n.state == "failed")
        .expect("failed");
    assert_eq!(failed.attempts, 1, "a refused signature is not retried");
    assert!(
        failed
            .last_error
            .as_deref()
            .unwrap_or("")
            .contains("310000"),
        "{failed:#?}"
    );
    assert_eq!(ding.received().len(), 1);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slack_receiver_gets_what_exceeds_its_rate_as_one_digest() {
    let server = TestServer::start().await;
    let slack = AlertReceiver::start(Vendor::Plain, vec![]).await;
    server
        .apply(&format!(
            "kind: Receiver\nname: chat\nslack: {{url: \"{}/services/T/B/x\"}}\n",
            slack.url
        ))
        .await;
    let mut spec = String::from("name: wide\ntasks:\n");
    for n in 0..5 {
        spec.push_str(&format!(
            "  - {{name: part{n}, type: shell, script: \"exit 1\"}}\n"
        ));
    }
    server.apply(&spec).await;
    server.run_to_end("wide").await;
    orrery_testkit::eventually_async("every alert firing", WAIT, || async {
        let alerts = server
            .client
            .list_alerts("default", Some("firing"), 100)
            .await
            .ok()?;
        (alerts.len() >= 6).then_some(())
    })
    .await;
    // Routed only now: six groups (five tasks and the run) are due in the same pass,
    // and Slack takes one message a second.
    server
        .apply("kind: AlertRoute\nname: default\nroute: {receiver: chat, group_by: [job, task], group_wait: 0s}\n")
        .await;
    let received = received_at_least(&slack, 1);
    let text = received[0].json()["text"].as_str().unwrap_or("").to_owned();
    for n in 0..5 {
        assert!(text.contains(&format!("task=part{n}")), "{text}");
    }
    let history = orrery_testkit::eventually_async("every notification sent", WAIT, || async {
        let history = server.client.alert_history("default", 100).await.ok()?;
        (history.len() == 6 && history.iter().all(|n| n.state == "sent")).then_some(history)
    })
    .await;
    assert_eq!(history.len(), 6);
    assert_eq!(
        slack.received().len(),
        1,
        "one digest for the six, not six messages"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_queued_before_a_restart_are_delivered_after_it() {
    let server = TestServer::start().await;
    // Nothing listens at first: the message stays in the outbox, to be retried.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    server
        .apply(&format!(
            "kind: Receiver\nname: hook\nwebhook: {{url: \"http://127.0.0.1:{port}/h\"}}\n"
        ))
        .await;
    server.apply(&route("hook", "0s")).await;
    server
        .apply("name: broken\ntasks:\n  - {name: a, type: shell, script: \"exit 1\"}\n")
        .await;
    server.run_to_end("broken").await;
    orrery_testkit::eventually_async("a refused attempt", WAIT, || async {
        let history = server.client.alert_history("default", 10).await.ok()?;
        history
            .iter()
            .any(|n| n.state == "pending" && n.attempts >= 1)
            .then_some(())
    })
    .await;
    let server = server.restart().await;
    // The receiver comes up on that port; the restarted server's leader sends the
    // queued message there, once.
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("bind the receiver's port");
    let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let app = {
        let received = received.clone();
        axum::Router::new().route(
            "/h",
            axum::routing::post(move |headers: axum::http::HeaderMap| {
                let received = received.clone();
                async move {
                    let key = headers
                        .get("idempotency-key")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned();
                    if let Ok(mut list) = received.lock() {
                        list.push(key);
                    }
                    "ok"
                }
            }),
        )
    };
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let history = orrery_testkit::eventually_async("the queued message sent", WAIT, || async {
        let history = server.client.alert_history("default", 10).await.ok()?;
        history.iter().all(|n| n.state == "sent").then_some(history)
    })
    .await;
    let keys = received.lock().map(|k| k.clone()).unwrap_or_default();
    // The job's message, and the restarted server's own LeaderChanged: once each.
    let mut sorted = keys.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), keys.len(), "nothing sent twice: {keys:?}");
    // The message refused before the restart went on its second try or later.
    let queued = history
        .iter()
        .find(|n| n.attempts >= 2)
        .map(|n| n.dedup_key.clone())
        .expect("the queued message");
    assert!(keys.contains(&queued), "{queued} in {keys:?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e_mail_goes_over_starttls_and_implicit_tls_to_a_relay_with_a_private_ca() {
    let dir = tempfile::tempdir().expect("tempdir");
    let certs = orrery_testkit::TestCertificates::make(dir.path()).expect("certificates");
    let (cert, key) = (certs.cert, certs.key);
    let pem = std::fs::read_to_string(&certs.ca).expect("pem");
    let server = TestServer::start().await;
    server
        .client
        .set_secret("default", "relay_ca", &pem)
        .await
        .expect("secret");
    let starttls = SmtpServer::start_starttls(&cert, &key).await;
    let implicit = SmtpServer::start_implicit_tls(&cert, &key).await;
    for (name, port, mode) in [
        ("mail-starttls", starttls.port, "starttls"),
        ("mail-implicit", implicit.port, "implicit"),
    ] {
        server
            .apply(&format!(
                "kind: Receiver\nname: {name}\nemail: {{to: [oncall@example.com], from: orrery@example.com, smarthost: \"localhost:{port}\", tls: {mode}, ca: {{secret: relay_ca}}}}\n"
            ))
            .await;
    }
    // Without the CA the relay's certificate is refused, and nothing is sent in clear.
    server
        .apply(&format!(
            "kind: Receiver\nname: mail-untrusted\nemail: {{to: [oncall@example.com], from: orrery@example.com, smarthost: \"localhost:{}\", tls: starttls}}\n",
            starttls.port
        ))
        .await;
    for receiver in ["mail-starttls", "mail-implicit"] {
        let result = server
            .client
            .test_receiver("default", receiver)
            .await
            .expect("test");
        assert!(result.sent, "{receiver}: {result:?}");
        assert!(result.answer.starts_with("250"), "{result:?}");
    }
    let refused = server
        .client
        .test_receiver("default", "mail-untrusted")
        .await
        .expect("test");
    assert!(!refused.sent, "{refused:?}");
    for smtp in [&starttls, &implicit] {
        let messages = smtp.messages();
        assert_eq!(messages.len(), 1, "one test message each");
        assert!(
            messages[0].contains("Subject: [FIRING:1] Test"),
            "{}",
            messages[0]
        );
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wecom_message_is_markdown_within_its_size_limit() {
    let server = TestServer::start().await;
    let wecom =
        AlertReceiver::start(Vendor::Plain, vec![(200, r#"{"errcode":0,"errmsg":"ok"}"#)]).await;
    server
        .apply(&format!(
            "kind: Receiver\nname: group-robot\nwecom: {{url: \"{}/cgi-bin/webhook/send?key=k\"}}\n",
            wecom.url
        ))
        .await;
    server.apply(&route("group-robot", "1s")).await;
    // Twenty tasks failing with long errors: far more than WeCom's 4,096 bytes.
    let mut spec = String::from("name: noisy\ntasks:\n");
    for n in 0..20 {
        spec.push_str(&format!(
            "  - {{name: part{n}, type: shell, script: \"for i in $(seq 30); do echo line $i of a long and winding log; done; exit 1\"}}\n"
        ));
    }
    server.apply(&spec).await;
    server.run_to_end("noisy").await;
    let received = received_at_least(&wecom, 1);
    let body = received[0].json();
    assert_eq!(body["msgtype"], "markdown");
    let content = body["markdown"]["content"].as_str().unwrap_or("");
    assert!(content.len() <= 4096, "{} bytes", content.len());
    assert!(content.contains("noisy"), "{content}");
    assert!(
        content.contains("more alerts"),
        "what did not fit is counted: {content}"
    );
    let history = server
        .client
        .alert_history("default", 10)
        .await
        .expect("history");
    assert_eq!(history[0].state, "sent", "{history:#?}");
    server.stop().await;
}
