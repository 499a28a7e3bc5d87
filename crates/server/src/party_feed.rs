//! A party's events for webhooks (docs/external-games.md#webhooks). Once a party picks an
//! external game (or launches one), a task of this node reads the party room's log as it
//! grows and turns its entries into events of the external games involved:
//!
//! * the host's pick: `party.selected`, and `party.deselected` for the game picked before;
//! * a member's join or leave while an external game is picked or its session runs:
//!   `party.member_joined`, `party.member_left`;
//! * the party's news of its session (`launched`, `finished`): `session.started`,
//!   `session.ended`, `session.returned`.
//!
//! Reading the log misses nothing between two reads and keeps the log's order, so a party's
//! events are queued in the order they happened there. The room answers one question per
//! batch of changes and knows nothing of webhooks; the feed emits from its own task.
//!
//! The feed lives in this process, as long as the party room does here: a party loaded again
//! (after a restart, or on another node) is followed from its next pick or launch.

use crate::app::App;
use crate::party::ask;
use crate::sessions::{News, session_event};
use arbiter_engine::protocol::ErrorCode;
use arbiter_engine::{GameError, Query, RoomHandle, Viewer};
use arbiter_games::party::EXTERNAL;
use serde_json::{Value, json};
use tokio::sync::watch;

/// Log entries read per question to the party room.
const PAGE: usize = 100;

/// How far a party's feed has read its log: the events of every entry up to this version
/// are queued. Closed once the feed stops.
pub(crate) type Progress = watch::Receiver<u64>;

/// Whether the feed behind `progress` read the party's log up to version `v`; false when
/// there is no feed, or it stopped before (then its caller sends what the entry meant).
pub(crate) async fn reached(progress: Option<Progress>, v: u64) -> bool {
    match progress {
        Some(mut progress) => progress.wait_for(|read| *read >= v).await.is_ok(),
        None => false,
    }
}

/// The external game's id in a party's game name (`ext:<id>`).
fn external(game: &Value) -> Option<String> {
    game.as_str()?.strip_prefix(EXTERNAL).map(str::to_owned)
}

/// What an entry of the party's log means for webhooks.
#[derive(Debug, PartialEq)]
enum Event {
    /// A party event of external game `game`.
    Party {
        game: String,
        event: &'static str,
        data: Value,
    },
    /// News about session `session` of `game`: its event comes from the session's record.
    Session {
        game: String,
        session: String,
        news: News,
    },
}

/// The party as the feed knows it, after the last entry it read.
#[derive(Debug, Default)]
struct Party {
    /// Members' ids and names: in seat order when the feed began, newcomers last.
    members: Vec<(String, String)>,
    /// The external game picked, if the pick is one.
    picked: Option<String>,
    /// The external game whose session runs, and the session.
    playing: Option<(String, String)>,
}

impl Party {
    /// The party as its view shows it.
    fn from_view(view: &Value) -> Self {
        let mut members: Vec<(u64, String, String)> = view["members"]
            .as_object()
            .map(|members| {
                members
                    .iter()
                    .map(|(id, m)| {
                        let seat = m["seat"].as_u64().unwrap_or(u64::MAX);
                        let name = m["name"].as_str().unwrap_or_default().to_owned();
                        (seat, id.clone(), name)
                    })
                    .collect()
            })
            .unwrap_or_default();
        members.sort();
        let playing = &view["playing"];
        Self {
            members: members
                .into_iter()
                .map(|(_, id, name)| (id, name))
                .collect(),
            picked: external(&view["pick"]["game"]),
            playing: external(&playing["game"]).zip(playing["room"].as_str().map(str::to_owned)),
        }
    }

    fn members(&self) -> Value {
        self.members
            .iter()
            .map(|(id, name)| json!({ "id": id, "name": name }))
            .collect()
    }

    /// The external games a member's coming or going concerns.
    fn involved(&self) -> Vec<String> {
        let mut games: Vec<String> = self.picked.iter().cloned().collect();
        if let Some((game, _)) = &self.playing
            && !games.contains(game)
        {
            games.push(game.clone());
        }
        games
    }

    /// Each involved game's `event` with `data`.
    fn to_involved(&self, event: &'static str, data: &Value) -> Vec<Event> {
        self.involved()
            .into_iter()
            .map(|game| Event::Party {
                game,
                event,
                data: data.clone(),
            })
            .collect()
    }

    /// Take in one log entry; what it means for webhooks.
    fn read(&mut self, entry: &Value) -> Vec<Event> {
        match entry["kind"].as_str() {
            Some("join") => {
                let (id, name) = (&entry["player"]["id"], &entry["player"]["name"]);
                let id = id.as_str().unwrap_or_default().to_owned();
                let name = name.as_str().unwrap_or_default().to_owned();
                self.members.retain(|(m, _)| *m != id);
                self.members.push((id.clone(), name.clone()));
                let data = json!({ "player": id, "name": name, "members": self.members() });
                self.to_involved("party.member_joined", &data)
            }
            Some("leave") => {
                let id = entry["player"].as_str().unwrap_or_default();
                self.members.retain(|(m, _)| m != id);
                let data = json!({ "player": id, "members": self.members() });
                self.to_involved("party.member_left", &data)
            }
            Some("act") => self.act(&entry["player"], &entry["action"]),
            Some("notice") => self.notice(&entry["action"]),
            _ => Vec::new(),
        }
    }

    /// A member's action: the host's pick, or the host giving up on the game being played.
    fn act(&mut self, by: &Value, action: &Value) -> Vec<Event> {
        match action["type"].as_str() {
            Some("pick") => {
                let picked = external(&action["game"]);
                let mut events = Vec::new();
                if let Some(before) = self.picked.take().filter(|g| Some(g) != picked.as_ref()) {
                    events.push(Event::Party {
                        game: before,
                        event: "party.deselected",
                        data: json!({ "host": by, "game": action["game"] }),
                    });
                }
                if let Some(game) = &picked {
                    events.push(Event::Party {
                        game: game.clone(),
                        event: "party.selected",
                        data: json!({
                            "host": by, "title": action["external"]["title"],
                            "settings": action["config"], "members": self.members(),
                        }),
                    });
                }
                self.picked = picked;
                events
            }
            Some("back") => {
                self.playing = None;
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    /// The server's news: the party's game started, or ended.
    fn notice(&mut self, action: &Value) -> Vec<Event> {
        let session = action["room"].as_str().unwrap_or_default().to_owned();
        match action["type"].as_str() {
            Some("launched") => {
                self.playing = external(&action["game"]).map(|game| (game, session));
                let Some((game, session)) = self.playing.clone() else {
                    return Vec::new();
                };
                vec![Event::Session {
                    game,
                    session,
                    news: News::Launched,
                }]
            }
            Some("finished") => match self.playing.take() {
                Some((game, running)) if running == session => vec![Event::Session {
                    game,
                    session,
                    news: News::Finished,
                }],
                other => {
                    self.playing = other;
                    Vec::new()
                }
            },
            _ => Vec::new(),
        }
    }
}

impl App {
    /// Follow `party`'s log for webhook events from now on, unless this node already does:
    /// how far the feed has read, or `None` when the party cannot be followed here (it is
    /// served by another node, or gone). Called before telling the party something, so the
    /// feed reads what that makes.
    pub(crate) async fn follow_party(&self, party: &RoomHandle) -> Option<Progress> {
        let mut feeds = self.party_feeds().lock().await;
        if let Some(progress) = feeds.get(party.id())
            && progress.has_changed().is_ok()
        {
            return Some(progress.clone());
        }
        let now = ask(party, Viewer::Spectator, Query::StateAt { v: None }).await;
        let now = match now {
            Ok(now) => now,
            Err(e) => {
                tracing::debug!(party = %party.id(), error = %e, "the party cannot be followed here");
                return None;
            }
        };
        let from = now["v"].as_u64().unwrap_or(0);
        let (read, progress) = watch::channel(from);
        feeds.insert(party.id().to_owned(), progress.clone());
        let state = Party::from_view(&now["view"]);
        tokio::spawn(self.clone().feed(party.clone(), state, read));
        Some(progress)
    }

    /// Read `party`'s log after `read`'s version as it grows and queue what it means, until
    /// the room closes here or cannot be read, or the server stops (which waits for every
    /// holder of the app to let go).
    async fn feed(self, party: RoomHandle, mut state: Party, read: watch::Sender<u64>) {
        let mut info = party.watch_info();
        let mut stop = self.shutdown_signal();
        let mut after = *read.borrow();
        'follow: loop {
            let v = info.borrow_and_update().v;
            while after < v {
                // A feed that stops lets whoever waits for it send what they meant to.
                let entries = match self.log_after(&party, after).await {
                    Ok(entries) if !entries.is_empty() => entries,
                    Ok(_) => {
                        tracing::warn!(party = %party.id(), after, v, "the party's log ends early; its webhook events stop");
                        break 'follow;
                    }
                    Err(e) => {
                        tracing::warn!(party = %party.id(), error = %e, "the party's log cannot be read; its webhook events stop");
                        break 'follow;
                    }
                };
                for entry in entries {
                    for event in state.read(&entry) {
                        self.send_event(party.id(), event).await;
                    }
                    after = entry["v"].as_u64().unwrap_or(after + 1);
                    read.send_replace(after);
                }
            }
            tokio::select! {
                changed = info.changed() => {
                    if changed.is_err() {
                        break;
                    }
                }
                _ = stop.wait_for(|stop| *stop) => break,
            }
        }
        drop(read);
        // Forget feeds that stopped (this one, at least).
        let mut feeds = self.party_feeds().lock().await;
        feeds.retain(|_, progress| progress.has_changed().is_ok());
    }

    /// Entries of `party`'s log after version `after`, from storage when the room no longer
    /// holds them (it keeps those after its latest snapshot).
    async fn log_after(&self, party: &RoomHandle, after: u64) -> Result<Vec<Value>, GameError> {
        let query = Query::Log { after, limit: PAGE };
        let page = match ask(party, Viewer::Spectator, query.clone()).await {
            Err(e) if e.code == ErrorCode::Unavailable => {
                let rooms = self.rooms();
                rooms
                    .query_stored(party.id(), &Viewer::Spectator, &query)
                    .await?
            }
            page => page?,
        };
        Ok(page["entries"].as_array().cloned().unwrap_or_default())
    }

    async fn send_event(&self, party: &str, event: Event) {
        match event {
            Event::Party { game, event, data } => self.emit(&game, party, event, data).await,
            Event::Session {
                game,
                session,
                news,
            } => {
                let record = match self.records().await {
                    Ok(records) => records.session(&session).await.map_err(|e| e.to_string()),
                    Err(e) => Err(e.message),
                };
                match record {
                    Ok(Some(record)) => {
                        let (event, data) = session_event(&record, news);
                        self.emit(&game, party, event, data).await;
                    }
                    Ok(None) => {}
                    Err(e) => {
                        tracing::warn!(%party, %session, error = %e, "a session's webhook event was lost");
                    }
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn names(events: &[Event]) -> Vec<(&str, &str)> {
        events
            .iter()
            .map(|e| match e {
                Event::Party { game, event, .. } => (game.as_str(), *event),
                Event::Session { game, .. } => (game.as_str(), "session"),
            })
            .collect()
    }

    fn join(id: &str) -> Value {
        json!({ "v": 1, "kind": "join", "player": { "id": id, "name": id.to_uppercase() } })
    }

    fn pick(game: &str) -> Value {
        json!({ "v": 1, "kind": "act", "player": "a", "seq": 1,
                "action": { "type": "pick", "game": game, "config": { "rounds": 3 },
                            "external": { "title": "Quiz" } } })
    }

    #[test]
    fn members_count_while_an_external_game_is_picked_or_played() {
        let mut party = Party::from_view(&json!({
            "members": { "b": { "name": "B", "seat": 1 }, "a": { "name": "A", "seat": 0 } },
            "pick": null, "playing": null,
        }));
        assert!(party.read(&join("c")).is_empty(), "nothing external yet");

        let picked = party.read(&pick("ext:quiz"));
        assert_eq!(names(&picked), [("quiz", "party.selected")]);
        let Event::Party { data, .. } = &picked[0] else {
            unreachable!()
        };
        assert_eq!(data["host"], "a");
        assert_eq!(data["settings"], json!({ "rounds": 3 }));
        assert_eq!(data["members"][0], json!({ "id": "a", "name": "A" }));
        assert_eq!(data["members"].as_array().unwrap().len(), 3);

        assert_eq!(
            names(&party.read(&join("d"))),
            [("quiz", "party.member_joined")]
        );
        let left = party.read(&json!({ "v": 2, "kind": "leave", "player": "b" }));
        assert_eq!(names(&left), [("quiz", "party.member_left")]);

        let launched = json!({ "v": 3, "kind": "notice",
            "action": { "type": "launched", "game": "ext:quiz", "room": "x_1" } });
        assert_eq!(names(&party.read(&launched)), [("quiz", "session")]);
        // Another pick while the session runs: members still count for it.
        assert_eq!(
            names(&party.read(&pick("tictactoe"))),
            [("quiz", "party.deselected")]
        );
        assert_eq!(
            names(&party.read(&join("e"))),
            [("quiz", "party.member_joined")]
        );
        let other =
            json!({ "v": 4, "kind": "notice", "action": { "type": "finished", "room": "r_9" } });
        assert!(party.read(&other).is_empty(), "not the session");
        let finished = json!({ "v": 5, "kind": "notice",
            "action": { "type": "finished", "room": "x_1" } });
        assert_eq!(names(&party.read(&finished)), [("quiz", "session")]);
        assert!(
            party.read(&join("f")).is_empty(),
            "nothing external any more"
        );
    }

    #[test]
    fn picking_another_external_game_deselects_the_first() {
        let mut party = Party::default();
        party.read(&pick("ext:quiz"));
        assert_eq!(
            names(&party.read(&pick("ext:buzzer"))),
            [("quiz", "party.deselected"), ("buzzer", "party.selected")]
        );
        assert_eq!(
            names(&party.read(&pick("ext:buzzer"))),
            [("buzzer", "party.selected")],
            "new settings: selected again"
        );
    }
}
