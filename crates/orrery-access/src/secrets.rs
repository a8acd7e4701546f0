//! Secret values at rest: AES-256-GCM under a cluster key, each value bound to its
//! project and name (the associated data), so a ciphertext copied onto another
//! secret's row does not decrypt. A keyring holds the current key and any earlier
//! ones, so values written under an old key stay readable while they are re-encrypted
//! (key rotation without downtime).

use aes_gcm::aead::{Aead, Generate, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// Bytes of a key.
const KEY_BYTES: usize = 32;

/// Bytes of an AES-GCM nonce.
const NONCE_BYTES: usize = 12;

/// The "project" that sealed text is bound under: empty, which no project is named.
const TEXT_SCOPE: &str = "";

/// Why a key or a sealed value could not be used. Never carries a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("a secret key is 64 hex characters (32 bytes); {0}")]
    BadKey(String),
    #[error("secret {name:?} was encrypted with key {key_id}, which this server does not have")]
    UnknownKey { name: String, key_id: String },
    #[error("secret {name:?} cannot be decrypted: it was altered, or the key is wrong")]
    Corrupt { name: String },
    #[error("cannot encrypt: {0}")]
    Encrypt(String),
}

/// A value as stored: the key it was sealed with, its nonce and ciphertext.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sealed {
    pub key_id: String,
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

/// One key and its id (the first 8 bytes of its SHA-256, hex: names it without
/// revealing it).
#[derive(Clone)]
pub struct SecretKey {
    id: String,
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretKey").field("id", &self.id).finish()
    }
}

impl SecretKey {
    /// A key from its hex form (a key file's text, surrounding whitespace ignored).
    pub fn from_hex(text: &str) -> Result<Self, SecretError> {
        let text = text.trim();
        if text.len() != KEY_BYTES * 2 {
            return Err(SecretError::BadKey(format!(
                "this one is {} characters",
                text.len()
            )));
        }
        let mut bytes = [0u8; KEY_BYTES];
        for (i, byte) in bytes.iter_mut().enumerate() {
            let pair = text.get(i * 2..i * 2 + 2).unwrap_or("");
            *byte = u8::from_str_radix(pair, 16)
                .map_err(|_| SecretError::BadKey(format!("{pair:?} is not hex")))?;
        }
        let cipher =
            Aes256Gcm::new_from_slice(&bytes).map_err(|e| SecretError::BadKey(e.to_string()))?;
        let id = orrery_core::hex::encode(&Sha256::digest(bytes)[..8]);
        Ok(Self { id, cipher })
    }

    /// A new random key, in hex (for a key file).
    pub fn generate_hex() -> Result<String, SecretError> {
        let mut bytes = [0u8; KEY_BYTES];
        getrandom::fill(&mut bytes).map_err(|e| SecretError::Encrypt(e.to_string()))?;
        Ok(orrery_core::hex::encode(&bytes))
    }

    pub fn id(&self) -> &str {
        &self.id
    }
}

/// The key values are sealed with, and the earlier keys still accepted for opening.
#[derive(Clone, Debug)]
pub struct Keyring {
    current: SecretKey,
    previous: Vec<SecretKey>,
}

/// What binds a value to its place: a ciphertext of one secret does not open as
/// another's.
fn associated_data(project: &str, name: &str) -> Vec<u8> {
    format!("orrery-secret\0{project}\0{name}").into_bytes()
}

impl Keyring {
    /// A keyring sealing with `current` and also opening with `previous`.
    pub fn new(current: SecretKey, previous: Vec<SecretKey>) -> Self {
        Self { current, previous }
    }

    /// The id of the key new values are sealed with.
    pub fn current_id(&self) -> &str {
        self.current.id()
    }

    /// Seals `value` as secret `name` of `project`.
    pub fn seal(&self, project: &str, name: &str, value: &str) -> Result<Sealed, SecretError> {
        let nonce = Nonce::generate();
        let aad = associated_data(project, name);
        let ciphertext = self
            .current
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: value.as_bytes(),
                    aad: &aad,
                },
            )
            .map_err(|e| SecretError::Encrypt(e.to_string()))?;
        Ok(Sealed {
            key_id: self.current.id.clone(),
            nonce: nonce.to_vec(),
            ciphertext,
        })
    }

    /// Seals a short-lived value that travels outside the store (a sign-in's state in a
    /// cookie, a one-time code) as URL-safe text. `purpose` binds it: text sealed for
    /// one purpose does not open for another, nor as any stored secret.
    pub fn seal_text(&self, purpose: &str, value: &str) -> Result<String, SecretError> {
        let sealed = self.seal(TEXT_SCOPE, purpose, value)?;
        let mut bytes = sealed.nonce;
        bytes.extend_from_slice(&sealed.ciphertext);
        Ok(format!(
            "{}.{}",
            sealed.key_id,
            URL_SAFE_NO_PAD.encode(bytes)
        ))
    }

    /// Opens text made by [`Keyring::seal_text`] for the same purpose.
    pub fn open_text(&self, purpose: &str, text: &str) -> Result<String, SecretError> {
        let corrupt = || SecretError::Corrupt {
            name: purpose.to_owned(),
        };
        let (key_id, body) = text.split_once('.').ok_or_else(corrupt)?;
        let bytes = URL_SAFE_NO_PAD.decode(body).map_err(|_| corrupt())?;
        if bytes.len() < NONCE_BYTES {
            return Err(corrupt());
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_BYTES);
        let sealed = Sealed {
            key_id: key_id.to_owned(),
            nonce: nonce.to_vec(),
            ciphertext: ciphertext.to_vec(),
        };
        self.open(TEXT_SCOPE, purpose, &sealed)
    }

    /// Opens a value sealed as secret `name` of `project`.
    pub fn open(&self, project: &str, name: &str, sealed: &Sealed) -> Result<String, SecretError> {
        let key = std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|key| key.id == sealed.key_id)
            .ok_or_else(|| SecretError::UnknownKey {
                name: name.to_owned(),
                key_id: sealed.key_id.clone(),
            })?;
        let corrupt = || SecretError::Corrupt {
            name: name.to_owned(),
        };
        let nonce = Nonce::try_from(sealed.nonce.as_slice()).map_err(|_| corrupt())?;
        let aad = associated_data(project, name);
        let plain = key
            .cipher
            .decrypt(
                &nonce,
                Payload {
                    msg: &sealed.ciphertext,
                    aad: &aad,
                },
            )
            .map_err(|_| corrupt())?;
        String::from_utf8(plain).map_err(|_| corrupt())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keyring() -> Keyring {
        let key = SecretKey::from_hex(&SecretKey::generate_hex().expect("key")).expect("parse");
        Keyring::new(key, Vec::new())
    }

    #[test]
    fn sealed_text_opens_only_for_its_purpose() {
        let ring = keyring();
        let text = ring
            .seal_text("oidc-login", "{\"state\":\"x\"}")
            .expect("seal");
        assert!(
            text.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        );
        assert_eq!(
            ring.open_text("oidc-login", &text).expect("open"),
            "{\"state\":\"x\"}"
        );
        assert!(ring.open_text("oidc-code", &text).is_err());
        // Not a stored secret either: no project has the empty name.
        assert!(ring.open_text("oidc-login", "garbage").is_err());
        assert!(ring.open_text("oidc-login", "k.AAAA").is_err());
        let mut altered = text.clone();
        altered.pop();
        altered.push(if text.ends_with('A') { 'B' } else { 'A' });
        assert!(ring.open_text("oidc-login", &altered).is_err());
        assert!(keyring().open_text("oidc-login", &text).is_err());
    }

    #[test]
    fn a_value_opens_only_as_itself_and_only_with_its_key() {
        let ring = keyring();
        let sealed = ring.seal("pay", "db_password", "hunter2").expect("seal");
        assert!(!sealed.ciphertext.windows(7).any(|w| w == b"hunter2"));
        assert_eq!(
            ring.open("pay", "db_password", &sealed).expect("open"),
            "hunter2"
        );
        // Moved to another name or project: refused.
        assert!(matches!(
            ring.open("pay", "other", &sealed),
            Err(SecretError::Corrupt { .. })
        ));
        assert!(matches!(
            ring.open("ml", "db_password", &sealed),
            Err(SecretError::Corrupt { .. })
        ));
        // One flipped bit: refused.
        let mut altered = sealed.clone();
        if let Some(byte) = altered.ciphertext.first_mut() {
            *byte ^= 1;
        }
        assert!(matches!(
            ring.open("pay", "db_password", &altered),
            Err(SecretError::Corrupt { .. })
        ));
        // Another keyring does not have the key.
        let other = keyring();
        let error = other
            .open("pay", "db_password", &sealed)
            .expect_err("wrong key");
        assert!(error.to_string().contains(&sealed.key_id), "{error}");
        assert!(!error.to_string().contains("hunter2"));
    }

    #[test]
    fn a_rotated_keyring_opens_old_values_and_seals_with_the_new_key() {
        let old = SecretKey::from_hex(&SecretKey::generate_hex().expect("key")).expect("parse");
        let new = SecretKey::from_hex(&SecretKey::generate_hex().expect("key")).expect("parse");
        let before = Keyring::new(old.clone(), Vec::new());
        let sealed = before.seal("pay", "token", "abc").expect("seal");
        let rotated = Keyring::new(new.clone(), vec![old]);
        assert_eq!(rotated.open("pay", "token", &sealed).expect("open"), "abc");
        let resealed = rotated.seal("pay", "token", "abc").expect("seal");
        assert_eq!(resealed.key_id, new.id());
        assert_ne!(resealed.key_id, sealed.key_id);
    }

    #[test]
    fn bad_key_files_are_refused_saying_why() {
        assert!(SecretKey::from_hex("abc").is_err());
        assert!(SecretKey::from_hex(&"zz".repeat(32)).is_err());
        let text = format!("{}\n", "ab".repeat(32));
        assert!(SecretKey::from_hex(&text).is_ok());
    }
}
