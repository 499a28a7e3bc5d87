//! The old server's session store: a socket that closes while in a room leaves what a
//! `reconnect` naming its client id needs, for 15 minutes. Underneath, the reconnecting
//! socket says hello with the player's own token and joins the room again: the engine's
//! resume, which gives the held seat back.
//!
//! With a store the sessions are kept there (wall-clock expiry), so a restarted node or
//! another node of the cluster finds them; without one, or when the store fails, in this
//! node's memory (on tokio's clock).

use arbiter_engine::Store;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::time::Instant;

/// How long a closed socket's session may be taken up (the old server's 900 s).
pub(crate) const SESSION_LIFETIME: Duration = Duration::from_secs(15 * 60);

/// Sessions kept at most; past this, expired ones are swept before a new one is kept.
const SWEEP_PAST: usize = 1024;

/// What a closed socket left behind.
#[derive(Serialize, Deserialize)]
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

    /// Keep `left` for `client`, replacing an older one: in `store` if there is one.
    pub(crate) async fn keep(&self, store: Option<&Arc<dyn Store>>, client: &str, left: Left) {
        if let Some(store) = store {
            let expires = crate::auth::now_ms()
                .saturating_add(u64::try_from(SESSION_LIFETIME.as_millis()).unwrap_or(u64::MAX));
            match serde_json::to_string(&left) {
                Ok(body) => match store.keep_legacy(client, &body, expires).await {
                    Ok(()) => return,
                    Err(e) => tracing::warn!(error = %e, "legacy session kept in memory only"),
                },
                Err(e) => tracing::warn!(error = %e, "legacy session kept in memory only"),
            }
        }
        let now = Instant::now();
        let mut map = self.map();
        if map.len() >= SWEEP_PAST {
            map.retain(|_, (at, _)| now.duration_since(*at) <= SESSION_LIFETIME);
        }
        map.insert(client.to_owned(), (now, left));
    }

    /// Take `client`'s session, if one is kept and not expired: each is taken once.
    pub(crate) async fn take(&self, store: Option<&Arc<dyn Store>>, client: &str) -> Option<Left> {
        let kept = self.map().remove(client);
        if let Some((at, left)) = kept {
            return (at.elapsed() <= SESSION_LIFETIME).then_some(left);
        }
        let body = store?
            .take_legacy(client, crate::auth::now_ms())
            .await
            .inspect_err(|e| tracing::warn!(error = %e, "legacy session not read"))
            .ok()??;
        serde_json::from_str(&body).ok()
    }
}
