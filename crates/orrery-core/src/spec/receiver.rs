//! Validation of a `kind: Receiver` document: where a project's notifications go
//! (one channel: webhook, email, slack, dingtalk, feishu or wecom), with URLs and
//! signing keys given plainly or as `{secret: NAME}`.

use super::error::SpecErrors;
use super::fields::{Problems, child, item, optional};
use super::secrets::check_secret_name;
use serde_json::{Map, Value, json};

const DOCUMENT_FIELDS: &[&str] = &[
    "kind", "name", "project", "webhook", "email", "slack", "dingtalk", "feishu", "wecom",
];
const CHANNELS: &[&str] = &["webhook", "email", "slack", "dingtalk", "feishu", "wecom"];
const EMAIL_FIELDS: &[&str] = &[
    "to",
    "from",
    "smarthost",
    "username",
    "password",
    "tls",
    "ca",
];
const MAX_RECIPIENTS: usize = 50;
const MAX_VALUE_LEN: usize = 16 * 1024;

/// A value given plainly or named as a project secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SecretValue {
    Plain(String),
    Secret(String),
}

impl SecretValue {
    fn to_json(&self) -> Value {
        match self {
            SecretValue::Plain(text) => Value::String(text.clone()),
            SecretValue::Secret(name) => json!({ "secret": name }),
        }
    }

    /// The secret this value names, if any.
    pub fn secret_name(&self) -> Option<&str> {
        match self {
            SecretValue::Plain(_) => None,
            SecretValue::Secret(name) => Some(name),
        }
    }
}

/// How the e-mail channel talks to its smarthost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmailTls {
    /// Plain connection upgraded with STARTTLS (refused when the server cannot).
    StartTls,
    /// TLS from the first byte (port 465).
    Implicit,
    /// No TLS: only for a relay on a trusted network.
    None,
}

impl EmailTls {
    pub const ALL: [EmailTls; 3] = [EmailTls::StartTls, EmailTls::Implicit, EmailTls::None];

    pub fn as_str(self) -> &'static str {
        match self {
            EmailTls::StartTls => "starttls",
            EmailTls::Implicit => "implicit",
            EmailTls::None => "none",
        }
    }
}

/// An e-mail receiver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmailChannel {
    pub to: Vec<String>,
    pub from: String,
    /// `host:port`.
    pub smarthost: String,
    pub username: Option<String>,
    pub password: Option<SecretValue>,
    pub tls: EmailTls,
    /// A PEM root certificate to trust besides the public ones (a relay with a
    /// private CA).
    pub ca: Option<SecretValue>,
}

/// Where a receiver sends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Channel {
    /// Alertmanager's webhook JSON, signed with an HMAC of the body when `secret` is set.
    Webhook {
        url: SecretValue,
        secret: Option<SecretValue>,
    },
    Email(EmailChannel),
    Slack {
        url: SecretValue,
    },
    /// A DingTalk robot; `secret` turns on its request signing.
    DingTalk {
        url: SecretValue,
        secret: Option<SecretValue>,
    },
    /// A Feishu/Lark custom bot; `secret` turns on its request signing.
    Feishu {
        url: SecretValue,
        secret: Option<SecretValue>,
    },
    WeCom {
        url: SecretValue,
    },
}

impl Channel {
    /// The channel's key in the document (`webhook`, `dingtalk`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            Channel::Webhook { .. } => "webhook",
            Channel::Email(_) => "email",
            Channel::Slack { .. } => "slack",
            Channel::DingTalk { .. } => "dingtalk",
            Channel::Feishu { .. } => "feishu",
            Channel::WeCom { .. } => "wecom",
        }
    }

    /// Every secret the channel names, with its field's path (`dingtalk.secret`).
    pub fn secret_fields(&self) -> Vec<(String, &str)> {
        let fields: Vec<(&str, &SecretValue)> = match self {
            Channel::Webhook { url, secret }
            | Channel::DingTalk { url, secret }
            | Channel::Feishu { url, secret } => std::iter::once(("url", url))
                .chain(secret.iter().map(|s| ("secret", s)))
                .collect(),
            Channel::Slack { url } | Channel::WeCom { url } => vec![("url", url)],
            Channel::Email(email) => email
                .password
                .iter()
                .map(|p| ("password", p))
                .chain(email.ca.iter().map(|c| ("ca", c)))
                .collect(),
        };
        fields
            .into_iter()
            .filter_map(|(field, value)| {
                let name = value.secret_name()?;
                Some((format!("{}.{field}", self.kind()), name))
            })
            .collect()
    }
}

/// A project's receiver, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiverSpec {
    pub name: String,
    pub project: String,
    pub channel: Channel,
}

impl ReceiverSpec {
    /// The document as canonical JSON, which `parse_document` reads back as the same.
    pub fn to_canonical_json(&self) -> String {
        let url_and_secret = |url: &SecretValue, secret: &Option<SecretValue>| {
            let mut map = Map::new();
            map.insert("url".to_owned(), url.to_json());
            if let Some(secret) = secret {
                map.insert("secret".to_owned(), secret.to_json());
            }
            Value::Object(map)
        };
        let channel = match &self.channel {
            Channel::Webhook { url, secret }
            | Channel::DingTalk { url, secret }
            | Channel::Feishu { url, secret } => url_and_secret(url, secret),
            Channel::Slack { url } | Channel::WeCom { url } => url_and_secret(url, &None),
            Channel::Email(email) => {
                let mut map = Map::new();
                map.insert("to".to_owned(), json!(email.to));
                map.insert("from".to_owned(), json!(email.from));
                map.insert("smarthost".to_owned(), json!(email.smarthost));
                if let Some(username) = &email.username {
                    map.insert("username".to_owned(), json!(username));
                }
                if let Some(password) = &email.password {
                    map.insert("password".to_owned(), password.to_json());
                }
                map.insert("tls".to_owned(), json!(email.tls.as_str()));
                if let Some(ca) = &email.ca {
                    map.insert("ca".to_owned(), ca.to_json());
                }
                Value::Object(map)
            }
        };
        let mut document = Map::new();
        document.insert("kind".to_owned(), json!("Receiver"));
        document.insert("name".to_owned(), json!(self.name));
        document.insert("project".to_owned(), json!(self.project));
        document.insert(self.channel.kind().to_owned(), channel);
        Value::Object(document).to_string()
    }
}

/// Checks a parsed `Receiver` document, reporting every problem at once.
pub(super) fn validate_receiver(document: &Value) -> Result<ReceiverSpec, SpecErrors> {
    let mut problems = Problems::default();
    let read = read_document(document, &mut problems);
    problems.finish(read, "the receiver")
}

fn read_document(document: &Value, problems: &mut Problems) -> Option<ReceiverSpec> {
    let head = problems.document_head(document, DOCUMENT_FIELDS)?;
    let (map, name, project) = (head.map, head.name, head.project);
    let present: Vec<&str> = CHANNELS
        .iter()
        .copied()
        .filter(|key| optional(map, key).is_some())
        .collect();
    let channel = match present.as_slice() {
        [] => {
            problems.push(
                "",
                format!("a receiver needs one channel: {}", CHANNELS.join(", ")),
            );
            None
        }
        [key] => optional(map, key).and_then(|value| read_channel(key, value, problems)),
        [_, second, ..] => {
            problems.push(
                second,
                format!(
                    "a receiver has one channel; this one has {} (make one receiver each)",
                    present.join(" and ")
                ),
            );
            None
        }
    };
    Some(ReceiverSpec {
        name: name?,
        project: project?,
        channel: channel?,
    })
}

fn read_channel(key: &str, value: &Value, problems: &mut Problems) -> Option<Channel> {
    let map = problems.mapping(value, key)?;
    if key == "email" {
        return read_email(map, problems).map(Channel::Email);
    }
    let signed = matches!(key, "webhook" | "dingtalk" | "feishu");
    let known: &[&str] = if signed { &["url", "secret"] } else { &["url"] };
    problems.unknown_fields(map, key, known);
    let url = problems
        .required(map, key, "url", "")
        .and_then(|v| read_secret_value(v, &child(key, "url"), true, problems));
    let secret = match optional(map, "secret") {
        Some(v) if signed => Some(read_secret_value(
            v,
            &child(key, "secret"),
            false,
            problems,
        )?),
        _ => None,
    };
    let url = url?;
    Some(match key {
        "webhook" => Channel::Webhook { url, secret },
        "slack" => Channel::Slack { url },
        "dingtalk" => Channel::DingTalk { url, secret },
        "feishu" => Channel::Feishu { url, secret },
        _ => Channel::WeCom { url },
    })
}

fn read_email(map: &Map<String, Value>, problems: &mut Problems) -> Option<EmailChannel> {
    problems.unknown_fields(map, "email", EMAIL_FIELDS);
    let to = problems
        .required(map, "email", "to", " (a list of addresses)")
        .and_then(|value| {
            let list = match value {
                Value::String(_) => std::slice::from_ref(value),
                other => problems.list(other, "email.to")?,
            };
            if list.is_empty() || list.len() > MAX_RECIPIENTS {
                problems.push(
                    "email.to",
                    format!("lists {} addresses; give 1 to {MAX_RECIPIENTS}", list.len()),
                );
                return None;
            }
            let mut addresses = Vec::new();
            for (idx, address) in list.iter().enumerate() {
                let path = item("email.to", idx);
                if let Some(text) = problems.string(address, &path) {
                    match address_problem(text) {
                        Some(problem) => problems.push(&path, problem),
                        None => addresses.push(text.to_owned()),
                    }
                }
            }
            (addresses.len() == list.len()).then_some(addresses)
        });
    let from = problems
        .required(map, "email", "from", " (the sender's address)")
        .and_then(|value| problems.string(value, "email.from"))
        .and_then(|text| match address_problem(text) {
            Some(problem) => {
                problems.push("email.from", problem);
                None
            }
            None => Some(text.to_owned()),
        });
    let smarthost = problems
        .required(map, "email", "smarthost", " (host:port)")
        .and_then(|value| problems.string(value, "email.smarthost"))
        .and_then(|text| {
            let port_ok = text
                .rsplit_once(':')
                .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
            if port_ok {
                Some(text.to_owned())
            } else {
                problems.push(
                    "email.smarthost",
                    format!("{text:?} is not host:port (smtp.example.com:587)"),
                );
                None
            }
        });
    let username =
        optional(map, "username").and_then(|v| problems.scalar_string(v, "email.username"));
    let password = match optional(map, "password") {
        Some(value) => Some(read_secret_value(value, "email.password", false, problems)?),
        None => None,
    };
    let tls = match optional(map, "tls") {
        Some(value) => problems.keyword(
            value,
            "email.tls",
            "TLS mode",
            &EmailTls::ALL,
            EmailTls::as_str,
        )?,
        None => EmailTls::StartTls,
    };
    if password.is_some() && username.is_none() {
        problems.push("email.username", "a password needs a username");
    }
    let ca = match optional(map, "ca") {
        Some(value) => Some(read_secret_value(value, "email.ca", false, problems)?),
        None => None,
    };
    if let Some(SecretValue::Plain(pem)) = &ca
        && !pem.contains("-----BEGIN CERTIFICATE-----")
    {
        problems.push(
            "email.ca",
            "expected a PEM certificate (-----BEGIN CERTIFICATE-----)",
        );
    }
    if ca.is_some() && tls == EmailTls::None {
        problems.push(
            "email.ca",
            "a CA certificate needs tls: starttls or implicit",
        );
    }
    Some(EmailChannel {
        to: to?,
        from: from?,
        smarthost: smarthost?,
        username,
        password,
        tls,
        ca,
    })
}

/// A plain string or `{secret: NAME}`; a plain URL must be http(s).
fn read_secret_value(
    value: &Value,
    path: &str,
    is_url: bool,
    problems: &mut Problems,
) -> Option<SecretValue> {
    match value {
        Value::String(text) => {
            if text.is_empty() || text.len() > MAX_VALUE_LEN {
                problems.push(path, format!("give 1 to {MAX_VALUE_LEN} characters"));
                return None;
            }
            if is_url && !(text.starts_with("https://") || text.starts_with("http://")) {
                problems.push(path, format!("{text:?} is not an http:// or https:// URL"));
                return None;
            }
            Some(SecretValue::Plain(text.clone()))
        }
        Value::Object(map) => {
            problems.unknown_fields(map, path, &["secret"]);
            let name = problems
                .required(map, path, "secret", " (the name of a project secret)")
                .and_then(|v| problems.string(v, &child(path, "secret")))?;
            if let Err(message) = check_secret_name(name) {
                problems.push(&child(path, "secret"), message);
                return None;
            }
            Some(SecretValue::Secret(name.to_owned()))
        }
        other => {
            problems.wrong_type(path, "a string or {secret: NAME}", other);
            None
        }
    }
}

fn address_problem(text: &str) -> Option<String> {
    let valid = text.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty() && (domain.contains('.') || domain == "localhost")
    }) && !text.contains(char::is_whitespace)
        && text.len() <= 254;
    (!valid).then(|| format!("{text:?} is not an e-mail address"))
}

#[cfg(test)]
#[path = "receiver_tests.rs"]
mod tests;
