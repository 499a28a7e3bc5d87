//! Who joins which room as what, when each client acts, and which loopback source address each
//! connection uses. Pure functions, so they can be tested without sockets.

use std::net::Ipv4Addr;
use std::time::Duration;

/// Connections per loopback source address. The ephemeral port range here holds ~28,000; stay
/// well below it so TIME_WAIT sockets of a previous run do not collide.
pub(crate) const CONNS_PER_SOURCE: u64 = 20_000;

/// A member's place in the workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Slot {
    /// Global index of the connection.
    pub(crate) index: u64,
    pub(crate) room: u32,
    /// Index inside the room: players first, then spectators.
    pub(crate) member: u32,
    pub(crate) player: bool,
    /// The member that creates the room (the first player).
    pub(crate) creator: bool,
}

/// Every member of `rooms` rooms of `players` players and `spectators` spectators, room by room.
pub(crate) fn slots(rooms: u32, players: u32, spectators: u32) -> Vec<Slot> {
    let per_room = players + spectators;
    let mut out = Vec::with_capacity(rooms as usize * per_room as usize);
    for room in 0..rooms {
        for member in 0..per_room {
            out.push(Slot {
                index: u64::from(room) * u64::from(per_room) + u64::from(member),
                room,
                member,
                player: member < players,
                creator: member == 0,
            });
        }
    }
    out
}

/// How a member reaches its room's owner when the load is spread over several nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    /// Connected to the node its room was created through, which owns the room.
    SameNode,
    /// Connected to another node, which forwards its commands to the owner over the bus.
    CrossNode,
}

impl Route {
    pub(crate) const ALL: [Self; 2] = [Self::SameNode, Self::CrossNode];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::SameNode => "same-node",
            Self::CrossNode => "cross-node",
        }
    }

    /// Position in [`Route::ALL`], for per-route counters.
    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// Which of `nodes` URLs member `member` of room `room` connects through: (room + member)
/// mod nodes. Member 0 creates the room, so room i is created through URL i mod nodes and
/// its other members are spread over the rest.
pub(crate) fn node_of(room: u32, member: u32, nodes: usize) -> usize {
    let n = nodes.max(1) as u64;
    usize::try_from((u64::from(room) + u64::from(member)) % n).unwrap_or(0)
}

/// Whether `member` of room `room` connects to the node its room was created through.
pub(crate) fn route(room: u32, member: u32, nodes: usize) -> Route {
    if node_of(room, member, nodes) == node_of(room, 0, nodes) {
        Route::SameNode
    } else {
        Route::CrossNode
    }
}

/// When the player with global player index `i` of `n` first acts, relative to the start of
/// the schedule: spread evenly over one interval, so the offered load is smooth rather than
/// `n` actions at once every `interval`.
pub(crate) fn phase(i: u64, n: u64, interval: Duration) -> Duration {
    if n == 0 {
        return Duration::ZERO;
    }
    let nanos = interval.as_nanos() * u128::from(i % n) / u128::from(n);
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

/// When in each interval the players act.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Schedule {
    /// Player i of n first acts at i/n of the interval: players are numbered room by room, so
    /// a room's players act within interval/n of each other, back to back.
    #[default]
    Clustered,
    /// Player i first acts at frac(i·φ) of the interval (φ the golden ratio's inverse): the
    /// players as a whole still cover the interval evenly, but a room's players land far
    /// apart, as people acting on their own do. bench/colyseus/loadgen.js draws the same
    /// phases.
    Spread,
}

impl Schedule {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Clustered => "clustered",
            Self::Spread => "spread",
        }
    }

    /// When in the interval player `i` of `n` first acts.
    pub(crate) fn phase(self, i: u64, n: u64, interval: Duration) -> Duration {
        match self {
            Self::Clustered => phase(i, n, interval),
            // In f64 like the JavaScript generator, so both draw the very same phases.
            Self::Spread => interval.mul_f64((i as f64 * 0.618_033_988_749_894_9).fract()),
        }
    }
}

/// Actions the schedule offers per second.
pub(crate) fn offered_per_s(players: u64, interval: Duration) -> f64 {
    if interval.is_zero() {
        return 0.0;
    }
    players as f64 / interval.as_secs_f64()
}

/// The source address of connection `i` when `total` connections are opened: 127.0.0.1 (the
/// kernel's choice) while they fit one address, otherwise 127.0.0.2, 127.0.0.3, … with
/// [`CONNS_PER_SOURCE`] each.
pub(crate) fn source_addr(i: u64, total: u64) -> Option<Ipv4Addr> {
    if total <= CONNS_PER_SOURCE {
        return None;
    }
    let k = i / CONNS_PER_SOURCE;
    // 127.0.0.2 ..= 127.0.0.254, then wrap into 127.0.1.x.
    let host = 2 + k;
    Some(Ipv4Addr::new(
        127,
        0,
        u8::try_from(host / 253).unwrap_or(255),
        u8::try_from(host % 253).unwrap_or(254).max(1),
    ))
}

/// Addresses per side in [`forwarded_addr`]: half of 10.0.0.0/8 each.
const FORWARDED_PER_SIDE: u32 = 1 << 23;

/// The address connection `i` names in `X-Forwarded-For` (`--forwarded-for`): one of its own
/// in 10.0.0.0/8, the well-behaved clients' from 10.0.0.1 up and the hostile ones' from
/// 10.128.0.1 up, so that a server's per-address limits count every client apart.
pub(crate) fn forwarded_addr(i: u64, hostile: bool) -> Ipv4Addr {
    let n = u32::try_from(i % u64::from(FORWARDED_PER_SIDE - 1)).unwrap_or(0) + 1;
    let side = if hostile { FORWARDED_PER_SIDE } else { 0 };
    Ipv4Addr::from((10 << 24) | side | n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_put_players_first_and_one_creator_per_room() {
        let s = slots(3, 2, 1);
        assert_eq!(s.len(), 9);
        assert_eq!(s.iter().filter(|x| x.creator).count(), 3);
        assert_eq!(s.iter().filter(|x| x.player).count(), 6);
        assert_eq!(
            s[4],
            Slot {
                index: 4,
                room: 1,
                member: 1,
                player: true,
                creator: false
            }
        );
        assert!(!s[5].player && s[5].room == 1);
        assert!(s.iter().enumerate().all(|(i, x)| x.index == i as u64));
    }

    #[test]
    fn members_spread_over_nodes_from_their_room_creators_node() {
        // 4 players, 3 nodes: room 1 is created through node 1, its players use 1, 2, 0, 1.
        let nodes: Vec<usize> = (0..4).map(|m| node_of(1, m, 3)).collect();
        assert_eq!(nodes, [1, 2, 0, 1]);
        let routes: Vec<Route> = (0..4).map(|m| route(1, m, 3)).collect();
        assert_eq!(
            routes,
            [
                Route::SameNode,
                Route::CrossNode,
                Route::CrossNode,
                Route::SameNode
            ]
        );
        assert!((0..7).all(|r| (0..4).all(|m| node_of(r, m, 1) == 0 && route(r, m, 1) == Route::SameNode)));
    }

    #[test]
    fn phases_spread_evenly_over_one_interval() {
        let t = Duration::from_millis(100);
        let p: Vec<Duration> = (0..4).map(|i| phase(i, 4, t)).collect();
        assert_eq!(
            p,
            [0, 25, 50, 75].map(Duration::from_millis).to_vec(),
            "evenly spaced"
        );
        assert!((0..1_000).all(|i| phase(i, 1_000, t) < t));
        assert_eq!(phase(5, 0, t), Duration::ZERO);
    }

    #[test]
    fn the_spread_schedule_covers_the_interval_and_parts_a_room_s_players() {
        let t = Duration::from_millis(100);
        let p: Vec<Duration> = (0..1_000)
            .map(|i| Schedule::Spread.phase(i, 1_000, t))
            .collect();
        assert!(p.iter().all(|d| *d < t));
        // Each tenth of the interval holds close to a tenth of the players.
        for tenth in 0..10u32 {
            let n = p
                .iter()
                .filter(|d| **d >= t / 10 * tenth && **d < t / 10 * (tenth + 1))
                .count();
            assert!((80..=120).contains(&n), "{n} in tenth {tenth}");
        }
        // A room's 4 players (consecutive indices) are at least a tenth of the interval apart;
        // clustered, they are within 0.4 ms.
        for room in 0..250u64 {
            let mut ps: Vec<Duration> = (0..4)
                .map(|m| Schedule::Spread.phase(room * 4 + m, 1_000, t))
                .collect();
            ps.sort();
            assert!(ps.windows(2).all(|w| w[1] - w[0] >= t / 10), "{ps:?}");
            let c: Vec<Duration> = (0..4)
                .map(|m| Schedule::Clustered.phase(room * 4 + m, 1_000, t))
                .collect();
            assert!(c[3] - c[0] < Duration::from_micros(400), "{c:?}");
        }
    }

    #[test]
    fn offered_load() {
        assert_eq!(offered_per_s(1_000, Duration::from_millis(100)), 10_000.0);
        assert_eq!(offered_per_s(500, Duration::from_millis(200)), 2_500.0);
        assert_eq!(offered_per_s(5, Duration::ZERO), 0.0);
    }

    #[test]
    fn forwarded_addresses_are_distinct_per_connection_and_side() {
        assert_eq!(forwarded_addr(0, false), Ipv4Addr::new(10, 0, 0, 1));
        assert_eq!(forwarded_addr(255, false), Ipv4Addr::new(10, 0, 1, 0));
        assert_eq!(forwarded_addr(0, true), Ipv4Addr::new(10, 128, 0, 1));
        let mut all: Vec<Ipv4Addr> = (0..5_000)
            .flat_map(|i| [forwarded_addr(i, false), forwarded_addr(i, true)])
            .collect();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), 10_000);
    }

    #[test]
    fn source_addresses_only_when_one_is_not_enough() {
        assert_eq!(source_addr(19_999, 20_000), None);
        assert_eq!(source_addr(0, 50_000), Some(Ipv4Addr::new(127, 0, 0, 2)));
        assert_eq!(
            source_addr(19_999, 50_000),
            Some(Ipv4Addr::new(127, 0, 0, 2))
        );
        assert_eq!(
            source_addr(20_000, 50_000),
            Some(Ipv4Addr::new(127, 0, 0, 3))
        );
        assert_eq!(
            source_addr(49_999, 50_000),
            Some(Ipv4Addr::new(127, 0, 0, 4))
        );
    }
}
