//! Guest identities and the signed tokens that carry them across connections.
//!
//! A token is `v2.<key id>.<player id>.<issued ms>.<mac>`, where the MAC is HMAC-SHA256 over
//! everything before it under the key the key id names. Possession of the token is possession
//! of the identity, so seats survive reconnects without accounts.
//!
//! The keys form a ring: the newest signs, an older one still verifies for a grace period
//! after its successor took over, then stops. Tokens of the first format,
//! `v1.<player id>.<issued ms>.<mac>`, verify under the legacy key: `secret.key` of the data
//! directory, or the explicit `--secret`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use rand::Rng;
use sha2::Sha256;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arbiter_protocol::PlayerId;

type HmacSha256 = Hmac<Sha256>;

/// The id of the legacy key (`secret.key` or `--secret`): the one `v1` tokens verify under.
/// Generated keys are named by their creation time in milliseconds, never 0.
const LEGACY_KID: &str = "0";

/// How often the timer looks for a key due for rotation.
const ROTATION_CHECK: Duration = Duration::from_secs(3600);

/// How long tokens live and signing keys serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyPolicy {
    /// A token is refused once it is this old, whichever key signed it.
    pub token_lifetime: Duration,
    /// A key this old gets a successor, which signs from then on; zero: never rotate.
    pub rotation: Duration,
    /// A key still verifies for this long after its successor took over. At least the token
    /// lifetime keeps every token valid until it expires.
    pub grace: Duration,
}

impl Default for KeyPolicy {
    fn default() -> Self {
        const DAY: u64 = 24 * 3600;
        Self {
            token_lifetime: Duration::from_secs(30 * DAY),
            rotation: Duration::from_secs(30 * DAY),
            grace: Duration::from_secs(30 * DAY),
        }
    }
}

/// One signing key.
struct Key {
    /// Named in `v2` tokens; the file name (without `.key`) of a generated key.
    kid: String,
    secret: Vec<u8>,
    /// When it began to sign, ms since the epoch: the end of its predecessor's term.
    created_ms: u64,
}

/// Signs and verifies identity tokens. Clones share one key ring, so a rotation is seen by
/// every holder.
#[derive(Clone)]
pub struct Signer {
    /// Oldest first; the last one signs. Never empty.
    keys: Arc<RwLock<Vec<Key>>>,
    policy: KeyPolicy,
    /// Where generated keys live (`<data dir>/keys`); `None` for an explicit secret, which
    /// never rotates.
    dir: Option<PathBuf>,
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not of the `v2.kid.id.issued.mac` (or `v1.id.issued.mac`) shape.
    #[error("the token is malformed")]
    Malformed,
    /// The MAC does not match: forged, or signed with another secret.
    #[error("the token's signature is not valid")]
    BadSignature,
    /// Names a key this server does not have: another server's token, or a key removed.
    #[error("the token was signed by a key this server does not know")]
    UnknownKey,
    /// Signed by a key whose grace period after rotation is over.
    #[error("the token was signed by a retired key; sign in again")]
    RetiredKey,
    /// Older than the token lifetime.
    #[error("the token has expired")]
    Expired,
}

impl TokenError {
    /// The machine-readable reason, sent as `details.reason` with `BAD_TOKEN`.
    pub fn reason(self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::BadSignature => "signature",
            Self::UnknownKey => "unknown_key",
            Self::RetiredKey => "retired_key",
            Self::Expired => "expired",
        }
    }
}

impl Signer {
    /// A signer with an explicit secret (e.g. from `--secret`): one key that never rotates.
    pub fn new(secret: impl AsRef<[u8]>) -> Self {
        Self::with_keys(
            vec![Key {
                kid: LEGACY_KID.to_owned(),
                secret: secret.as_ref().to_vec(),
                created_ms: 0,
            }],
            KeyPolicy::default(),
            None,
        )
    }

    fn with_keys(keys: Vec<Key>, policy: KeyPolicy, dir: Option<PathBuf>) -> Self {
        Self {
            keys: Arc::new(RwLock::new(keys)),
            policy,
            dir,
        }
    }

    /// The same keys under another policy (how long tokens live).
    pub fn with_policy(mut self, policy: KeyPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Load the key ring of data directory `dir`: `secret.key` (the legacy key) if there is
    /// one, then each `keys/<created ms>.key`. A directory with neither gets its first key
    /// (32 random bytes, hex, mode 0600); a newest key older than the rotation period gets a
    /// successor. `now_ms` is the time to judge that by.
    pub fn load_or_create(dir: &Path, policy: KeyPolicy, now_ms: u64) -> io::Result<Self> {
        let mut keys = Vec::new();
        let legacy = dir.join("secret.key");
        match std::fs::read_to_string(&legacy) {
            Ok(text) => {
                let created_ms = std::fs::metadata(&legacy)?
                    .modified()
                    .map_or(0, |t| ms_since_epoch(t).min(now_ms));
                keys.push(Key {
                    kid: LEGACY_KID.to_owned(),
                    secret: key_text(&legacy, &text)?,
                    created_ms,
                });
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let keys_dir = dir.join("keys");
        std::fs::create_dir_all(&keys_dir)?;
        keys.extend(read_key_dir(&keys_dir)?);
        let empty = keys.is_empty();
        let signer = Self::with_keys(keys, policy, Some(keys_dir));
        if empty {
            signer.rotate(now_ms)?;
        } else {
            signer.rotate_if_due(now_ms)?;
        }
        Ok(signer)
    }

    /// Take in keys added to the key directory since the ring was read (e.g. by `arbiter keys
    /// rotate` while the server runs): the newest signs from now on. Returns how many were
    /// added. An explicit secret has no directory and adds none.
    pub fn refresh(&self) -> io::Result<usize> {
        let Some(dir) = &self.dir else {
            return Ok(0);
        };
        let found = read_key_dir(dir)?;
        let mut keys = self.keys.write().unwrap_or_else(PoisonError::into_inner);
        let before = keys.len();
        for key in found {
            if !keys.iter().any(|k| k.kid == key.kid) {
                keys.push(key);
            }
        }
        // The legacy key (created at its file's time) stays first: it never signs again once
        // generated keys exist.
        let legacy = usize::from(keys.first().is_some_and(|k| k.kid == LEGACY_KID));
        keys[legacy..].sort_by_key(|k| k.created_ms);
        Ok(keys.len() - before)
    }

    fn keys(&self) -> RwLockReadGuard<'_, Vec<Key>> {
        // Keys are only pushed whole: a poisoned lock still holds a consistent ring.
        self.keys.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Give the newest key a successor if it is older than the rotation period. Returns the
    /// new key's id, if one was made.
    pub fn rotate_if_due(&self, now_ms: u64) -> io::Result<Option<String>> {
        let rotation = self.policy.rotation.as_millis() as u64;
        let newest = self.keys().last().map_or(0, |k| k.created_ms);
        if self.dir.is_none() || rotation == 0 || now_ms.saturating_sub(newest) < rotation {
            return Ok(None);
        }
        self.rotate(now_ms).map(Some)
    }

    /// Generate a key into the key directory; it signs from now on, and the one before it
    /// verifies for the grace period. Returns its id. An explicit secret cannot rotate.
    pub fn rotate(&self, now_ms: u64) -> io::Result<String> {
        let Some(dir) = &self.dir else {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "an explicit secret does not rotate; change it instead",
            ));
        };
        let mut keys = self.keys.write().unwrap_or_else(PoisonError::into_inner);
        // Ids are creation times, strictly increasing even for two rotations in one ms.
        let created_ms = now_ms.max(keys.last().map_or(0, |k| k.created_ms) + 1);
        let bytes: [u8; 32] = rand::rng().random();
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        write_private(&dir.join(format!("{created_ms}.key")), hex.as_bytes())?;
        keys.push(Key {
            kid: created_ms.to_string(),
            secret: hex.into_bytes(),
            created_ms,
        });
        Ok(created_ms.to_string())
    }

    /// Rotate whenever the newest key comes of age, checking hourly, until the runtime stops.
    /// Returns at once for an explicit secret or with rotation off.
    pub async fn rotate_on_schedule(self) {
        if self.dir.is_none() || self.policy.rotation.is_zero() {
            return;
        }
        let mut ticks = tokio::time::interval(ROTATION_CHECK);
        loop {
            ticks.tick().await;
            match self.rotate_if_due(now_ms()) {
                Ok(Some(kid)) => tracing::info!(kid, "token signing key rotated"),
                Ok(None) => {}
                Err(e) => tracing::error!(error = %e, "cannot rotate the token signing key"),
            }
        }
    }

    /// A fresh guest identity.
    pub fn new_player_id() -> PlayerId {
        PlayerId(format!("p_{:016x}", rand::rng().random::<u64>()))
    }

    /// A token for `player`, issued at `issued_ms` by the newest key.
    pub fn issue(&self, player: &PlayerId, issued_ms: u64) -> String {
        let keys = self.keys();
        let Some(key) = keys.last() else {
            unreachable!("a key ring is never empty");
        };
        let body = format!("v2.{}.{player}.{issued_ms}", key.kid);
        let sig = URL_SAFE_NO_PAD.encode(mac(&key.secret, &body).finalize().into_bytes());
        format!("{body}.{sig}")
    }

    /// The identity a token proves at time `now_ms`.
    pub fn verify(&self, token: &str, now_ms: u64) -> Result<PlayerId, TokenError> {
        match self.open(token, now_ms, self.policy.token_lifetime)?[..] {
            ["v1", id, _] | ["v2", _, id, _] => Ok(PlayerId(id.to_owned())),
            _ => Err(TokenError::Malformed),
        }
    }

    /// An invite to `room`, made at `issued_ms` by the newest key: `i1.kid.room.issued.mac`.
    /// Its own prefix keeps it from ever passing as an identity token, and the reverse.
    pub(crate) fn invite(&self, room: &str, issued_ms: u64) -> String {
        let keys = self.keys();
        let Some(key) = keys.last() else {
            unreachable!("a key ring is never empty");
        };
        let body = format!("i1.{}.{room}.{issued_ms}", key.kid);
        let sig = URL_SAFE_NO_PAD.encode(mac(&key.secret, &body).finalize().into_bytes());
        format!("{body}.{sig}")
    }

    /// A token for `player` in external game session `session`, made at `issued_ms` by the
    /// newest key: `x1.kid.session.player.issued.mac`. Its own prefix keeps it from passing
    /// as an identity token or an invite, and the reverse.
    pub(crate) fn session_token(&self, session: &str, player: &PlayerId, issued_ms: u64) -> String {
        let keys = self.keys();
        let Some(key) = keys.last() else {
            unreachable!("a key ring is never empty");
        };
        let body = format!("x1.{}.{session}.{player}.{issued_ms}", key.kid);
        let sig = URL_SAFE_NO_PAD.encode(mac(&key.secret, &body).finalize().into_bytes());
        format!("{body}.{sig}")
    }

    /// The session and player a session token names, and when it was issued, if it is valid
    /// at `now_ms` (made by a key still in force, at most [`SESSION_LIFETIME`] ago).
    pub(crate) fn check_session_token(
        &self,
        token: &str,
        now_ms: u64,
    ) -> Result<(String, PlayerId, u64), TokenError> {
        match self.open(token, now_ms, SESSION_LIFETIME)?[..] {
            ["x1", _, session, player, issued] => Ok((
                session.to_owned(),
                PlayerId(player.to_owned()),
                issued.parse().map_err(|_| TokenError::Malformed)?,
            )),
            _ => Err(TokenError::Malformed),
        }
    }

    /// Whether `token` is a valid invite to `room` at `now_ms` (made by a key still in
    /// force, at most [`INVITE_LIFETIME`] ago).
    pub(crate) fn check_invite(
        &self,
        token: &str,
        room: &str,
        now_ms: u64,
    ) -> Result<(), TokenError> {
        match self.open(token, now_ms, INVITE_LIFETIME)?[..] {
            ["i1", _, named, _] if named == room => Ok(()),
            _ => Err(TokenError::Malformed),
        }
    }

    /// The parts of a signed token's body (`version.[kid.]…issued`), once its signature, its
    /// key and its age (at most `lifetime`) check out.
    fn open<'t>(
        &self,
        token: &'t str,
        now_ms: u64,
        lifetime: Duration,
    ) -> Result<Vec<&'t str>, TokenError> {
        let (body, sig) = token.rsplit_once('.').ok_or(TokenError::Malformed)?;
        let parts: Vec<&str> = body.split('.').collect();
        let (kid, issued) = match parts[..] {
            ["v1", _, issued] => (LEGACY_KID, issued),
            ["v2" | "i1", kid, _, issued] => (kid, issued),
            ["x1", kid, _, _, issued] => (kid, issued),
            _ => return Err(TokenError::Malformed),
        };
        let issued: u64 = issued.parse().map_err(|_| TokenError::Malformed)?;
        let sig = URL_SAFE_NO_PAD
            .decode(sig)
            .map_err(|_| TokenError::Malformed)?;
        let keys = self.keys();
        let at = keys
            .iter()
            .position(|k| k.kid == kid)
            .ok_or(TokenError::UnknownKey)?;
        mac(&keys[at].secret, body)
            .verify_slice(&sig)
            .map_err(|_| TokenError::BadSignature)?;
        if let Some(successor) = keys.get(at + 1) {
            let retired = successor
                .created_ms
                .saturating_add(self.policy.grace.as_millis() as u64);
            if now_ms > retired {
                return Err(TokenError::RetiredKey);
            }
        }
        if now_ms.saturating_sub(issued) > lifetime.as_millis() as u64 {
            return Err(TokenError::Expired);
        }
        Ok(parts)
    }
}

/// How long an external game session token is valid (`POST /api/v2/sessions/recover` gives
/// a fresh one while it is).
pub(crate) const SESSION_LIFETIME: Duration = Duration::from_secs(6 * 3600);

/// How long an invite admits its holder.
pub(crate) const INVITE_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);

fn mac(key: &[u8], body: &str) -> HmacSha256 {
    // HMAC accepts keys of any length.
    let mut mac = HmacSha256::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(body.as_bytes());
    mac
}

/// The generated keys of `keys_dir` (`<created ms>.key`), oldest first.
fn read_key_dir(keys_dir: &Path) -> io::Result<Vec<Key>> {
    let mut keys = Vec::new();
    for entry in std::fs::read_dir(keys_dir)? {
        let path = entry?.path();
        let Some(created_ms) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".key"))
            .and_then(|n| n.parse::<u64>().ok())
            .filter(|&ms| ms > 0)
        else {
            continue;
        };
        let text = std::fs::read_to_string(&path)?;
        keys.push(Key {
            kid: created_ms.to_string(),
            secret: key_text(&path, &text)?,
            created_ms,
        });
    }
    keys.sort_by_key(|k| k.created_ms);
    Ok(keys)
}

/// A key file's secret: its trimmed text, refused when too short to be one.
fn key_text(path: &Path, text: &str) -> io::Result<Vec<u8>> {
    let text = text.trim();
    if text.len() < 32 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{} is too short to be a secret", path.display()),
        ));
    }
    Ok(text.as_bytes().to_vec())
}

/// Milliseconds since the Unix epoch: the time tokens are issued and judged at.
pub fn now_ms() -> u64 {
    ms_since_epoch(SystemTime::now())
}

fn ms_since_epoch(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
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

/// Clean a display name: trimmed, 1–32 characters, no control characters, no bidi
/// embeddings, overrides or isolates (they reorder the text shown after the name: an
/// impersonation tool), and at least one visible character.
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
    if name.chars().any(is_bidi_control) {
        return Err("name must not contain bidi embeddings, overrides or isolates");
    }
    if name.chars().all(|c| c.is_whitespace() || is_invisible(c)) {
        return Err("name must have a visible character");
    }
    Ok(name.to_owned())
}

/// U+202A–U+202E and U+2066–U+2069.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Characters that draw nothing: zero-width (non-)joiners and spaces, word joiners, marks,
/// the byte-order mark, the soft hyphen, variation selectors, Hangul fillers.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{ad}'
            | '\u{34f}'
            | '\u{61c}'
            | '\u{115f}'
            | '\u{1160}'
            | '\u{180e}'
            | '\u{200b}'..='\u{200f}'
            | '\u{2060}'..='\u{2064}'
            | '\u{3164}'
            | '\u{fe00}'..='\u{fe0f}'
            | '\u{feff}'
            | '\u{ffa0}'
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const DAY: u64 = 24 * 3600 * 1000;
    const T0: u64 = 1_800_000_000_000;

    fn policy(lifetime_days: u64, rotation_days: u64, grace_days: u64) -> KeyPolicy {
        let days = |n: u64| Duration::from_millis(n * DAY);
        KeyPolicy {
            token_lifetime: days(lifetime_days),
            rotation: days(rotation_days),
            grace: days(grace_days),
        }
    }

    fn scratch() -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("arbiter-auth-{}", rand::rng().random::<u64>()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn tokens_verify_and_tampering_is_caught() {
        let s = Signer::new("k".repeat(40));
        let id = Signer::new_player_id();
        let t = s.issue(&id, T0);
        assert!(t.starts_with("v2.0."), "{t}");
        assert_eq!(s.verify(&t, T0), Ok(id.clone()));

        let forged = t.replacen(id.as_str(), "p_0000000000000000", 1);
        assert_eq!(s.verify(&forged, T0), Err(TokenError::BadSignature));
        assert_eq!(
            Signer::new("other-secret-other-secret-other-secret").verify(&t, T0),
            Err(TokenError::BadSignature)
        );
        assert_eq!(s.verify("nonsense", T0), Err(TokenError::Malformed));
        assert_eq!(s.verify("v1.a.b.c", T0), Err(TokenError::Malformed));
        let elsewhere = t.replacen("v2.0.", "v2.17.", 1);
        assert_eq!(s.verify(&elsewhere, T0), Err(TokenError::UnknownKey));
    }

    #[test]
    fn an_invite_admits_to_its_room_for_seven_days_and_is_no_identity() {
        let s = Signer::new("k".repeat(40));
        let invite = s.invite("r_3f9a0c1d2e4b5a69", T0);
        assert_eq!(
            s.check_invite(&invite, "r_3f9a0c1d2e4b5a69", T0 + 7 * DAY),
            Ok(())
        );
        assert_eq!(
            s.check_invite(&invite, "r_3f9a0c1d2e4b5a69", T0 + 7 * DAY + 1),
            Err(TokenError::Expired)
        );
        assert_eq!(
            s.check_invite(&invite, "r_0000000000000000", T0),
            Err(TokenError::Malformed),
            "another room's"
        );
        let forged = invite.replacen("r_3f9a0c1d2e4b5a69", "r_0000000000000000", 1);
        assert_eq!(
            s.check_invite(&forged, "r_0000000000000000", T0),
            Err(TokenError::BadSignature)
        );
        // Neither passes for the other.
        assert_eq!(s.verify(&invite, T0), Err(TokenError::Malformed));
        let token = s.issue(&Signer::new_player_id(), T0);
        assert!(s.check_invite(&token, "r_3f9a0c1d2e4b5a69", T0).is_err());
    }

    #[test]
    fn tokens_expire_after_their_lifetime() {
        let s = Signer::new("k".repeat(40)).with_policy(policy(30, 0, 0));
        let id = Signer::new_player_id();
        let t = s.issue(&id, T0);
        assert_eq!(s.verify(&t, T0 + 30 * DAY), Ok(id));
        assert_eq!(s.verify(&t, T0 + 30 * DAY + 1), Err(TokenError::Expired));
    }

    #[test]
    fn v1_tokens_verify_under_the_legacy_key() {
        let secret = "k".repeat(40);
        let id = Signer::new_player_id();
        let body = format!("v1.{id}.{T0}");
        let sig = URL_SAFE_NO_PAD.encode(mac(secret.as_bytes(), &body).finalize().into_bytes());
        let v1 = format!("{body}.{sig}");
        assert_eq!(Signer::new(&secret).verify(&v1, T0 + DAY), Ok(id));
    }

    #[test]
    fn an_old_key_verifies_through_its_grace_period_then_stops() {
        let dir = scratch();
        let s = Signer::load_or_create(&dir, policy(60, 10, 5), T0).unwrap();
        let id = Signer::new_player_id();
        let old = s.issue(&id, T0 + DAY);
        // Nine days on, no rotation is due yet.
        assert_eq!(s.rotate_if_due(T0 + 9 * DAY).unwrap(), None);
        let successor = s.rotate_if_due(T0 + 10 * DAY).unwrap().unwrap();
        let new = s.issue(&id, T0 + 10 * DAY);
        assert!(new.starts_with(&format!("v2.{successor}.")), "{new}");
        assert_eq!(s.verify(&old, T0 + 15 * DAY), Ok(id.clone()));
        assert_eq!(
            s.verify(&old, T0 + 15 * DAY + 1),
            Err(TokenError::RetiredKey)
        );
        assert_eq!(s.verify(&new, T0 + 15 * DAY + 1), Ok(id.clone()));

        // A restart finds both keys, and rotates at start when the newest is due.
        let again = Signer::load_or_create(&dir, policy(60, 10, 5), T0 + 21 * DAY).unwrap();
        assert_eq!(again.verify(&new, T0 + 21 * DAY), Ok(id));
        assert!(
            !again
                .issue(&Signer::new_player_id(), T0)
                .contains(&successor)
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_legacy_secret_file_is_the_first_key() {
        let dir = scratch();
        std::fs::write(dir.join("secret.key"), "ab".repeat(32)).unwrap();
        let s = Signer::load_or_create(&dir, policy(30, 0, 30), T0).unwrap();
        let id = Signer::new_player_id();
        let body = format!("v1.{id}.{T0}");
        let sig = URL_SAFE_NO_PAD.encode(
            mac("ab".repeat(32).as_bytes(), &body)
                .finalize()
                .into_bytes(),
        );
        assert_eq!(s.verify(&format!("{body}.{sig}"), T0), Ok(id.clone()));
        assert!(s.issue(&id, T0).starts_with("v2.0."));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn keys_are_created_private_and_reused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = scratch();
        let a = Signer::load_or_create(&dir, KeyPolicy::default(), T0).unwrap();
        let b = Signer::load_or_create(&dir, KeyPolicy::default(), T0 + 1).unwrap();
        let id = Signer::new_player_id();
        assert_eq!(b.verify(&a.issue(&id, T0), T0 + 1), Ok(id));
        let file = dir.join("keys").join(format!("{T0}.key"));
        let mode = std::fs::metadata(file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(clean_name("  Ada "), Ok("Ada".to_owned()));
        assert!(clean_name("   ").is_err());
        assert!(clean_name(&"x".repeat(33)).is_err());
        assert!(clean_name("a\u{7}b").is_err());
        assert!(clean_name("ada\u{202e}gpj.exe").is_err());
        assert!(clean_name("\u{200b} \u{3164}").is_err());
        assert_eq!(clean_name("Zoë 🎲"), Ok("Zoë 🎲".to_owned()));
        assert_eq!(clean_name("שרה"), Ok("שרה".to_owned()));
    }
}
