//! API keys for server-to-server calls (docs/external-games.md#api-keys).
//!
//! A key reads `arbk.<id>.<secret>`: the id finds its record, the secret is 32 random bytes.
//! Only the SHA-256 of the whole key is stored, and the hash of a presented key is compared
//! with it in constant time. The key itself is shown once, when it is made or rotated.

use crate::limits::Rate;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;

/// What every key starts with, so a leaked one is recognisable (and scannable).
const PREFIX: &str = "arbk";

/// A key's default rate limit: 600 calls a minute, up to 600 at once.
pub(crate) const DEFAULT_RATE: &str = "600/1m";

/// Longest key name, in characters.
const NAME_MAX: usize = 64;

/// Longest game id a key may be limited to.
const GAME_MAX: usize = 64;

/// What a key may do. A route names the one scope it needs; `admin` includes the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub(crate) enum Scope {
    /// Read external games, parties, sessions and game state.
    #[serde(rename = "game:read")]
    GameRead,
    /// Register external games and report on them: status, state, results, returns.
    #[serde(rename = "game:write")]
    GameWrite,
    /// Manage API keys (and everything the other scopes allow).
    #[serde(rename = "admin")]
    Admin,
}

impl Scope {
    /// Every scope, in the order documented.
    pub(crate) const ALL: [Scope; 3] = [Scope::GameRead, Scope::GameWrite, Scope::Admin];

    /// The spelling in keys, requests and the database.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Scope::GameRead => "game:read",
            Scope::GameWrite => "game:write",
            Scope::Admin => "admin",
        }
    }

    /// The scope spelled `s`, if any.
    pub(crate) fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|scope| scope.as_str() == s)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An API key as the database keeps it: never the key itself.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct KeyRecord {
    /// Public id (`k_` and 16 hex digits), the middle part of the key.
    pub(crate) id: String,
    /// The operator's name for it.
    pub(crate) name: String,
    /// SHA-256 of the key, hex; never shown.
    #[serde(skip)]
    pub(crate) hash: String,
    /// What it may do.
    pub(crate) scopes: Vec<Scope>,
    /// The one external game it may act for; `None`: any.
    pub(crate) game: Option<String>,
    /// Its calls' rate limit.
    pub(crate) rate: Rate,
    /// When it was made (ms since the epoch, as every time here).
    pub(crate) created_ms: u64,
    /// When it stops working; `None`: never. A rotated key's grace period ends here.
    pub(crate) expires_ms: Option<u64>,
    /// When an operator revoked it: refused from then on.
    pub(crate) revoked_ms: Option<u64>,
    /// When it was last used, to within a minute.
    pub(crate) last_used_ms: Option<u64>,
    /// The key this one replaced by rotation.
    pub(crate) rotated_from: Option<String>,
    /// The key that replaced this one.
    pub(crate) replaced_by: Option<String>,
}

/// Why a presented key is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyRefusal {
    /// Revoked by an operator.
    Revoked,
    /// Past its expiry (or its grace period after a rotation).
    Expired,
}

impl KeyRecord {
    /// Whether the key may be used at `now_ms`.
    pub(crate) fn usable(&self, now_ms: u64) -> Result<(), KeyRefusal> {
        if self.revoked_ms.is_some() {
            return Err(KeyRefusal::Revoked);
        }
        if self.expires_ms.is_some_and(|end| now_ms >= end) {
            return Err(KeyRefusal::Expired);
        }
        Ok(())
    }

    /// Whether it carries `scope` (an `admin` key carries all).
    pub(crate) fn has(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope) || self.scopes.contains(&Scope::Admin)
    }

    /// Whether `presented` is this key: its hash, compared in constant time.
    pub(crate) fn matches(&self, presented: &str) -> bool {
        crate::admin::constant_time_eq(digest(presented).as_bytes(), self.hash.as_bytes())
    }
}

/// What an operator asks for when making a key.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct KeySpec {
    /// A name to recognise it by.
    pub(crate) name: String,
    /// What it may do (at least one).
    pub(crate) scopes: Vec<String>,
    /// The one external game it may act for.
    #[serde(default)]
    pub(crate) game: Option<String>,
    /// Lifetime from now, in ms; `None`: it does not expire.
    #[serde(default)]
    pub(crate) expires_in_ms: Option<u64>,
    /// Rate limit (`N/PERIOD`, e.g. `120/1m`); default [`DEFAULT_RATE`].
    #[serde(default)]
    pub(crate) rate: Option<String>,
}

/// A key just made: the key itself (shown once) and its record.
#[derive(Debug, Clone)]
pub(crate) struct Minted {
    /// The key, `arbk.<id>.<secret>`.
    pub(crate) key: String,
    /// What the database keeps.
    pub(crate) record: KeyRecord,
}

impl KeySpec {
    /// Check the request and make the key, at `now_ms`; a bad field is named in the error.
    pub(crate) fn mint(&self, now_ms: u64) -> Result<Minted, String> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > NAME_MAX {
            return Err(format!("`name` is 1–{NAME_MAX} characters"));
        }
        if name.chars().any(char::is_control) {
            return Err("`name` must not contain control characters".to_owned());
        }
        let mut scopes = Vec::new();
        for s in &self.scopes {
            let scope = Scope::parse(s.trim()).ok_or_else(|| {
                format!("unknown scope {s:?}: use game:read, game:write or admin")
            })?;
            if !scopes.contains(&scope) {
                scopes.push(scope);
            }
        }
        if scopes.is_empty() {
            return Err("a key needs at least one scope (game:read, game:write, admin)".into());
        }
        scopes.sort();
        if let Some(game) = &self.game {
            let ok = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
            if game.is_empty() || game.len() > GAME_MAX || !game.chars().all(ok) {
                return Err(format!(
                    "`game` is an external game's id: 1–{GAME_MAX} letters, digits, - or _"
                ));
            }
        }
        let rate: Rate = self
            .rate
            .as_deref()
            .unwrap_or(DEFAULT_RATE)
            .parse()
            .map_err(|e| format!("`rate`: {e}"))?;
        let expires_ms = match self.expires_in_ms {
            Some(0) => return Err("`expires_in_ms` must be above 0 (or absent)".into()),
            Some(ms) => Some(now_ms.saturating_add(ms)),
            None => None,
        };
        let record = KeyRecord {
            id: String::new(),
            name: name.to_owned(),
            hash: String::new(),
            scopes,
            game: self.game.clone(),
            rate,
            created_ms: now_ms,
            expires_ms,
            revoked_ms: None,
            last_used_ms: None,
            rotated_from: None,
            replaced_by: None,
        };
        Ok(fresh(record))
    }
}

/// A successor for `old` at `now_ms`: same name, scopes, game, rate and expiry, a new secret.
pub(crate) fn successor(old: &KeyRecord, now_ms: u64) -> Minted {
    fresh(KeyRecord {
        created_ms: now_ms,
        revoked_ms: None,
        last_used_ms: None,
        rotated_from: Some(old.id.clone()),
        replaced_by: None,
        ..old.clone()
    })
}

/// Give `record` a new id and secret.
fn fresh(mut record: KeyRecord) -> Minted {
    let mut rng = rand::rng();
    let id = format!("k_{:016x}", rng.random::<u64>());
    let secret: [u8; 32] = rng.random();
    let key = format!("{PREFIX}.{id}.{}", URL_SAFE_NO_PAD.encode(secret));
    record.id = id;
    record.hash = digest(&key);
    Minted { key, record }
}

/// The id a presented key names, if it has the shape of one.
pub(crate) fn key_id(presented: &str) -> Option<&str> {
    let mut parts = presented.split('.');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(PREFIX), Some(id), Some(secret), None)
            if id.len() == 18 && id.starts_with("k_") && !secret.is_empty() =>
        {
            Some(id)
        }
        _ => None,
    }
}

/// SHA-256 of a key, hex.
fn digest(key: &str) -> String {
    Sha256::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn spec(scopes: &[&str]) -> KeySpec {
        KeySpec {
            name: "quiz".into(),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            game: None,
            expires_in_ms: None,
            rate: None,
        }
    }

    #[test]
    fn a_minted_key_matches_its_record_and_nothing_else() {
        let minted = spec(&["game:read"]).mint(1_000).unwrap();
        let record = &minted.record;
        assert_eq!(key_id(&minted.key), Some(record.id.as_str()));
        assert!(record.matches(&minted.key));
        assert!(!record.matches(&format!("{}x", minted.key)));
        assert_ne!(record.hash, minted.key, "the key itself is never kept");
        let other = spec(&["game:read"]).mint(1_000).unwrap();
        assert_ne!(other.record.id, record.id);
        assert!(!record.matches(&other.key));
    }

    #[test]
    fn scopes_are_checked_and_admin_includes_the_others() {
        assert!(spec(&[]).mint(0).is_err());
        assert!(spec(&["game:delete"]).mint(0).is_err());
        let admin = spec(&["admin"]).mint(0).unwrap().record;
        assert!(admin.has(Scope::GameWrite) && admin.has(Scope::GameRead));
        let read = spec(&["game:read", "game:read"]).mint(0).unwrap().record;
        assert_eq!(read.scopes, vec![Scope::GameRead]);
        assert!(!read.has(Scope::GameWrite));
    }

    #[test]
    fn expiry_and_revocation_end_a_key() {
        let mut key = KeySpec {
            expires_in_ms: Some(500),
            ..spec(&["game:read"])
        }
        .mint(1_000)
        .unwrap()
        .record;
        assert_eq!(key.usable(1_499), Ok(()));
        assert_eq!(key.usable(1_500), Err(KeyRefusal::Expired));
        key.revoked_ms = Some(1_100);
        assert_eq!(key.usable(1_200), Err(KeyRefusal::Revoked));
    }

    #[test]
    fn only_well_shaped_keys_name_an_id() {
        assert_eq!(
            key_id("arbk.k_0123456789abcdef.s3cr3t"),
            Some("k_0123456789abcdef")
        );
        for bad in [
            "",
            "arbk",
            "arbk.k_0123.s",
            "xx.k_0123456789abcdef.s",
            "arbk.k_0123456789abcdef.",
            "arbk.k_0123456789abcdef.s.t",
        ] {
            assert_eq!(key_id(bad), None, "{bad}");
        }
    }
}
