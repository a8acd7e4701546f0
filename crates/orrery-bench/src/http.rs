//! Plain HTTP GETs of the server's unauthenticated endpoints that the REST client does
//! not cover (`/metrics`, `/readyz`). HTTP/1.0 keeps it to one request per connection
//! and a body that ends when the connection closes, so no HTTP library is needed.

use anyhow::{Context, bail};
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A response's status code and body.
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) body: String,
}

/// `GET path` on the server at `addr`.
pub(crate) async fn get(addr: SocketAddr, path: &str) -> anyhow::Result<Response> {
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .with_context(|| format!("connect to {addr}"))?;
    let request = format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\nAccept: */*\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .with_context(|| format!("send GET {path}"))?;
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .await
        .with_context(|| format!("read the response to GET {path}"))?;
    parse_response(&String::from_utf8_lossy(&raw))
}

fn parse_response(raw: &str) -> anyhow::Result<Response> {
    let Some((head, body)) = raw.split_once("\r\n\r\n") else {
        bail!("the response has no end of headers");
    };
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .context("the response has no status code")?;
    Ok(Response {
        status,
        body: body.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_status_and_body() {
        let response =
            parse_response("HTTP/1.0 200 OK\r\ncontent-type: text/plain\r\n\r\na 1\nb 2\n")
                .expect("parses");
        assert_eq!(response.status, 200);
        assert_eq!(response.body, "a 1\nb 2\n");
        assert!(parse_response("HTTP/1.0 200 OK\r\n").is_err());
    }
}
