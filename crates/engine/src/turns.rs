//! Games played in turns to a result. [`Turns`] is the bookkeeping such a game repeats (whose
//! move it is, how and whether the round ended, the round count and the move clock), kept in
//! its state; [`TurnGame`] goes further for a game without secrets: it writes the board and
//! its moves, and the engine supplies the rest of [`Game`] — starting, restarting, refusals,
//! forfeits, status, the view, the clock and a bot.

use crate::game::{Actor, BotMove, Ctx, Game, GameError, GameInfo, Status, Viewer};
use crate::rng::GameRng;
use crate::seats::{Seat, Seats};
use arbiter_protocol::PlayerId;
use serde::de::{DeserializeOwned, Error as _};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Value, json};

/// Turns in seat order for two or more players, a move clock, and the result.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Turns {
    /// Whose move it is: nobody's before a round starts and after it ends.
    pub turn: Option<PlayerId>,
    /// Who won the round that ended, if anyone did.
    pub winner: Option<PlayerId>,
    /// The round ended without a winner.
    pub draw: bool,
    /// The round ended because a player left it.
    pub forfeit: bool,
    /// The round ended.
    pub over: bool,
    /// Rounds started in this room.
    pub round: u32,
    /// Milliseconds per move, after which `Game::out_of_time` plays for the mover; 0 means no
    /// clock.
    pub turn_ms: u64,
}

impl Turns {
    /// No round yet, with `turn_ms` milliseconds per move (0: no clock).
    pub fn new(turn_ms: u64) -> Self {
        Self {
            turn_ms,
            ..Self::default()
        }
    }

    /// True while a round is being played.
    pub fn playing(&self) -> bool {
        self.turn.is_some()
    }

    /// True when it is `player`'s move.
    pub fn is_turn(&self, player: &PlayerId) -> bool {
        self.turn.as_ref() == Some(player)
    }

    /// Start the next round: the result is cleared and a random seated player (drawn from the
    /// room's RNG among the ids in sorted order) moves first, on the clock.
    pub fn begin<A>(&mut self, cx: &mut Ctx<'_, A>) {
        let mut ids: Vec<PlayerId> = cx.seats().ids().cloned().collect();
        ids.sort();
        let first = cx.rng().pick(&ids).cloned();
        *self = Self {
            turn: cx.give_turn(first, self.turn_ms),
            round: self.round + 1,
            turn_ms: self.turn_ms,
            ..Self::default()
        };
    }

    /// The move passes from `seat` to the next taken seat, whose clock starts.
    pub fn pass<A>(&mut self, seat: &Seat, cx: &mut Ctx<'_, A>) {
        self.turn = cx.pass_turn(seat.number, self.turn_ms);
    }

    /// The round ends: `winner` won, or with `None` it is a draw. The clock stops.
    pub fn end<A>(&mut self, winner: Option<PlayerId>, cx: &mut Ctx<'_, A>) {
        self.draw = winner.is_none();
        (self.over, self.winner, self.turn) = (true, winner, cx.give_turn(None, 0));
    }

    /// For [`Game::leave`] when too few players are left to go on: a round in progress ends,
    /// won by the player who stayed if only one did.
    pub fn forfeit<A>(&mut self, cx: &mut Ctx<'_, A>) {
        if self.playing() {
            let alone = cx.seats().len() == 1;
            let stayed = cx.seats().ids().next().filter(|_| alone).cloned();
            self.end(stayed, cx);
            (self.draw, self.forfeit) = (false, true);
        }
    }

    /// The seat of the player behind a move, refused with `NOT_A_PLAYER` for someone without
    /// one, `GAME_OVER` once the round ended, `INVALID_MOVE` while fewer than `min` players sit
    /// and `NOT_YOUR_TURN` when someone else is to move.
    pub fn mover<A>(&self, by: &Actor, min: usize, cx: &Ctx<'_, A>) -> Result<Seat, GameError> {
        let seat = cx.seat_of(by.player()?)?;
        if self.over {
            return Err(GameError::game_over());
        }
        if cx.seats().len() < min {
            return Err(GameError::invalid_move("waiting for an opponent"));
        }
        if !self.is_turn(&seat.id) {
            return Err(GameError::not_your_turn());
        }
        Ok(seat)
    }

    /// Whether a seated player may play again now: refused with `GAME_IN_PROGRESS` before the
    /// round ended and `INVALID_MOVE` while fewer than `min` players sit.
    pub fn may_restart<A>(&self, by: &Actor, min: usize, cx: &Ctx<'_, A>) -> Result<(), GameError> {
        cx.seat_of(by.player()?)?;
        if !self.over {
            return Err(GameError::in_progress(
                "a game in progress cannot be restarted",
            ));
        }
        if cx.seats().len() < min {
            return Err(GameError::invalid_move("waiting for an opponent"));
        }
        Ok(())
    }

    /// True when a restart would be accepted: the round ended and `min` or more players sit.
    pub fn restartable(&self, seats: &Seats, min: usize) -> bool {
        self.over && seats.len() >= min
    }

    /// Where the game stands: `Waiting` before a round, `Playing` during one, and once it
    /// ended the winner first and everyone else second (or a draw among everyone seated).
    pub fn status(&self, seats: &Seats) -> Status {
        match (self.over, &self.turn) {
            (true, _) => Status::decided(self.winner.as_ref(), seats.ids()),
            (false, Some(_)) => Status::Playing,
            (false, None) => Status::Waiting,
        }
    }
}

/// What follows a move in a [`TurnGame`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// The next taken seat moves.
    Pass,
    /// The same player moves again, on a fresh clock.
    Again,
    /// The mover won; the round is over.
    Win,
    /// Nobody won; the round is over.
    Draw,
}

/// A [`TurnGame`]'s room state: the game's board and the [`Turns`], side by side on the wire
/// (both are flattened, so the board's field names must not be those of [`Turns`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Round<B> {
    /// The game's own part, back to its `Default` when a round begins.
    #[serde(flatten)]
    pub game: B,
    /// Whose move it is and how the round ended.
    #[serde(flatten)]
    pub turns: Turns,
}

impl<B: Default> Round<B> {
    /// A fresh board; a random seated player moves first.
    fn begin<A>(&mut self, cx: &mut Ctx<'_, A>) {
        self.game = B::default();
        self.turns.begin(cx);
    }
}

/// A [`TurnGame`]'s actions: one of the game's moves, or `{"type":"restart"}` to play again
/// once a round is over. On the wire a move is exactly the game's own move.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TurnAction<M> {
    /// A move of the game's.
    Play(M),
    /// Play another round.
    Restart,
}

impl<M: Serialize> Serialize for TurnAction<M> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Play(m) => m.serialize(serializer),
            Self::Restart => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("type", "restart")?;
                map.end()
            }
        }
    }
}

impl<'de, M: DeserializeOwned> Deserialize<'de> for TurnAction<M> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        if value.get("type").and_then(Value::as_str) != Some("restart") {
            return M::deserialize(value)
                .map(Self::Play)
                .map_err(D::Error::custom);
        }
        match value.as_object().map(serde_json::Map::len) {
            Some(1) => Ok(Self::Restart),
            _ => Err(D::Error::custom("`restart` takes no fields")),
        }
    }
}

/// A [`TurnGame`]'s room options.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TurnConfig {
    /// Milliseconds per move, after which a random legal move is played for the mover; 0 (the
    /// default) means no clock.
    pub turn_ms: u64,
}

/// A game without secrets played in turns, in seat order, to a win or a draw: tic-tac-toe,
/// connect four, dots and boxes. The game writes its board (`Default` is the empty board) and
/// its moves; every such type is a [`Game`], with these rules from the engine:
///
/// * a round begins, with a random first player, when `min_players` are seated and none is
///   being played (the first join that makes enough, or a newcomer after a forfeit);
/// * a move is refused with `NOT_A_PLAYER`, `GAME_OVER`, `INVALID_MOVE` ("waiting for an
///   opponent") or `NOT_YOUR_TURN` before the game sees it;
/// * `{"type":"restart"}` plays again once a round is over (`GAME_IN_PROGRESS` before);
/// * a leaver's turn passes on, and a round left with fewer than `min_players` is forfeited
///   (to the one who stayed, if one did);
/// * the config is [`TurnConfig`] (a move clock that plays a random legal move);
/// * everyone sees the same view: the board, the [`Turns`], `players` (each seat's
///   [`TurnGame::player`] by id) and `deadline` (when the mover's clock runs out, or null);
/// * bots play [`TurnGame::bot`], a random legal move unless the game says better.
pub trait TurnGame: Send + Sync + 'static {
    /// The game's part of the state; `Default` is the board a round begins with.
    type Board: Clone + Default + Serialize + DeserializeOwned + Send + 'static;
    /// A move, as the wire carries it (usually an enum tagged by `type`).
    type Move: Clone + Serialize + DeserializeOwned + Send + 'static;

    /// Static facts.
    fn info(&self) -> GameInfo;

    /// `seat` makes `mv` on their turn: refuse it (the room is then unchanged), or change
    /// `board` and say what follows.
    fn play(&self, board: &mut Self::Board, seat: &Seat, mv: Self::Move)
    -> Result<Next, GameError>;

    /// The moves `seat` could make now that it is their turn.
    fn moves(&self, board: &Self::Board, seat: &Seat) -> Vec<Self::Move>;

    /// What the view says of a seated player: `{"name"}` by default.
    fn player(&self, seat: &Seat) -> Value {
        json!({ "name": seat.name })
    }

    /// The bot in seat `bot`'s move, if it is theirs: a random legal one after a short pause
    /// by default.
    fn bot(
        &self,
        round: &Round<Self::Board>,
        bot: &Seat,
        rng: &mut GameRng,
    ) -> Option<BotMove<Self::Move>> {
        if !round.turns.is_turn(&bot.id) {
            return None;
        }
        let action = rng.pick(&self.moves(&round.game, bot))?.clone();
        let delay_ms = 400 + u64::from(rng.below(400));
        Some(BotMove { action, delay_ms })
    }
}

fn min_players<T: TurnGame>(game: &T) -> usize {
    usize::try_from(TurnGame::info(game).min_players).unwrap_or(usize::MAX)
}

impl<T: TurnGame> Game for T {
    type State = Round<T::Board>;
    type Action = TurnAction<T::Move>;
    type Config = TurnConfig;

    fn info(&self) -> GameInfo {
        TurnGame::info(self)
    }

    fn setup(
        &self,
        config: &TurnConfig,
        _: &mut Ctx<'_, Self::Action>,
    ) -> Result<Self::State, GameError> {
        let turns = Turns::new(config.turn_ms);
        Ok(Round {
            game: T::Board::default(),
            turns,
        })
    }

    fn join(
        &self,
        state: &mut Self::State,
        _: &Seat,
        cx: &mut Ctx<'_, Self::Action>,
    ) -> Result<(), GameError> {
        if !state.turns.playing() && cx.seats().len() >= min_players(self) {
            state.begin(cx);
        }
        Ok(())
    }

    fn leave(&self, state: &mut Self::State, seat: &Seat, cx: &mut Ctx<'_, Self::Action>) {
        if cx.seats().len() < min_players(self) {
            state.turns.forfeit(cx);
        } else if state.turns.is_turn(&seat.id) {
            state.turns.pass(seat, cx);
        }
    }

    fn apply(
        &self,
        state: &mut Self::State,
        by: &Actor,
        action: Self::Action,
        cx: &mut Ctx<'_, Self::Action>,
    ) -> Result<(), GameError> {
        let min = min_players(self);
        let mv = match action {
            TurnAction::Restart => {
                state.turns.may_restart(by, min, cx)?;
                state.begin(cx);
                return Ok(());
            }
            TurnAction::Play(mv) => mv,
        };
        let seat = state.turns.mover(by, min, cx)?;
        let turns = &mut state.turns;
        match self.play(&mut state.game, &seat, mv)? {
            Next::Pass => turns.pass(&seat, cx),
            Next::Again => turns.turn = cx.give_turn(Some(seat.id), turns.turn_ms),
            Next::Win => turns.end(Some(seat.id), cx),
            Next::Draw => turns.end(None, cx),
        }
        Ok(())
    }

    fn view(&self, state: &Self::State, seats: &Seats, _: &Viewer) -> Value {
        let mut view = serde_json::to_value(state).unwrap_or_default();
        let players = seats.iter().map(|s| (s.id.to_string(), self.player(s)));
        view["players"] = players.collect();
        view["deadline"] = json!(seats.clock().map(|c| c.due_ms));
        view
    }

    fn status(&self, state: &Self::State, seats: &Seats) -> Status {
        state.turns.status(seats)
    }

    /// The mover's moves; a restart once the round is over and enough players sit.
    fn legal_actions(
        &self,
        state: &Self::State,
        seats: &Seats,
        player: &PlayerId,
    ) -> Vec<Self::Action> {
        let restart = state.turns.restartable(seats, min_players(self));
        let moves = match seats.get(player) {
            Some(seat) if state.turns.is_turn(player) => self.moves(&state.game, seat),
            _ => Vec::new(),
        };
        let moves = moves.into_iter().map(TurnAction::Play);
        moves
            .chain(restart.then_some(TurnAction::Restart))
            .collect()
    }

    fn public_view(&self) -> bool {
        true
    }

    fn has_bots(&self) -> bool {
        true
    }

    fn bot_move(
        &self,
        state: &Self::State,
        bot: &Seat,
        rng: &mut GameRng,
    ) -> Option<BotMove<Self::Action>> {
        let BotMove { action, delay_ms } = self.bot(state, bot, rng)?;
        let action = TurnAction::Play(action);
        Some(BotMove { action, delay_ms })
    }
}
