//! A party's host starts the picked game (`launch`): the server reads the party's view, opens
//! a private room for the game with a seat per ready member, tells the party (a `launched`
//! notice the party's rules check again), and watches the game room to tell the party when it
//! ends (`finished`, with the ranking). The notices are entries of the party's log.
//!
//! The watch lives in this process: a party whose game was running when the server stopped
//! stays `playing` until its host says `back`. A party served by another node of a cluster
//! cannot be launched from this one (`UNSUPPORTED`).

use crate::app::App;
use arbiter_engine::Viewer;
use arbiter_engine::protocol::{ErrorCode, PlayerId, RoomInfo, RoomStatus};
use arbiter_engine::{Caller, CreateKey, CreateOptions, GameError, Query, RoomCmd, RoomHandle};
use serde_json::{Value, json};

/// Ask `room` a question.
pub(crate) async fn ask(
    room: &RoomHandle,
    viewer: Viewer,
    query: Query,
) -> Result<Value, GameError> {
    let closed = || GameError::new(ErrorCode::RoomClosed, "the room has closed");
    let (reply, answer) = tokio::sync::oneshot::channel();
    let cmd = RoomCmd::Query {
        viewer,
        query,
        reply,
    };
    room.send(cmd).await.map_err(|_| closed())?;
    answer.await.map_err(|_| closed())?
}

/// Deliver news to `room`; the version it made, or the game's refusal.
pub(crate) async fn tell(room: &RoomHandle, action: Value) -> Result<u64, GameError> {
    let closed = || GameError::new(ErrorCode::RoomClosed, "the room has closed");
    let (reply, answer) = tokio::sync::oneshot::channel();
    room.send(RoomCmd::Notice { action, reply })
        .await
        .map_err(|_| closed())?;
    answer.await.map_err(|_| closed())?
}

fn refuse(code: ErrorCode, message: impl Into<String>) -> GameError {
    GameError::new(code, message)
}

impl App {
    /// The host of `party` starts its picked game: the game room, which the party now names.
    pub(crate) async fn launch(&self, caller: &Caller, party: &str) -> Result<RoomInfo, GameError> {
        let handle = self.locate(party).await?;
        if handle.info().game != "party" {
            return Err(refuse(
                ErrorCode::Unsupported,
                "only a party launches a game",
            ));
        }
        let me = caller.player.id.clone();
        let answer = ask(
            &handle,
            Viewer::Player(me.clone()),
            Query::StateAt { v: None },
        )
        .await;
        let view = match answer {
            Ok(answer) => answer["view"].clone(),
            // A cluster proxy's answer: the party lives on another node.
            Err(e) if e.code == ErrorCode::Unavailable => {
                return Err(refuse(
                    ErrorCode::Unsupported,
                    "this party is served by another node; connect there to start its game",
                ));
            }
            Err(e) => return Err(e),
        };
        if view["host"].as_str() != Some(me.as_str()) {
            return Err(refuse(
                ErrorCode::Forbidden,
                "only the host may start the game",
            ));
        }
        if !view["playing"].is_null() {
            return Err(GameError::in_progress("the party is already playing"));
        }
        let pick = &view["pick"];
        let Some(game) = pick["game"].as_str() else {
            return Err(GameError::invalid_move("pick a game first"));
        };
        let mut ready: Vec<(u64, PlayerId)> = view["members"]
            .as_object()
            .map(|members| {
                let ready = members.iter().filter(|(_, m)| m["ready"] == true);
                ready
                    .map(|(id, m)| {
                        (
                            m["seat"].as_u64().unwrap_or(u64::MAX),
                            PlayerId::from(id.as_str()),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        ready.sort();
        let players: Vec<PlayerId> = ready.into_iter().map(|(_, id)| id).collect();
        let (min, max) = (pick["min_players"].as_u64(), pick["max_players"].as_u64());
        let count = players.len() as u64;
        if min.is_none_or(|min| count < min) || max.is_none_or(|max| count > max) {
            return Err(GameError::invalid_move(format!(
                "{count} members are ready; {} needs {}–{}",
                pick["title"].as_str().unwrap_or(game),
                min.unwrap_or(0),
                max.unwrap_or(0),
            )));
        }
        let round = view["round"].as_u64().unwrap_or(0) + 1;
        if let Some(id) = game.strip_prefix(arbiter_games::party::EXTERNAL) {
            let names = |p: &PlayerId| {
                view["members"][p.as_str()]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            };
            let launch = crate::sessions::Launch {
                party: &handle,
                by: &me,
                game: id,
                pick: pick.clone(),
                players: players.iter().map(|p| (p.clone(), names(p))).collect(),
                round,
            };
            return self.launch_external(launch).await;
        }
        let options = CreateOptions {
            public: Some(false),
            max_players: u32::try_from(count).ok(),
            // One room per round even if the request is repeated.
            key: Some(CreateKey {
                player: me.clone(),
                key: format!("party-{}-{round}", handle.id()),
            }),
            ..CreateOptions::default()
        };
        let config = pick["config"].clone();
        let room = self
            .create_room_for(&me, game, config.clone(), options)
            .await?;
        let info = room.info();
        let launched = json!({
            "type": "launched", "by": me, "game": game, "config": config, "players": players,
            "room": info.id, "code": info.code,
        });
        tell(&handle, launched).await?;
        let (app, party) = (self.clone(), handle.id().to_owned());
        tokio::spawn(async move { app.follow(party, room).await });
        Ok(info)
    }

    /// Wait for a party's game room to end, then tell the party.
    ///
    /// Returns at once when the server stops: it waits for every holder of the app to let go
    /// before the rooms shut down, so a follower waiting for its room would hold it up for
    /// the whole drain timeout.
    async fn follow(&self, party: String, room: RoomHandle) {
        let mut info = room.watch_info();
        let mut stop = self.shutdown_signal();
        let finished = loop {
            if info.borrow_and_update().status == RoomStatus::Finished {
                break true;
            }
            tokio::select! {
                changed = info.changed() => {
                    if changed.is_err() {
                        break false;
                    }
                }
                _ = stop.wait_for(|stop| *stop) => return,
            }
        };
        let ranking = if finished {
            ask(&room, Viewer::Spectator, Query::Legal)
                .await
                .map(|legal| legal["ranking"].clone())
                .unwrap_or(Value::Null)
        } else {
            Value::Null
        };
        let news = json!({ "type": "finished", "room": room.id(), "ranking": ranking });
        let told = match self.locate(&party).await {
            Ok(handle) => tell(&handle, news).await.map(|_| ()),
            Err(e) => Err(e),
        };
        if let Err(e) = told {
            tracing::warn!(%party, room = %room.id(), error = %e, "the party did not hear its game end");
        }
    }
}
