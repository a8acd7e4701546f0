//! A tiny scripted HTTP/1.1 server for `http` task tests: each connection gets the next
//! scripted reply (the last one repeats) and is closed after it.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

/// What the server does with one connection.
#[derive(Clone, Debug)]
pub enum Reply {
    /// Answers with this status, these headers and this body.
    Respond {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// Reads the request and never answers, keeping the connection open.
    Silent,
    /// Writes these bytes as soon as the connection is accepted, then closes it.
    Raw(Vec<u8>),
}

impl Reply {
    pub fn status(status: u16) -> Self {
        Self::Respond {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    pub fn json(status: u16, body: &str) -> Self {
        Self::Respond {
            status,
            headers: vec![("Content-Type".to_owned(), "application/json".to_owned())],
            body: body.as_bytes().to_vec(),
        }
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        if let Self::Respond { headers, .. } = &mut self {
            headers.push((name.to_owned(), value.to_owned()));
        }
        self
    }

    pub fn with_body(mut self, text: &str) -> Self {
        if let Self::Respond { body, .. } = &mut self {
            *body = text.as_bytes().to_vec();
        }
        self
    }
}

/// A request as the server read it.
#[derive(Clone, Debug, Default)]
pub struct RecordedRequest {
    pub method: String,
    pub target: String,
    /// Names lowercased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RecordedRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// Serves until dropped.
pub struct ScriptedServer {
    pub address: SocketAddr,
    requests: Arc<Mutex<Vec<RecordedRequest>>>,
    server: JoinHandle<()>,
}

impl ScriptedServer {
    pub async fn start(replies: Vec<Reply>) -> Self {
        assert!(!replies.is_empty(), "a script needs at least one reply");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("local address");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let server = tokio::spawn(serve(listener, replies, requests.clone()));
        Self {
            address,
            requests,
            server,
        }
    }

    /// `http://127.0.0.1:PORT` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.requests.lock().expect("requests lock").clone()
    }
}

impl Drop for ScriptedServer {
    fn drop(&mut self) {
        // Aborting the accept loop drops its connections too.
        self.server.abort();
    }
}

async fn serve(
    listener: TcpListener,
    replies: Vec<Reply>,
    requests: Arc<Mutex<Vec<RecordedRequest>>>,
) {
    let mut connections = JoinSet::new();
    let mut next_reply = 0;
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let reply = replies[next_reply.min(replies.len() - 1)].clone();
        next_reply += 1;
        connections.spawn(answer(stream, reply, requests.clone()));
    }
}

async fn answer(mut stream: TcpStream, reply: Reply, requests: Arc<Mutex<Vec<RecordedRequest>>>) {
    if let Reply::Raw(bytes) = &reply {
        let _ = stream.write_all(bytes).await;
        let _ = stream.shutdown().await;
        return;
    }
    let Some(request) = read_request(&mut stream).await else {
        return;
    };
    requests.lock().expect("requests lock").push(request);
    match reply {
        Reply::Silent => std::future::pending::<()>().await,
        Reply::Raw(_) => {}
        Reply::Respond {
            status,
            headers,
            body,
        } => {
            let mut head = format!(
                "HTTP/1.1 {status} Scripted\r\nContent-Length: {}\r\nConnection: close\r\n",
                body.len()
            );
            for (name, value) in headers {
                head.push_str(&format!("{name}: {value}\r\n"));
            }
            head.push_str("\r\n");
            let _ = stream.write_all(head.as_bytes()).await;
            let _ = stream.write_all(&body).await;
            let _ = stream.shutdown().await;
        }
    }
}

/// Reads the request line, the headers and a `Content-Length` body.
async fn read_request(stream: &mut TcpStream) -> Option<RecordedRequest> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(end) = buffer.windows(4).position(|window| window == b"\r\n\r\n") {
            break end;
        }
        let read = stream.read(&mut chunk).await.ok()?;
        if read == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..read]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let mut request = RecordedRequest {
        method: request_line.next()?.to_owned(),
        target: request_line.next()?.to_owned(),
        ..RecordedRequest::default()
    };
    for line in lines {
        let (name, value) = line.split_once(':')?;
        request
            .headers
            .push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    let content_length: usize = request
        .header("content-length")
        .and_then(|length| length.parse().ok())
        .unwrap_or(0);
    let mut body = buffer[head_end + 4..].to_vec();
    while body.len() < content_length {
        let read = stream.read(&mut chunk).await.ok()?;
        if read == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..read]);
    }
    request.body = body;
    Some(request)
}
