//! A real SMTP server for e-mail tests: Debian's `python3-aiosmtpd` on a loopback
//! port, storing what it receives in a maildir the test reads.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The interpreter Debian's `python3-aiosmtpd` is installed for.
const PYTHON: &str = "/usr/bin/python3";

/// A running SMTP server; stopped when dropped.
pub struct SmtpServer {
    pub port: u16,
    maildir: tempfile::TempDir,
    child: Child,
}

impl SmtpServer {
    /// Starts aiosmtpd (plain SMTP, no TLS) and waits until it accepts connections.
    pub async fn start() -> SmtpServer {
        Self::start_with(&[]).await
    }

    /// Starts aiosmtpd offering STARTTLS (and requiring it) with this certificate.
    pub async fn start_starttls(cert: &std::path::Path, key: &std::path::Path) -> SmtpServer {
        Self::start_with(&[("--tlscert", cert), ("--tlskey", key)]).await
    }

    /// Starts aiosmtpd speaking TLS from the first byte (SMTPS) with this certificate.
    pub async fn start_implicit_tls(cert: &std::path::Path, key: &std::path::Path) -> SmtpServer {
        Self::start_with(&[("--smtpscert", cert), ("--smtpskey", key)]).await
    }

    async fn start_with(tls: &[(&str, &std::path::Path)]) -> SmtpServer {
        let maildir = tempfile::tempdir().unwrap_or_else(|e| panic!("maildir: {e}"));
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map(|addr| addr.port())
            .unwrap_or_else(|e| panic!("a free port: {e}"));
        let mut command = Command::new(PYTHON);
        command
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"));
        for (flag, path) in tls {
            command.arg(flag).arg(path);
        }
        let child = command
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(maildir.path().join("mail"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "start aiosmtpd ({PYTHON} -m aiosmtpd; apt-get install python3-aiosmtpd): {e}"
                )
            });
        let server = SmtpServer {
            port,
            maildir,
            child,
        };
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("aiosmtpd did not listen on port {port} within 10 s");
    }

    /// Every message received so far, as raw RFC 5322 text.
    pub fn messages(&self) -> Vec<String> {
        let new: PathBuf = self.maildir.path().join("mail").join("new");
        let Ok(entries) = std::fs::read_dir(new) else {
            return Vec::new();
        };
        let mut messages: Vec<String> = entries
            .filter_map(Result::ok)
            .filter_map(|entry| std::fs::read_to_string(entry.path()).ok())
            .collect();
        messages.sort();
        messages
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
