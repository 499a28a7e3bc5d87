//! The old server's session store: a socket that closes while in a room leaves what a
//! `reconnect` naming its client id needs, for 15 minutes. Underneath, the reconnecting
//! socket says hello with the player's own token and joins the room again: the engine's
//! resume, which gives the held seat back.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;
use tokio::time::Instant;

/// How long a closed socket's session may be taken up (the old server's 900 s).
pub(crate) const SESSION_LIFETIME: Duration = Duration::from_secs(15 * 60);

/// Sessions kept at most; past this, expired ones are swept before a new one is kept.
const SWEEP_PAST: usize = 1024;

/// What a closed socket left behind.
pub(crate) struct Left {
    /// The player's signed token: the identity the reconnecting socket takes.
    pub(crate) token: String,
    /// Arbiter's room id.
    pub(crate) room: String,
    /// The room id the client knows.
    pub(crate) name: String,
    pub(crate) game: String,
}

/// The store, by client id (the player id).
#[derive(Default)]
pub(crate) struct Sessions(Mutex<HashMap<String, (Instant, Left)>>);

impl Sessions {
    fn map(&self) -> MutexGuard<'_, HashMap<String, (Instant, Left)>> {
        // Single inserts and removes: a poisoned lock still holds a consistent map.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Keep `left` for `client`, replacing an older one.
    pub(crate) fn keep(&self, client: &str, left: Left) {
        let now = Instant::now();
        let mut map = self.map();
        if map.len() >= SWEEP_PAST {
            map.retain(|_, (at, _)| now.duration_since(*at) <= SESSION_LIFETIME);
        }
        map.insert(client.to_owned(), (now, left));
    }

    /// Take `client`'s session, if one is kept and not expired: each is taken once.
    pub(crate) fn take(&self, client: &str) -> Option<Left> {
        let (at, left) = self.map().remove(client)?;
        (at.elapsed() <= SESSION_LIFETIME).then_some(left)
    }
}
