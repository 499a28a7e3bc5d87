//! Room passwords: argon2id hashes (PHC strings) made and checked off the async threads. The
//! password itself is never stored, logged or kept past the check.

use crate::app::App;
use arbiter_engine::protocol::ErrorCode;
use arbiter_engine::{GameError, RoomHandle};
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand::RngCore;

/// Longest password, in characters.
pub(crate) const MAX_CHARS: usize = 128;

fn internal(e: impl std::fmt::Display) -> GameError {
    GameError::new(ErrorCode::Internal, format!("password hashing failed: {e}"))
}

/// `password` as an argon2id PHC string (the crate's default parameters, a random 16-byte
/// salt), hashed on a blocking thread; `INVALID_FIELD` for a length outside 1–128.
pub(crate) async fn hash(password: String) -> Result<String, GameError> {
    let chars = password.chars().count();
    if chars == 0 || chars > MAX_CHARS {
        return Err(GameError::new(
            ErrorCode::InvalidField,
            format!("a room password is 1–{MAX_CHARS} characters"),
        ));
    }
    let hashing = tokio::task::spawn_blocking(move || {
        let mut salt = [0u8; 16];
        rand::rng().fill_bytes(&mut salt);
        let salt = SaltString::encode_b64(&salt).map_err(internal)?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(internal)
    });
    hashing.await.map_err(internal)?
}

/// Whether `password` matches the PHC string `lock`, checked on a blocking thread.
async fn verify(lock: String, password: String) -> Result<bool, GameError> {
    let checking = tokio::task::spawn_blocking(move || {
        let parsed = PasswordHash::new(&lock).map_err(internal)?;
        Ok(Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok())
    });
    checking.await.map_err(internal)?
}

impl App {
    /// Check the key a `join` gave for `room`: its password if it gave one (a room without
    /// one takes any), else an invite to it if it gave one; `JOIN_REFUSED` when it does not
    /// fit. A join that gave neither passes here: the room itself refuses a newcomer.
    pub(crate) async fn check_key(
        &self,
        room: &RoomHandle,
        password: Option<&str>,
        invite: Option<&str>,
    ) -> Result<(), GameError> {
        match (password, invite) {
            (Some(password), _) => self.check_password(room, password).await,
            (None, Some(invite)) => self
                .identity()
                .signer()
                .check_invite(invite, room.id(), crate::auth::now_ms())
                .map_err(|e| {
                    GameError::new(
                        ErrorCode::JoinRefused,
                        format!("this invite does not admit to this room: {e}"),
                    )
                }),
            (None, None) => Ok(()),
        }
    }

    /// `JOIN_REFUSED` unless `password` is `room`'s (a room without one takes any).
    async fn check_password(&self, room: &RoomHandle, password: &str) -> Result<(), GameError> {
        let lock = match room.lock() {
            Some(lock) => Some(lock.to_owned()),
            // A room served by another node: its record holds the hash.
            None if room.info().locked => {
                let store = self.rooms().store().ok_or_else(|| {
                    GameError::new(ErrorCode::Unavailable, "the room's password cannot be read")
                })?;
                let record = store.room(room.id()).await.map_err(|e| {
                    GameError::new(
                        ErrorCode::Unavailable,
                        format!("the room's password cannot be read: {e}"),
                    )
                })?;
                record.and_then(|r| r.lock)
            }
            None => None,
        };
        let Some(lock) = lock else { return Ok(()) };
        if verify(lock, password.to_owned()).await? {
            Ok(())
        } else {
            Err(GameError::new(ErrorCode::JoinRefused, "wrong password"))
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_password_is_kept_as_an_argon2id_hash_that_checks_it() {
        let lock = hash("open sesame".into()).await.unwrap();
        assert!(lock.starts_with("$argon2id$"), "{lock}");
        assert!(!lock.contains("open sesame"));
        let again = hash("open sesame".into()).await.unwrap();
        assert_ne!(lock, again, "a fresh salt each time");
        assert!(verify(lock.clone(), "open sesame".into()).await.unwrap());
        assert!(!verify(lock.clone(), "open sesame ".into()).await.unwrap());
        assert!(!verify(lock, String::new()).await.unwrap());
        assert_eq!(
            hash(String::new()).await.err().map(|e| e.code),
            Some(ErrorCode::InvalidField)
        );
        let long = "x".repeat(MAX_CHARS + 1);
        assert_eq!(
            hash(long).await.err().map(|e| e.code),
            Some(ErrorCode::InvalidField)
        );
    }
}
