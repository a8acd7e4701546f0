//! A real local HTTP server for tests of `http` tasks: it answers each request with
//! the next scripted response (the last one repeats) and counts requests.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// One scripted answer; `None` status means accept the connection and never answer.
#[derive(Clone, Debug)]
pub struct Scripted {
    pub status: Option<u16>,
    pub body: String,
}

impl Scripted {
    /// Answers `status` with a JSON `body`.
    pub fn json(status: u16, body: &str) -> Self {
        Self {
            status: Some(status),
            body: body.to_owned(),
        }
    }

    /// Never answers.
    pub fn silent() -> Self {
        Self {
            status: None,
            body: String::new(),
        }
    }
}

/// A running scripted server.
pub struct ScriptedHttpServer {
    pub url: String,
    requests: Arc<AtomicUsize>,
}

impl ScriptedHttpServer {
    /// Listens on a free loopback port until the test's runtime ends.
    pub async fn start(script: Vec<Scripted>) -> ScriptedHttpServer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("bind: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("addr: {e}"));
        let requests = Arc::new(AtomicUsize::new(0));
        let counter = requests.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let n = counter.fetch_add(1, Ordering::SeqCst);
                let answer = script.get(n).or(script.last()).cloned();
                tokio::spawn(async move {
                    let mut buffer = vec![0u8; 64 * 1024];
                    let _ = socket.read(&mut buffer).await;
                    let Some(Scripted {
                        status: Some(status),
                        body,
                    }) = answer
                    else {
                        // Hold the connection open without answering.
                        tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
                        return;
                    };
                    let response = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = socket.write_all(response.as_bytes()).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        ScriptedHttpServer {
            url: format!("http://{addr}"),
            requests,
        }
    }

    /// Requests received so far.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}
