//! The party lobby (docs/games/party.md): friends gather in one room by its code, a host leads
//! it, members mark themselves ready, and the host picks the next game and its settings. A
//! party is a room whose game is this lobby, so it has versions, patches, resume and
//! durability like any game room.
#[cfg(test)]
mod tests;

use arbiter_engine::protocol::{ErrorCode, PlayerId};
use arbiter_engine::{Actor, Ctx, Game, GameError, GameInfo, Registry, Seat, Seats, Status};
use arbiter_engine::{TimerId, Viewer};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// The lobby, with the games a host may pick from.
#[derive(Clone)]
pub struct Party {
    games: Registry,
}

impl Party {
    /// A lobby offering the games of `games` (not parties: a party picks a game, not a party).
    pub fn new(games: Registry) -> Self {
        Self { games }
    }
}

/// A lobby offering every built-in game.
impl Default for Party {
    fn default() -> Self {
        Self::new(crate::games())
    }
}

/// The game the host picked for the party's next round, with settings its own setup accepted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pick {
    /// Registry name.
    pub game: String,
    /// Human title.
    pub title: String,
    /// Its settings (room config).
    pub config: Value,
    /// Fewest players it starts with.
    pub min_players: u32,
    /// Most players it seats.
    pub max_players: u32,
}

/// What the server adds to a pick of an external game (`ext:<id>`): the facts of its
/// registration, which the party's rules cannot look up themselves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalPick {
    /// Human title.
    pub title: String,
    /// Fewest players it starts with.
    pub min_players: u32,
    /// Most players it seats.
    pub max_players: u32,
}

/// The prefix of an external game's name in a pick.
pub const EXTERNAL: &str = "ext:";

/// The game the party is playing now, in a room of its own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Playing {
    /// The party's round (1 for its first game).
    pub round: u32,
    /// Registry name.
    pub game: String,
    /// The game room's id.
    pub room: String,
    /// Its code.
    pub code: String,
    /// The members seated there, in seat order.
    pub players: Vec<PlayerId>,
}

/// A game the party played, as its room ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Played {
    /// The party's round.
    pub round: u32,
    /// Registry name.
    pub game: String,
    /// The game room's id.
    pub room: String,
    /// Places, best first (a group is a tie); absent when the room closed unfinished.
    pub ranking: Option<Vec<Vec<PlayerId>>>,
}

/// Games a party's history keeps, oldest forgotten first.
const HISTORY: usize = 50;

/// Everything about a party.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct State {
    /// The lobby's name.
    pub name: String,
    /// Who leads: the first to arrive, then whom the host names, or the next member in seat
    /// order when the host leaves or stays away past the grace period.
    pub host: Option<PlayerId>,
    /// Members who said they are ready for the picked game.
    pub ready: BTreeSet<PlayerId>,
    /// Members the host kicked, on their way out (they may come back).
    pub kicked: BTreeSet<PlayerId>,
    /// Players the host banned: they cannot enter again, not even to watch.
    pub banned: BTreeSet<PlayerId>,
    /// The next game, once the host picked one.
    pub pick: Option<Pick>,
    /// How long a disconnected host keeps the role, in ms.
    pub host_grace_ms: u64,
    /// Games started from the party.
    #[serde(default)]
    pub round: u32,
    /// The game being played now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub playing: Option<Playing>,
    /// The games played, newest last.
    #[serde(default)]
    pub history: Vec<Played>,
    /// The timer that hands the role on if the host does not come back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_away: Option<TimerId>,
}

/// What members propose. The host's actions are refused with `FORBIDDEN` from anyone else.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// Say whether you are ready for the picked game.
    Ready {
        /// Ready or not.
        ready: bool,
    },
    /// Host: name the lobby (1–40 characters).
    Rename {
        /// The new name.
        name: String,
    },
    /// Host: hand the role to another member.
    Transfer {
        /// The new host.
        to: PlayerId,
    },
    /// Host: remove a member; with `ban`, for good.
    Kick {
        /// Who.
        player: PlayerId,
        /// Keep them out from now on.
        #[serde(default)]
        ban: bool,
    },
    /// Host: pick the next game and its settings (checked by that game's own setup). Every
    /// member's ready flag is cleared: they agreed to something else.
    Pick {
        /// Registry name, or `ext:<id>` for a game that runs elsewhere.
        game: String,
        /// Its settings; its defaults when absent.
        #[serde(default)]
        config: Value,
        /// For an `ext:` game: its facts, added by the server from the game's registration
        /// (the server drops any a client sends). Absent for a registered game.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        external: Option<ExternalPick>,
    },
    /// Host: give up waiting for the game being played and return to the lobby.
    Back,
    /// Timer: the host stayed away past the grace period.
    HostAway {
        /// The host it was set for.
        host: PlayerId,
    },
    /// Server: the host's `launch` opened a room for the picked game.
    Launched {
        /// Who asked (it must still be the host).
        by: PlayerId,
        /// The game and settings (they must still be the pick).
        game: String,
        /// The settings.
        config: Value,
        /// The members seated there.
        players: Vec<PlayerId>,
        /// The room's id.
        room: String,
        /// Its code.
        code: String,
    },
    /// Server: the game room ended.
    Finished {
        /// The room's id.
        room: String,
        /// Places, best first; absent when it closed unfinished.
        ranking: Option<Vec<Vec<PlayerId>>>,
    },
}

/// Party options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The lobby's name (default "Party").
    pub name: String,
    /// How long a disconnected host keeps the role, in ms (default 30 s; at most 10 min).
    pub host_grace_ms: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            name: "Party".to_owned(),
            host_grace_ms: 30_000,
        }
    }
}

/// Longest lobby name, in characters.
const NAME_MAX: usize = 40;

fn valid_name(name: &str) -> Result<String, GameError> {
    let name = name.trim();
    let bidi = |c: char| matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    if name.is_empty() || name.chars().count() > NAME_MAX {
        return Err(GameError::new(
            ErrorCode::InvalidField,
            format!("a party's name is 1–{NAME_MAX} characters"),
        ));
    }
    if name.chars().any(|c| c.is_control() || bidi(c)) {
        return Err(GameError::new(
            ErrorCode::InvalidField,
            "a party's name must not contain control or bidi characters",
        ));
    }
    Ok(name.to_owned())
}

fn forbidden(what: &str) -> GameError {
    GameError::new(ErrorCode::Forbidden, format!("only the host may {what}"))
}

impl State {
    /// The next host after `from` in seat order: a connected human if there is one.
    fn successor(seats: &Seats, from: usize) -> Option<PlayerId> {
        let mut order: Vec<&Seat> = seats.iter().filter(|s| !s.bot).collect();
        order.sort_by_key(|s| (s.number <= from, s.number));
        let connected = order.iter().find(|s| s.connected);
        connected.or(order.first()).map(|s| s.id.clone())
    }

    /// Make `host` the host, cancelling the timer set for the old one.
    fn crown(&mut self, host: Option<PlayerId>, cx: &mut Ctx<'_, Action>) {
        if let Some(timer) = self.host_away.take() {
            cx.cancel(timer);
        }
        self.host = host;
    }
}

impl State {
    /// The game in `playing` ended: into the history, and everyone is back in the lobby.
    fn record(&mut self, playing: Playing, ranking: Option<Vec<Vec<PlayerId>>>) {
        if self.history.len() == HISTORY {
            self.history.remove(0);
        }
        self.history.push(Played {
            round: playing.round,
            game: playing.game,
            room: playing.room,
            ranking,
        });
        self.ready.clear();
    }
}

/// News from the room's timers and from the server.
fn system(state: &mut State, action: Action, cx: &mut Ctx<'_, Action>) -> Result<(), GameError> {
    match action {
        Action::HostAway { host } => {
            if state.host.as_ref() == Some(&host) {
                state.host_away = None;
                let number = cx.seats().get(&host).map_or(0, |s| s.number);
                let next = State::successor(cx.seats(), number);
                state.crown(next, cx);
            }
        }
        Action::Launched {
            by,
            game,
            config,
            players,
            room,
            code,
        } => {
            let picked = state.pick.as_ref();
            if state.host.as_ref() != Some(&by) {
                return Err(forbidden("start the game"));
            }
            if state.playing.is_some() {
                return Err(GameError::in_progress("the party is already playing"));
            }
            if picked.is_none_or(|p| p.game != game || p.config != config) {
                return Err(GameError::invalid_move("the pick changed; start again"));
            }
            state.round += 1;
            state.playing = Some(Playing {
                round: state.round,
                game,
                room,
                code,
                players,
            });
        }
        Action::Finished { room, ranking } => match state.playing.take() {
            Some(playing) if playing.room == room => state.record(playing, ranking),
            other => {
                state.playing = other;
                return Err(GameError::invalid_move(format!(
                    "{room} is not the party's game"
                )));
            }
        },
        _ => {
            return Err(GameError::new(
                ErrorCode::InvalidAction,
                "members' actions come from members",
            ));
        }
    }
    Ok(())
}

impl Game for Party {
    type State = State;
    type Action = Action;
    type Config = Config;

    fn info(&self) -> GameInfo {
        let description = "A lobby: gather by code, pick a game, play, come back.";
        GameInfo::new("party", "Party", description, 1..=50)
    }

    fn setup(&self, config: &Config, _: &mut Ctx<'_, Action>) -> Result<State, GameError> {
        if config.host_grace_ms > 600_000 {
            return Err(GameError::new(
                ErrorCode::InvalidConfig,
                "host_grace_ms is at most 600000 (10 minutes)",
            ));
        }
        let name = valid_name(&config.name)
            .map_err(|e| GameError::new(ErrorCode::InvalidConfig, e.message))?;
        Ok(State {
            name,
            host_grace_ms: config.host_grace_ms,
            ..State::default()
        })
    }

    fn admit(&self, state: &State, player: &PlayerId) -> Result<(), GameError> {
        if state.banned.contains(player) {
            return Err(GameError::new(
                ErrorCode::JoinRefused,
                "the host banned you from this party",
            ));
        }
        Ok(())
    }

    /// The first member is the host.
    fn join(
        &self,
        state: &mut State,
        seat: &Seat,
        cx: &mut Ctx<'_, Action>,
    ) -> Result<(), GameError> {
        if state.host.is_none() && !seat.bot {
            state.crown(Some(seat.id.clone()), cx);
        }
        Ok(())
    }

    /// A leaving host hands the role to the next member in seat order.
    fn leave(&self, state: &mut State, seat: &Seat, cx: &mut Ctx<'_, Action>) {
        state.ready.remove(&seat.id);
        state.kicked.remove(&seat.id);
        if state.host.as_ref() == Some(&seat.id) {
            let next = State::successor(cx.seats(), seat.number);
            state.crown(next, cx);
        }
    }

    fn tracks_connections(&self) -> bool {
        true
    }

    /// A host who disconnects keeps the role for the grace period, then it passes on.
    fn connection(
        &self,
        state: &mut State,
        player: &PlayerId,
        connected: bool,
        cx: &mut Ctx<'_, Action>,
    ) {
        if state.host.as_ref() != Some(player) {
            return;
        }
        if let Some(timer) = state.host_away.take() {
            cx.cancel(timer);
        }
        if !connected {
            let away = Action::HostAway {
                host: player.clone(),
            };
            state.host_away = Some(cx.schedule(state.host_grace_ms, away));
        }
    }

    fn apply(
        &self,
        state: &mut State,
        by: &Actor,
        action: Action,
        cx: &mut Ctx<'_, Action>,
    ) -> Result<(), GameError> {
        if let Actor::System = by {
            return system(state, action, cx);
        }
        let me = cx.seat_of(by.player()?)?;
        let host = state.host.as_ref() == Some(&me.id);
        match action {
            Action::Ready { ready } => {
                if ready {
                    state.ready.insert(me.id);
                } else {
                    state.ready.remove(&me.id);
                }
            }
            Action::Rename { .. } if !host => return Err(forbidden("rename the party")),
            Action::Rename { name } => state.name = valid_name(&name)?,
            Action::Transfer { .. } if !host => return Err(forbidden("hand over the role")),
            Action::Transfer { to } => {
                let target = cx.seats().get(&to).filter(|s| !s.bot && s.id != me.id);
                let Some(target) = target else {
                    return Err(GameError::invalid_move(format!(
                        "{to} is not another member of this party"
                    )));
                };
                let next = Some(target.id.clone());
                state.crown(next, cx);
            }
            Action::Kick { .. } if !host => return Err(forbidden("kick members")),
            Action::Kick { player, ban } => {
                if player == me.id {
                    return Err(GameError::invalid_move("the host cannot kick themself"));
                }
                if !cx.seats().contains(&player) && !ban {
                    return Err(GameError::invalid_move(format!(
                        "{player} is not in this party"
                    )));
                }
                if ban {
                    state.banned.insert(player.clone());
                }
                if cx.seats().contains(&player) {
                    state.kicked.insert(player);
                }
            }
            Action::Pick { .. } if !host => return Err(forbidden("pick the game")),
            Action::Pick {
                game,
                config,
                external,
            } => {
                if game == self.info().name {
                    return Err(GameError::new(
                        ErrorCode::UnknownGame,
                        "a party picks a game, not another party",
                    ));
                }
                let pick = match (game.strip_prefix(EXTERNAL), external) {
                    (Some(_), Some(ext)) => {
                        if !config.is_null() && !config.is_object() {
                            return Err(GameError::new(
                                ErrorCode::InvalidConfig,
                                "an external game's settings are a JSON object",
                            ));
                        }
                        Pick {
                            title: ext.title,
                            game,
                            config,
                            min_players: ext.min_players,
                            max_players: ext.max_players,
                        }
                    }
                    (Some(id), None) => {
                        return Err(GameError::new(
                            ErrorCode::UnknownGame,
                            format!("no external game {id:?} is registered"),
                        ));
                    }
                    (None, Some(_)) => {
                        return Err(GameError::new(
                            ErrorCode::InvalidAction,
                            "`external` is for external games (and the server's to give)",
                        ));
                    }
                    (None, None) => {
                        let info = self.games.check_config(&game, &config)?;
                        Pick {
                            title: info.title.to_owned(),
                            game,
                            config,
                            min_players: info.min_players,
                            max_players: info.max_players,
                        }
                    }
                };
                state.pick = Some(pick);
                state.ready.clear();
            }
            Action::Back if !host => return Err(forbidden("end the game for the party")),
            Action::Back => {
                let Some(playing) = state.playing.take() else {
                    return Err(GameError::invalid_move("the party is not playing"));
                };
                state.record(playing, None);
            }
            Action::HostAway { .. } | Action::Launched { .. } | Action::Finished { .. } => {
                return Err(GameError::new(
                    ErrorCode::InvalidAction,
                    "that news is the server's to give",
                ));
            }
        }
        Ok(())
    }

    /// The lobby's name is the party's name in the room list.
    fn title<'a>(&self, state: &'a State) -> Option<&'a str> {
        Some(&state.name)
    }

    /// The host moderates the party's chat, and the chat announces each new one.
    fn host(&self, state: &State) -> Option<PlayerId> {
        state.host.clone()
    }

    fn evicted(&self, state: &State, seats: &Seats) -> Vec<PlayerId> {
        let out = state.kicked.iter().chain(&state.banned);
        out.filter(|p| seats.contains(p)).cloned().collect()
    }

    /// Everything, plus each member's name, seat, readiness and connection.
    fn view(&self, state: &State, seats: &Seats, _: &Viewer) -> Value {
        let mut view = serde_json::to_value(state).unwrap_or_default();
        let member = |s: &Seat| {
            json!({
                "name": s.name,
                "seat": s.number,
                "ready": state.ready.contains(&s.id),
                "connected": s.connected,
                "host": state.host.as_ref() == Some(&s.id),
            })
        };
        view["members"] = seats
            .iter()
            .map(|s| (s.id.to_string(), member(s)))
            .collect();
        if let Some(map) = view.as_object_mut() {
            map.remove("kicked");
            map.remove("host_away");
        }
        view
    }

    /// Ready or not for anyone; for the host also a pick of each game with its defaults, and
    /// a hand-over to and a kick of each other member.
    fn legal_actions(&self, state: &State, seats: &Seats, player: &PlayerId) -> Vec<Action> {
        if !seats.contains(player) {
            return Vec::new();
        }
        let ready = !state.ready.contains(player);
        let mut actions = vec![Action::Ready { ready }];
        if state.host.as_ref() != Some(player) {
            return actions;
        }
        if state.playing.is_some() {
            actions.push(Action::Back);
        }
        let games = self.games.games().into_iter().map(|g| g.info.name);
        actions.extend(
            games
                .filter(|&g| g != self.info().name)
                .map(|g| Action::Pick {
                    game: g.to_owned(),
                    config: Value::Null,
                    external: None,
                }),
        );
        for other in seats.iter().filter(|s| s.id != *player) {
            if !other.bot {
                actions.push(Action::Transfer {
                    to: other.id.clone(),
                });
            }
            actions.push(Action::Kick {
                player: other.id.clone(),
                ban: false,
            });
        }
        actions
    }

    fn public_view(&self) -> bool {
        true
    }

    fn order_independent(&self, action: &Action) -> bool {
        matches!(action, Action::Ready { .. })
    }

    /// A lobby is always gathering.
    fn status(&self, _: &State, _: &Seats) -> Status {
        Status::Waiting
    }
}
