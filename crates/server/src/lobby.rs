//! Finding a game: the public room list's listing fields (`create.lang`, `create.tags`), its
//! filters, and `watch_rooms`, which keeps a client's filtered list up to date.
//!
//! One task per node refreshes the public list (the cluster's, in a cluster) every
//! [`REFRESH`] while anyone watches, into a `watch` channel; each watching connection has a
//! task that filters every new list and sends it when its own list changed. A list is cheap
//! to compare, so clients get nothing while nothing they see moves.

use crate::app::App;
use arbiter_engine::GameError;
use arbiter_protocol::{ErrorCode, RoomFilter, RoomInfo, ServerMsg};
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::sync::watch;

/// How often the shared list is refreshed while anyone watches it.
pub(crate) const REFRESH: Duration = Duration::from_millis(500);

/// Most rooms one `rooms` message (or REST page) lists.
pub(crate) const MAX_LISTED: usize = 200;

/// Most tags a room has.
const MAX_TAGS: usize = 5;

/// The shared list and its refreshing task (started by the first watcher).
#[derive(Default)]
pub(crate) struct Lobby {
    list: std::sync::OnceLock<watch::Sender<Arc<Vec<RoomInfo>>>>,
}

impl Lobby {
    /// Follow the node's public list; the first caller starts the task that refreshes it,
    /// which ends with the app.
    pub(crate) fn subscribe(&self, app: &App) -> watch::Receiver<Arc<Vec<RoomInfo>>> {
        self.list
            .get_or_init(|| {
                let (tx, _) = watch::channel(Arc::new(Vec::new()));
                tokio::spawn(refresh(app.downgrade(), tx.clone()));
                tx
            })
            .subscribe()
    }
}

async fn refresh(app: Weak<crate::app::Inner>, tx: watch::Sender<Arc<Vec<RoomInfo>>>) {
    let mut tick = tokio::time::interval(REFRESH);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(app) = App::upgrade(&app) else {
            return;
        };
        if tx.receiver_count() == 0 {
            continue;
        }
        // A failed read (Redis away, in a cluster) keeps the last list.
        if let Ok(rooms) = app.list_rooms(true).await {
            tx.send_if_modified(|now| {
                let changed = **now != rooms;
                if changed {
                    *now = Arc::new(rooms);
                }
                changed
            });
        }
    }
}

/// The rooms of `rooms` that pass `filter`, at most [`MAX_LISTED`].
pub(crate) fn filtered(rooms: &[RoomInfo], filter: &RoomFilter) -> Vec<RoomInfo> {
    rooms
        .iter()
        .filter(|r| filter.admits(r))
        .take(MAX_LISTED)
        .cloned()
        .collect()
}

/// A connection's watch: answer with the list as it is now, then send the list again each
/// time the shared one changes what this filter lets through, until aborted.
pub(crate) async fn watch(
    app: App,
    queue: Arc<crate::queue::ConnQueue>,
    rid: Option<u64>,
    filter: RoomFilter,
) {
    let mut shared = app.lobby().subscribe(&app);
    let mut last = match app.list_rooms(true).await {
        Ok(rooms) => filtered(&rooms, &filter),
        Err(_) => filtered(&shared.borrow_and_update(), &filter),
    };
    queue.control(&ServerMsg::Rooms {
        rid,
        rooms: last.clone(),
    });
    while shared.changed().await.is_ok() {
        let rooms = filtered(&shared.borrow_and_update(), &filter);
        if rooms != last {
            queue.control(&ServerMsg::Rooms {
                rid: None,
                rooms: rooms.clone(),
            });
            last = rooms;
        }
    }
}

/// `create.lang` and `create.tags`, checked and in lower case.
pub(crate) fn listing(
    lang: Option<String>,
    tags: Vec<String>,
) -> Result<(Option<String>, Vec<String>), GameError> {
    let word = |s: &str, max: usize| {
        (1..=max).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    let invalid = |why: String| GameError::new(ErrorCode::InvalidField, why);
    let lang = match lang {
        Some(l) if l.len() >= 2 && word(&l, 12) => Some(l.to_ascii_lowercase()),
        Some(_) => {
            return Err(invalid(
                "lang is a language tag of 2–12 letters, digits and dashes (e.g. en, pt-br)"
                    .to_owned(),
            ));
        }
        None => None,
    };
    if tags.len() > MAX_TAGS {
        return Err(invalid(format!("a room has at most {MAX_TAGS} tags")));
    }
    let mut clean: Vec<String> = Vec::with_capacity(tags.len());
    for tag in tags {
        if !word(&tag, 24) {
            return Err(invalid(
                "a tag is 1–24 letters, digits and dashes".to_owned(),
            ));
        }
        let tag = tag.to_ascii_lowercase();
        if !clean.contains(&tag) {
            clean.push(tag);
        }
    }
    Ok((lang, clean))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn listings_are_checked_and_kept_in_lower_case() {
        let tags = |t: &[&str]| t.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            listing(
                Some("PT-br".into()),
                tags(&["Casual", "casual", "4-players"])
            )
            .unwrap(),
            (Some("pt-br".into()), tags(&["casual", "4-players"]))
        );
        assert_eq!(listing(None, Vec::new()).unwrap(), (None, Vec::new()));
        for lang in ["e", "english-please", "en_US", "en us", "ü"] {
            assert!(listing(Some(lang.into()), Vec::new()).is_err(), "{lang}");
        }
        for bad in [
            tags(&[""]),
            tags(&["x".repeat(25).as_str()]),
            tags(&["a b"]),
            tags(&["a", "b", "c", "d", "e", "f"]),
        ] {
            assert!(listing(None, bad.clone()).is_err(), "{bad:?}");
        }
    }
}
