//! What each viewer sees, computed from the current table.
//!
//! Every zone is `{"count": n, "cards": [...]}`, top first, where each entry is a card id or
//! `null` for a card the viewer may not know: so counts and positions are public, faces are
//! not. `cards` maps the ids the viewer sees to their details, with `name` only when the
//! viewer may know the face. Public zones show every id (face-down cards without a name);
//! hidden zones show only the cards the viewer may identify (their own hand, cards looked at
//! or revealed to them).

use super::table::{CardId, Loc, Table, ZoneKind};
use super::{Phase, State};
use arbiter_engine::protocol::PlayerId;
use arbiter_engine::{Seats, Viewer};
use serde_json::{Map, Value, json};

struct Eyes<'a> {
    table: &'a Table,
    viewer: Option<&'a PlayerId>,
    cards: Map<String, Value>,
}

impl Eyes<'_> {
    fn identifies(&self, id: CardId, loc: &Loc) -> bool {
        match self.viewer {
            Some(p) => self.table.identifies(p, id, loc),
            None => self.table.public_face(id, loc),
        }
    }

    fn zone(&mut self, loc: &Loc) -> Value {
        let ids = self.table.zone(loc).cloned().unwrap_or_default();
        let mut entries = Vec::with_capacity(ids.len());
        for id in &ids {
            let face = self.identifies(*id, loc);
            if !(face || loc.zone.is_public()) {
                entries.push(Value::Null);
                continue;
            }
            entries.push(json!(id));
            let Some(card) = self.table.cards.get(id) else {
                continue;
            };
            let mut v = json!({
                "owner": card.owner,
                "controller": card.controller,
                "face_down": card.face_down,
                "tapped": card.tapped,
                "counters": card.counters,
                "attached_to": card.attached_to,
                "revealed": card.revealed,
                "token": card.token,
            });
            if face {
                v["name"] = json!(card.name);
            }
            self.cards.insert(id.to_string(), v);
        }
        json!({"count": ids.len(), "cards": entries})
    }
}

/// The view for `viewer`.
pub(crate) fn view(state: &State, seats: &Seats, viewer: &Viewer) -> Value {
    let f = state.format();
    let me = match viewer {
        Viewer::Player(p) => Some(p),
        Viewer::Spectator => None,
    };
    let table = &state.table;
    let mut eyes = Eyes {
        table,
        viewer: me,
        cards: Map::new(),
    };
    let mut players = Map::new();
    for (id, seat) in &state.seats {
        let size: u64 = seat.deck.iter().flatten().map(|e| u64::from(e.count)).sum();
        let mut p = json!({
            "name": seat
                .left
                .as_deref()
                .or_else(|| seats.get(id).map(|s| s.name.as_str()))
                .unwrap_or_default(),
            "order": seat.order,
            "deck": {"submitted": seat.deck.is_some(), "size": size},
        });
        if let Some(t) = table.players.get(id) {
            let mut zones = Map::new();
            for z in f.zones() {
                zones.insert(z.name().into(), eyes.zone(&Loc::of(id, *z)));
            }
            p["life"] = if f.starting_life().is_some() {
                json!(t.life)
            } else {
                Value::Null
            };
            p["counters"] = json!(t.counters);
            p["commander_damage"] = json!(t.commander_damage);
            p["mulligans"] = json!(t.mulligans);
            p["lost"] = json!(t.lost);
            p["zones"] = Value::Object(zones);
        }
        players.insert(id.to_string(), p);
    }
    let stack = f.has_stack().then(|| {
        eyes.zone(&Loc {
            player: None,
            zone: ZoneKind::Stack,
        })
    });
    let turn = table.turn.as_ref().map(|t| {
        let step = f.steps().get(t.step);
        json!({
            "player": t.player,
            "number": t.number,
            "phase": step.map(|s| s.phase),
            "step": step.map(|s| s.step),
        })
    });
    json!({
        "format": state.config.format,
        "phase": state.phase,
        "you": me.filter(|p| state.seats.contains_key(*p)),
        "order": table.order,
        "players": players,
        "stack": stack,
        "cards": eyes.cards,
        "turn": turn,
        "steps": f.steps().iter().map(|s| s.step).collect::<Vec<_>>(),
        "events": state.events,
        "ranking": (state.phase == Phase::Over).then_some(&state.ranking),
    })
}
