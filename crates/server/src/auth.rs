//! Guest identities and the signed tokens that carry them across connections.
//!
//! A token is `v1.<player id>.<issued ms>.<mac>`, where the MAC is HMAC-SHA256 over the first
//! three parts under the server's secret. Possession of the token is possession of the
//! identity, so seats survive reconnects without accounts.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use rand::Rng;
use sha2::Sha256;
use std::io;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arbiter_protocol::PlayerId;

type HmacSha256 = Hmac<Sha256>;

/// How long a guest token stays valid.
const TOKEN_LIFETIME: Duration = Duration::from_secs(30 * 24 * 3600);

/// Signs and verifies identity tokens.
#[derive(Clone)]
pub struct Signer {
    key: Vec<u8>,
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not of the `v1.id.issued.mac` shape.
    #[error("the token is malformed")]
    Malformed,
    /// The MAC does not match: forged, or signed with another secret.
    #[error("the token's signature is not valid")]
    BadSignature,
    /// Older than the token lifetime.
    #[error("the token has expired")]
    Expired,
}

impl Signer {
    /// A signer with an explicit secret (e.g. from `--secret`).
    pub fn new(secret: impl AsRef<[u8]>) -> Self {
        Self {
            key: secret.as_ref().to_vec(),
        }
    }

    /// Load the secret from `dir/secret.key`, creating it (32 random bytes, hex, mode 0600)
    /// on first start so tokens stay valid across restarts.
    pub fn load_or_create(dir: &Path) -> io::Result<Self> {
        let path = dir.join("secret.key");
        match std::fs::read_to_string(&path) {
            Ok(hex) if hex.trim().len() >= 32 => return Ok(Self::new(hex.trim())),
            Ok(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{} is too short to be a secret", path.display()),
                ));
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let bytes: [u8; 32] = rand::rng().random();
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        write_private(&path, hex.as_bytes())?;
        Ok(Self::new(hex))
    }

    fn mac(&self, body: &str) -> HmacSha256 {
        // HMAC accepts keys of any length.
        let mut mac = HmacSha256::new_from_slice(&self.key).unwrap_or_else(|_| unreachable!());
        mac.update(body.as_bytes());
        mac
    }

    /// A fresh guest identity.
    pub fn new_player_id() -> PlayerId {
        PlayerId(format!("p_{:016x}", rand::rng().random::<u64>()))
    }

    /// A token for `player`, issued now.
    pub fn issue(&self, player: &PlayerId) -> String {
        self.issue_at(player, now_ms())
    }

    fn issue_at(&self, player: &PlayerId, issued_ms: u64) -> String {
        let body = format!("v1.{player}.{issued_ms}");
        let sig = URL_SAFE_NO_PAD.encode(self.mac(&body).finalize().into_bytes());
        format!("{body}.{sig}")
    }

    /// The identity a token proves.
    pub fn verify(&self, token: &str) -> Result<PlayerId, TokenError> {
        let (body, sig) = token.rsplit_once('.').ok_or(TokenError::Malformed)?;
        let mut parts = body.split('.');
        let (Some("v1"), Some(id), Some(issued), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let issued: u64 = issued.parse().map_err(|_| TokenError::Malformed)?;
        let sig = URL_SAFE_NO_PAD
            .decode(sig)
            .map_err(|_| TokenError::Malformed)?;
        self.mac(body)
            .verify_slice(&sig)
            .map_err(|_| TokenError::BadSignature)?;
        if now_ms().saturating_sub(issued) > TOKEN_LIFETIME.as_millis() as u64 {
            return Err(TokenError::Expired);
        }
        Ok(PlayerId(id.to_owned()))
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(unix)]
fn write_private(path: &Path, data: &[u8]) -> io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(data)
}

#[cfg(not(unix))]
fn write_private(path: &Path, data: &[u8]) -> io::Result<()> {
    std::fs::write(path, data)
}

/// Clean a display name: trimmed, 1–32 characters, no control characters.
pub(crate) fn clean_name(name: &str) -> Result<String, &'static str> {
    let name = name.trim();
    if name.is_empty() {
        return Err("name must not be empty");
    }
    if name.chars().count() > 32 {
        return Err("name must be at most 32 characters");
    }
    if name.chars().any(char::is_control) {
        return Err("name must not contain control characters");
    }
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_and_tampering_is_caught() {
        let s = Signer::new("k".repeat(40));
        let id = Signer::new_player_id();
        let t = s.issue(&id);
        assert_eq!(s.verify(&t), Ok(id.clone()));

        let forged = t.replacen(id.as_str(), "p_0000000000000000", 1);
        assert_eq!(s.verify(&forged), Err(TokenError::BadSignature));
        assert_eq!(
            Signer::new("other-secret-other-secret-other-secret").verify(&t),
            Err(TokenError::BadSignature)
        );
        assert_eq!(s.verify("nonsense"), Err(TokenError::Malformed));
        assert_eq!(s.verify("v1.a.b.c"), Err(TokenError::Malformed));
        let old = s.issue_at(&id, now_ms() - TOKEN_LIFETIME.as_millis() as u64 - 1);
        assert_eq!(s.verify(&old), Err(TokenError::Expired));
    }

    #[test]
    fn secret_is_created_once_and_reused() {
        let dir =
            std::env::temp_dir().join(format!("arbiter-auth-{}", rand::rng().random::<u64>()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let a = Signer::load_or_create(&dir).expect("create");
        let b = Signer::load_or_create(&dir).expect("load");
        let id = Signer::new_player_id();
        assert_eq!(b.verify(&a.issue(&id)), Ok(id));
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(clean_name("  Ada "), Ok("Ada".to_owned()));
        assert!(clean_name("   ").is_err());
        assert!(clean_name(&"x".repeat(33)).is_err());
        assert!(clean_name("a\u{7}b").is_err());
    }
}
