//! E-mail through an SMTP smarthost (lettre): STARTTLS, implicit TLS or plain, with
//! optional authentication; a text and an HTML part; the Subject names the alert and
//! the job.

use super::SendError;
use crate::message::{html, markdown, title};
use crate::payload::WebhookPayload;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use orrery_core::spec::{EmailChannel, EmailTls};
use std::time::Duration;

/// Most bytes of text in one e-mail.
const EMAIL_LIMIT: usize = 100_000;
const SMTP_TIMEOUT: Duration = Duration::from_secs(20);

pub(crate) async fn send_email(
    channel: &EmailChannel,
    password: Option<&str>,
    ca: Option<&str>,
    payload: &WebhookPayload,
) -> Result<String, SendError> {
    let (host, port) = channel
        .smarthost
        .rsplit_once(':')
        .and_then(|(host, port)| Some((host, port.parse::<u16>().ok()?)))
        .ok_or_else(|| SendError::permanent(format!("bad smarthost {:?}", channel.smarthost)))?;
    let tls = match channel.tls {
        EmailTls::None => Tls::None,
        EmailTls::StartTls => Tls::Required(tls_parameters(host, ca)?),
        EmailTls::Implicit => Tls::Wrapper(tls_parameters(host, ca)?),
    };
    // `builder_dangerous` only means "no TLS unless told": the mode is set just below.
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
        .tls(tls)
        .port(port)
        .timeout(Some(SMTP_TIMEOUT));
    if let Some(username) = &channel.username {
        builder = builder.credentials(Credentials::new(
            username.clone(),
            password.unwrap_or_default().to_owned(),
        ));
    }
    let transport = builder.build();
    let parse = |address: &str| {
        address
            .parse::<Mailbox>()
            .map_err(|e| SendError::permanent(format!("bad address {address:?}: {e}")))
    };
    let mut message = Message::builder()
        .from(parse(&channel.from)?)
        .subject(title(payload));
    for to in &channel.to {
        message = message.to(parse(to)?);
    }
    let email = message
        .multipart(MultiPart::alternative_plain_html(
            markdown(payload, EMAIL_LIMIT),
            html(payload, EMAIL_LIMIT),
        ))
        .map_err(|e| SendError::permanent(format!("cannot build the e-mail: {e}")))?;
    match transport.send(email).await {
        Ok(response) => Ok(format!(
            "{} {}",
            response.code(),
            response.message().collect::<Vec<_>>().join(" ")
        )),
        Err(error) if error.is_permanent() => Err(SendError::permanent(error.to_string())),
        Err(error) => Err(SendError::transient(error.to_string(), None)),
    }
}

/// TLS to `host`, trusting the public roots and `ca` when given.
fn tls_parameters(host: &str, ca: Option<&str>) -> Result<TlsParameters, SendError> {
    let mut builder = TlsParameters::builder(host.to_owned());
    if let Some(pem) = ca {
        let certificate = Certificate::from_pem(pem.as_bytes()).map_err(|e| {
            SendError::permanent(format!("the receiver's ca is not a PEM certificate: {e}"))
        })?;
        builder = builder.add_root_certificate(certificate);
    }
    builder
        .build()
        .map_err(|e| SendError::permanent(format!("cannot set up TLS to {host}: {e}")))
}
