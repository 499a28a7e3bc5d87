//! Tell-It: a collaborative story chain.
//!
//! Rules (docs/games/tellit.md): once enough writers have sat down, anyone starts the game.
//! Each writer's first submission begins a story of their own; every later submission
//! continues the story at the head of their queue. After each submission the story moves to
//! the queue of the next writer in seating order, so stories circulate round the table. A
//! writer sees only the latest part of the story at the head of their own queue; nobody sees
//! a whole story until the writers vote to finish, when every story is shown to everyone.
//! Unanimous votes (of the connected writers) finish or restart the game; a majority of the
//! other writers votes a writer out.

#[cfg(test)]
mod golden;
#[cfg(test)]
mod tests;

use arbiter_engine::protocol::{ErrorCode, PlayerId};
use arbiter_engine::{Actor, Ctx, Game, GameError, GameInfo, Seat, Seats, Status, Viewer};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// The game.
#[derive(Debug, Clone, Copy, Default)]
pub struct TellIt;

/// Reading speed used for a story's reading time: 200 words a minute, 300 ms a word.
pub const MS_PER_WORD: u64 = 300;

/// Room options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Writers needed to start (2–30).
    pub min_players: u32,
    /// Longest submission, in characters (1–2000).
    pub max_chars: u32,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            min_players: 2,
            max_chars: 500,
        }
    }
}

/// Where the game stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Writers gather; `start` begins.
    Waiting,
    /// Stories circulate.
    Writing,
    /// The stories are shown; a restart vote goes back to waiting.
    Ended,
}

/// A seated writer's part of the game; their name and connection are in the room's seats.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Writer {
    /// Stories waiting for this writer, head first.
    pub queue: Vec<u32>,
    /// The story this writer began, once they have.
    pub story: Option<u32>,
    /// Writers voting to kick this one.
    pub kick_votes: BTreeSet<PlayerId>,
}

/// One submission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Part {
    /// Who wrote it.
    pub author: PlayerId,
    /// Their name at the time.
    pub author_name: String,
    /// The text, trimmed.
    pub text: String,
}

/// A story and its parts, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Story {
    /// Who began it.
    pub owner: PlayerId,
    /// Their name at the time.
    pub owner_name: String,
    /// The submissions.
    pub parts: Vec<Part>,
}

impl Story {
    fn words(&self) -> usize {
        self.parts
            .iter()
            .map(|p| p.text.split_whitespace().count())
            .sum()
    }
}

/// The last thing that happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// The game started.
    Started,
    /// `author` submitted a part; the story went to `to`.
    Submitted {
        /// Who wrote.
        author: PlayerId,
        /// Who holds the story now.
        to: PlayerId,
    },
    /// The writers voted to finish.
    Ended,
    /// The writers voted to restart.
    Restarted,
    /// A writer was voted out.
    Kicked {
        /// Who.
        player: PlayerId,
        /// Their name.
        name: String,
    },
}

/// The whole game, every story's text included. Only [`Game::view`] decides who sees what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// Options.
    pub config: Config,
    /// Where the game stands.
    pub phase: Phase,
    /// Games started so far.
    pub round: u32,
    /// Seated writers by id. A writer voted out keeps their seat in the room until they
    /// leave, but is no writer any more.
    pub writers: BTreeMap<PlayerId, Writer>,
    /// The circle: stories pass from each writer to the next. A newcomer joins at the end,
    /// unlike the room's seat numbers, which give a newcomer a leaver's seat.
    pub order: Vec<PlayerId>,
    /// Stories by id.
    pub stories: BTreeMap<u32, Story>,
    /// Id of the next story.
    pub next_story: u32,
    /// Writers voting to finish.
    pub finish_votes: BTreeSet<PlayerId>,
    /// Writers voting to restart.
    pub restart_votes: BTreeSet<PlayerId>,
    /// Players voted out of this room, by id, with their names; they cannot sit down again.
    pub kicked: BTreeMap<PlayerId, String>,
    /// The last thing that happened.
    pub event: Option<Event>,
}

/// What writers propose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// Start writing (enough writers, not started).
    Start,
    /// Begin your story, or continue the one at the head of your queue.
    Submit {
        /// 1 to `max_chars` characters, no control characters.
        text: String,
    },
    /// Vote (or take back a vote) to finish and show the stories.
    VoteFinish {
        /// For or against.
        vote: bool,
    },
    /// Vote (or take back a vote) to throw the stories away and start over.
    VoteRestart {
        /// For or against.
        vote: bool,
    },
    /// Vote (or take back a vote) to put another writer out of the room.
    VoteKick {
        /// Whom.
        player: PlayerId,
        /// For or against.
        vote: bool,
    },
}

/// What a writer does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum Next {
    /// Begin their own story.
    Start,
    /// Continue the story at the head of their queue.
    Continue,
    /// Nothing to write until a story arrives.
    Wait,
}

impl State {
    fn next_for(&self, id: &PlayerId) -> Next {
        match self.writers.get(id) {
            Some(w) if self.phase == Phase::Writing => {
                if w.story.is_none() {
                    Next::Start
                } else if w.queue.is_empty() {
                    Next::Wait
                } else {
                    Next::Continue
                }
            }
            _ => Next::Wait,
        }
    }

    /// The writer after `id` in seating order (`id` itself when alone).
    fn next_writer(&self, id: &PlayerId) -> Option<PlayerId> {
        let i = self.order.iter().position(|p| p == id)?;
        self.order.get((i + 1) % self.order.len()).cloned()
    }

    /// Finish or restart when every connected writer (at least one) votes for it.
    fn settle_votes(&mut self, seats: &Seats) {
        let connected: Vec<&PlayerId> = self
            .writers
            .keys()
            .filter(|id| seats.get(id).is_some_and(|s| s.connected))
            .collect();
        let unanimous = |votes: &BTreeSet<PlayerId>| {
            !connected.is_empty() && connected.iter().all(|id| votes.contains(*id))
        };
        if matches!(self.phase, Phase::Writing | Phase::Ended) && unanimous(&self.restart_votes) {
            self.phase = Phase::Waiting;
            self.stories.clear();
            self.finish_votes.clear();
            self.restart_votes.clear();
            for w in self.writers.values_mut() {
                w.queue.clear();
                w.story = None;
                w.kick_votes.clear();
            }
            self.event = Some(Event::Restarted);
        } else if self.phase == Phase::Writing && unanimous(&self.finish_votes) {
            self.phase = Phase::Ended;
            self.finish_votes.clear();
            self.event = Some(Event::Ended);
        }
    }

    /// Take a writer out of the circle: their queued stories go, in order, to the end of the
    /// next writer's queue, and their votes are withdrawn.
    fn remove_writer(&mut self, id: &PlayerId, seats: &Seats) {
        let heir = self.next_writer(id).filter(|h| h != id);
        let Some(gone) = self.writers.remove(id) else {
            return;
        };
        self.order.retain(|p| p != id);
        if let Some(heir) = heir.and_then(|h| self.writers.get_mut(&h)) {
            heir.queue.extend(gone.queue);
        }
        self.finish_votes.remove(id);
        self.restart_votes.remove(id);
        for w in self.writers.values_mut() {
            w.kick_votes.remove(id);
        }
        self.settle_votes(seats);
    }

    /// Stories no queue holds (their holders all left while nobody else was seated).
    fn orphans(&self) -> Vec<u32> {
        let held: BTreeSet<u32> = self
            .writers
            .values()
            .flat_map(|w| w.queue.iter().copied())
            .collect();
        self.stories
            .keys()
            .copied()
            .filter(|s| !held.contains(s))
            .collect()
    }
}

fn check_text(text: &str, max_chars: u32) -> Result<String, GameError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(GameError::invalid_move("the text is empty"));
    }
    let n = text.chars().count();
    if n > max_chars as usize {
        return Err(GameError::invalid_move(format!(
            "the text has {n} characters; at most {max_chars} are allowed"
        )));
    }
    if text.chars().any(char::is_control) {
        return Err(GameError::invalid_move(
            "the text contains control characters (line breaks included)",
        ));
    }
    Ok(text.to_owned())
}

fn not_a_writer(state: &State, id: &PlayerId) -> GameError {
    if state.kicked.contains_key(id) {
        GameError::new(ErrorCode::NotAPlayer, "you were voted out of this room")
    } else {
        GameError::new(ErrorCode::NotAPlayer, "you have no seat in this room")
    }
}

/// `player`'s display name, from their seat.
fn name_of(player: &PlayerId, cx: &Ctx<'_, Action>) -> Result<String, GameError> {
    let seat = cx.seats().get(player);
    seat.map(|s| s.name.clone())
        .ok_or_else(|| GameError::new(ErrorCode::Internal, format!("{player} has no seat")))
}

fn story_json(id: u32, s: &Story) -> Value {
    let words = s.words();
    json!({
        "id": id,
        "owner": s.owner,
        "owner_name": s.owner_name,
        "parts": s.parts,
        "text": s.parts.iter().map(|p| p.text.as_str()).collect::<Vec<_>>().join(" "),
        "turns": s.parts.len(),
        "words": words,
        "reading_ms": words as u64 * MS_PER_WORD,
    })
}

impl Game for TellIt {
    type State = State;
    type Action = Action;
    type Config = Config;

    fn info(&self) -> GameInfo {
        let description = "Write stories together, one part at a time, without seeing the \
                           whole until the end.";
        GameInfo::new("tellit", "Tell-It", description, 2..=30)
    }

    fn setup(&self, config: &Config, _cx: &mut Ctx<'_, Action>) -> Result<State, GameError> {
        if !(2..=30).contains(&config.min_players) || !(1..=2000).contains(&config.max_chars) {
            return Err(GameError::new(
                ErrorCode::InvalidConfig,
                "min_players must be 2–30 and max_chars 1–2000",
            ));
        }
        Ok(State {
            config: config.clone(),
            phase: Phase::Waiting,
            round: 0,
            writers: BTreeMap::new(),
            order: Vec::new(),
            stories: BTreeMap::new(),
            next_story: 1,
            finish_votes: BTreeSet::new(),
            restart_votes: BTreeSet::new(),
            kicked: BTreeMap::new(),
            event: None,
        })
    }

    /// Writers may sit down at any time (a newcomer joins the circle at the end of the
    /// seating order), except players who were voted out.
    fn join(
        &self,
        state: &mut State,
        player: &Seat,
        _cx: &mut Ctx<'_, Action>,
    ) -> Result<(), GameError> {
        if state.kicked.contains_key(&player.id) {
            return Err(GameError::new(
                ErrorCode::JoinRefused,
                "you were voted out of this room",
            ));
        }
        let queue = if state.phase == Phase::Writing {
            state.orphans()
        } else {
            Vec::new()
        };
        state.writers.insert(
            player.id.clone(),
            Writer {
                queue,
                story: None,
                kick_votes: BTreeSet::new(),
            },
        );
        state.order.push(player.id.clone());
        Ok(())
    }

    fn leave(&self, state: &mut State, seat: &Seat, cx: &mut Ctx<'_, Action>) {
        state.remove_writer(&seat.id, cx.seats());
    }

    fn apply(
        &self,
        state: &mut State,
        by: &Actor,
        action: Action,
        cx: &mut Ctx<'_, Action>,
    ) -> Result<(), GameError> {
        let me = by.player()?;
        if !state.writers.contains_key(me) {
            return Err(not_a_writer(state, me));
        }
        match action {
            Action::Start => match state.phase {
                Phase::Writing => {
                    return Err(GameError::in_progress("the game has already started"));
                }
                Phase::Ended => {
                    return Err(GameError::new(
                        ErrorCode::GameOver,
                        "the game is over; vote to restart",
                    ));
                }
                Phase::Waiting => {
                    let need = state.config.min_players as usize;
                    if state.writers.len() < need {
                        return Err(GameError::invalid_move(format!(
                            "{need} writers are needed to start ({} seated)",
                            state.writers.len()
                        )));
                    }
                    state.phase = Phase::Writing;
                    state.round += 1;
                    state.finish_votes.clear();
                    state.restart_votes.clear();
                    state.event = Some(Event::Started);
                }
            },
            Action::Submit { text } => {
                match state.phase {
                    Phase::Waiting => {
                        return Err(GameError::invalid_move("the game has not started"));
                    }
                    Phase::Ended => return Err(GameError::game_over()),
                    Phase::Writing => {}
                }
                let text = check_text(&text, state.config.max_chars)?;
                let author_name = name_of(me, cx)?;
                let story_id = match state.next_for(me) {
                    Next::Wait => {
                        return Err(GameError::invalid_move(
                            "no story to continue: wait for one to reach you",
                        ));
                    }
                    Next::Start => {
                        let id = state.next_story;
                        state.next_story += 1;
                        state.stories.insert(
                            id,
                            Story {
                                owner: me.clone(),
                                owner_name: author_name.clone(),
                                parts: Vec::new(),
                            },
                        );
                        if let Some(w) = state.writers.get_mut(me) {
                            w.story = Some(id);
                        }
                        id
                    }
                    Next::Continue => match state.writers.get_mut(me) {
                        Some(w) if !w.queue.is_empty() => w.queue.remove(0),
                        _ => return Err(GameError::invalid_move("no story to continue")),
                    },
                };
                if let Some(story) = state.stories.get_mut(&story_id) {
                    story.parts.push(Part {
                        author: me.clone(),
                        author_name,
                        text,
                    });
                }
                let to = state.next_writer(me).unwrap_or_else(|| me.clone());
                if let Some(w) = state.writers.get_mut(&to) {
                    w.queue.push(story_id);
                }
                state.event = Some(Event::Submitted {
                    author: me.clone(),
                    to,
                });
            }
            Action::VoteFinish { vote } => {
                match state.phase {
                    Phase::Waiting => {
                        return Err(GameError::invalid_move("the game has not started"));
                    }
                    Phase::Ended => return Err(GameError::game_over()),
                    Phase::Writing => {}
                }
                if vote {
                    state.finish_votes.insert(me.clone());
                } else {
                    state.finish_votes.remove(me);
                }
                state.settle_votes(cx.seats());
            }
            Action::VoteRestart { vote } => {
                if state.phase == Phase::Waiting {
                    return Err(GameError::invalid_move("nothing to restart yet"));
                }
                if vote {
                    state.restart_votes.insert(me.clone());
                } else {
                    state.restart_votes.remove(me);
                }
                state.settle_votes(cx.seats());
            }
            Action::VoteKick { player, vote } => {
                if player == *me {
                    return Err(GameError::invalid_move("you cannot vote to kick yourself"));
                }
                let others = state.writers.len() - 1;
                let target = state.writers.get_mut(&player).ok_or_else(|| {
                    GameError::invalid_move("you can only vote to kick a seated writer")
                })?;
                if vote {
                    target.kick_votes.insert(me.clone());
                } else {
                    target.kick_votes.remove(me);
                }
                // More than half of the writers other than the target.
                if target.kick_votes.len() * 2 > others {
                    let name = name_of(&player, cx)?;
                    state.remove_writer(&player, cx.seats());
                    state.kicked.insert(player.clone(), name.clone());
                    state.event = Some(Event::Kicked { player, name });
                }
            }
        }
        Ok(())
    }

    /// Everyone sees the table: writers, queue lengths, votes. A writer also sees the latest
    /// part of the story at the head of their own queue. Whole stories are shown to everyone
    /// once the game has ended, and to nobody before.
    fn view(&self, state: &State, seats: &Seats, viewer: &Viewer) -> Value {
        let writers: BTreeMap<&PlayerId, Value> = state
            .writers
            .iter()
            .filter_map(|(id, w)| {
                let seat = seats.get(id)?;
                Some((
                    id,
                    json!({
                        "name": seat.name,
                        "connected": seat.connected,
                        "queued": w.queue.len(),
                        "started": w.story.is_some(),
                        "kick_votes": w.kick_votes,
                    }),
                ))
            })
            .collect();
        let me = match viewer {
            Viewer::Player(id) => state.writers.get(id).map(|w| {
                let current = w.queue.first().and_then(|sid| {
                    let s = state.stories.get(sid)?;
                    let last = s.parts.last()?;
                    Some(json!({
                        "story": sid,
                        "owner": s.owner,
                        "owner_name": s.owner_name,
                        "turns": s.parts.len(),
                        "words": s.words(),
                        "last": last,
                    }))
                });
                json!({
                    "next": state.next_for(id),
                    "queued": w.queue.len(),
                    "current": current,
                })
            }),
            Viewer::Spectator => None,
        };
        let final_stories = (state.phase == Phase::Ended).then(|| {
            state
                .stories
                .iter()
                .map(|(id, s)| story_json(*id, s))
                .collect::<Vec<_>>()
        });
        json!({
            "phase": state.phase,
            "round": state.round,
            "min_players": state.config.min_players,
            "max_chars": state.config.max_chars,
            "writers": writers,
            "order": state.order,
            "stories": state.stories.len(),
            "parts": state.stories.values().map(|s| s.parts.len()).sum::<usize>(),
            "finish_votes": state.finish_votes,
            "restart_votes": state.restart_votes,
            "kicked": state.kicked,
            "event": state.event,
            "me": me,
            "final_stories": final_stories,
        })
    }

    fn status(&self, state: &State, _seats: &Seats) -> Status {
        match state.phase {
            Phase::Waiting => Status::Waiting,
            Phase::Writing => Status::Playing,
            // A shared effort: everyone shares first place.
            Phase::Ended => Status::Finished {
                ranking: vec![state.order.clone()],
            },
        }
    }

    fn legal_actions(&self, state: &State, _seats: &Seats, player: &PlayerId) -> Vec<Action> {
        if !state.writers.contains_key(player) {
            return Vec::new();
        }
        let mut out = Vec::new();
        match state.phase {
            Phase::Waiting => {
                if state.writers.len() >= state.config.min_players as usize {
                    out.push(Action::Start);
                }
            }
            Phase::Writing => {
                if state.next_for(player) != Next::Wait {
                    out.push(Action::Submit {
                        text: SAMPLE_TEXT.to_owned(),
                    });
                }
                out.push(Action::VoteFinish { vote: true });
                out.push(Action::VoteFinish { vote: false });
            }
            Phase::Ended => {}
        }
        if state.phase != Phase::Waiting {
            out.push(Action::VoteRestart { vote: true });
            out.push(Action::VoteRestart { vote: false });
        }
        for other in state.order.iter().filter(|o| *o != player) {
            for vote in [true, false] {
                out.push(Action::VoteKick {
                    player: other.clone(),
                    vote,
                });
            }
        }
        out
    }

    fn order_independent(&self, action: &Action) -> bool {
        matches!(
            action,
            Action::VoteFinish { .. } | Action::VoteRestart { .. } | Action::VoteKick { .. }
        )
    }

    fn tracks_connections(&self) -> bool {
        true
    }

    /// A writer who drops out no longer holds up a unanimous vote.
    fn connection(
        &self,
        state: &mut State,
        _player: &PlayerId,
        _connected: bool,
        cx: &mut Ctx<'_, Action>,
    ) {
        state.settle_votes(cx.seats());
    }
}

/// The submission `legal_actions` offers; any valid text is legal.
pub const SAMPLE_TEXT: &str = "And then something happened.";
