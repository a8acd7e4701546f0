//! Test certificates made with openssl (which `scripts/test` installs): a CA and a
//! server certificate it signed for `localhost` and 127.0.0.1, as real deployments
//! with a private CA have them.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The files of a CA and of a server certificate it signed.
pub struct TestCertificates {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl TestCertificates {
    /// Makes them in `dir`; `None` (with the reason on stderr) when openssl cannot.
    pub fn make(dir: &Path) -> Option<TestCertificates> {
        let path = |name: &str| dir.join(name);
        let certs = TestCertificates {
            ca: path("ca.pem"),
            cert: path("cert.pem"),
            key: path("key.pem"),
        };
        std::fs::write(
            path("ext.cnf"),
            "subjectAltName=DNS:localhost,IP:127.0.0.1\n",
        )
        .ok()?;
        let ca_key = path("ca-key.pem");
        let request = path("req.pem");
        let ext = path("ext.cnf");
        let steps: [Vec<&std::ffi::OsStr>; 3] = [
            args(
                &[
                    "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                ],
                &["-subj", "/CN=test-ca", "-keyout"],
                &[&ca_key, Path::new("-out"), &certs.ca],
            ),
            args(
                &["req", "-newkey", "rsa:2048", "-nodes"],
                &["-subj", "/CN=localhost", "-keyout"],
                &[&certs.key, Path::new("-out"), &request],
            ),
            args(
                &["x509", "-req", "-days", "1", "-CAcreateserial"],
                &["-extfile"],
                &[
                    &ext,
                    Path::new("-in"),
                    &request,
                    Path::new("-CA"),
                    &certs.ca,
                    Path::new("-CAkey"),
                    &ca_key,
                    Path::new("-out"),
                    &certs.cert,
                ],
            ),
        ];
        for step in steps {
            let made = Command::new("openssl").args(&step).output();
            if !made.as_ref().is_ok_and(|o| o.status.success()) {
                eprintln!("openssl cannot make test certificates: {made:?}");
                return None;
            }
        }
        Some(certs)
    }
}

fn args<'a>(flags: &[&'a str], more: &[&'a str], paths: &[&'a Path]) -> Vec<&'a std::ffi::OsStr> {
    flags
        .iter()
        .chain(more)
        .map(|f| std::ffi::OsStr::new(*f))
        .chain(paths.iter().map(|p| p.as_os_str()))
        .collect()
}
