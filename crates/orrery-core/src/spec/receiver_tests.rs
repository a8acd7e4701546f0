//! Tests of `kind: Receiver` documents: each channel, secrets, and the problems named
//! by field.

use super::*;
use crate::spec::{SpecDocument, SpecFormat, parse_document};

fn parse(yaml: &str) -> Result<ReceiverSpec, Vec<String>> {
    match parse_document(yaml, SpecFormat::Yaml) {
        Ok(SpecDocument::Receiver(receiver)) => Ok(receiver),
        Ok(other) => panic!("not a receiver: {other:?}"),
        Err(errors) => Err(errors
            .0
            .iter()
            .map(|e| format!("{}: {}", e.path, e.message))
            .collect()),
    }
}

#[test]
fn every_channel_reads_and_round_trips_through_canonical_json() {
    let documents = [
        "kind: Receiver\nname: ding\ndingtalk: {url: \"https://oapi.dingtalk.com/robot/send?access_token=x\", secret: {secret: ding_sign}}",
        "kind: Receiver\nname: mail\nemail: {to: [oncall@example.com], from: orrery@example.com, smarthost: \"smtp.example.com:587\", username: orrery, password: {secret: smtp_pass}, tls: starttls}",
        "kind: Receiver\nname: hook\nproject: payments\nwebhook: {url: \"http://127.0.0.1:9/hook\", secret: plain-key}",
        "kind: Receiver\nname: s\nslack: {url: {secret: slack_url}}",
        "kind: Receiver\nname: f\nfeishu: {url: \"https://open.feishu.cn/open-apis/bot/v2/hook/x\", secret: k}",
        "kind: Receiver\nname: w\nwecom: {url: \"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=x\"}",
    ];
    for yaml in documents {
        let receiver = parse(yaml).unwrap_or_else(|e| panic!("{yaml}: {e:?}"));
        let again = parse_document(&receiver.to_canonical_json(), SpecFormat::Json);
        assert_eq!(again, Ok(SpecDocument::Receiver(receiver)), "{yaml}");
    }
    let ding = parse(documents[0]).expect("valid");
    assert_eq!(ding.project, "default");
    assert_eq!(ding.channel.kind(), "dingtalk");
    assert_eq!(
        ding.channel.secret_fields(),
        vec![("dingtalk.secret".to_owned(), "ding_sign")]
    );
    let Channel::Email(mail) = parse(documents[1]).expect("valid").channel else {
        panic!("email");
    };
    assert_eq!(mail.tls, EmailTls::StartTls);
    assert_eq!(
        mail.password,
        Some(SecretValue::Secret("smtp_pass".to_owned()))
    );
}

#[test]
fn problems_name_their_fields() {
    let cases = [
        ("kind: Receiver\nname: x", ": a receiver needs one channel"),
        (
            "kind: Receiver\nname: x\nslack: {url: a}\nwecom: {url: b}",
            "wecom: a receiver has one channel",
        ),
        (
            "kind: Receiver\nname: x\nwebhook: {url: \"ftp://h\"}",
            "webhook.url: \"ftp://h\" is not an http",
        ),
        (
            "kind: Receiver\nname: x\nwebhook: {url: {secret: \"no way\"}}",
            "webhook.url.secret: invalid secret name",
        ),
        (
            "kind: Receiver\nname: x\nslack: {url: \"https://h\", secret: k}",
            "slack.secret: unknown field",
        ),
        (
            "kind: Receiver\nname: x\nemail: {to: [nobody], from: a@b.c, smarthost: \"h:25\"}",
            "email.to[0]: \"nobody\" is not an e-mail address",
        ),
        (
            "kind: Receiver\nname: x\nemail: {to: [a@b.c], from: a@b.c, smarthost: h}",
            "email.smarthost: \"h\" is not host:port",
        ),
        (
            "kind: Receiver\nname: x\nemail: {to: [a@b.c], from: a@b.c, smarthost: \"h:25\", tls: ssl}",
            "email.tls: unknown TLS mode \"ssl\"",
        ),
        (
            "kind: Receiver\nname: x\nemail: {to: [a@b.c], from: a@b.c, smarthost: \"h:25\", password: p}",
            "email.username: a password needs a username",
        ),
        (
            "kind: Receiver\nname: x\nwebhok: {url: \"https://h\"}",
            "webhok: unknown field \"webhok\", did you mean \"webhook\"?",
        ),
    ];
    for (yaml, expected) in cases {
        let errors = parse(yaml).expect_err(yaml);
        assert!(
            errors.iter().any(|e| e.starts_with(expected)),
            "{yaml}: expected {expected:?} in {errors:?}"
        );
    }
}

#[test]
fn an_alert_route_is_a_document_kind_and_round_trips() {
    let yaml = "kind: AlertRoute\nname: default\nroute:\n  receiver: hook\n  group_by: [job]\n  group_wait: 30s\n  send_resolved: true\n  routes:\n    - {matchers: {severity: critical}, receiver: ding, continue: true}\ninhibit:\n  - {source_matchers: {alertname: WorkerLost}, target_matchers: {alertname: TaskFailed}, equal: [worker]}\n";
    let document = parse_document(yaml, SpecFormat::Yaml).expect("valid");
    assert_eq!(document.kind(), "AlertRoute");
    let again = parse_document(&document.to_canonical_json(), SpecFormat::Json).expect("valid");
    assert_eq!(again, document);
}
