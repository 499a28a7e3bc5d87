//! Cluster mode: several nodes share one PostgreSQL store and one Redis.
//!
//! * **Registry.** Each node writes `{prefix}:node:{id}` (its address and rooms) with a time
//!   to live, renewed every third of the lease; a node whose key lapsed is dead.
//! * **Leases.** A room is served by the node holding `{prefix}:lease:{room}` (value
//!   `node|fence`). The lease only says who *should* serve a room; what makes a takeover
//!   safe is the store's fencing token (see [`arbiter_engine::Store`]): a node takes a room
//!   over by raising the token before loading it, so the node it took it from can never
//!   write again, whatever it believes about its lease.
//! * **Routing.** Any node accepts any client. A command for a room served elsewhere goes
//!   over the bus ([`bus`]) to the owner; the owner's frames come back once per frame and
//!   edge node. When the owner is gone, the edge closes the affected connections (1012) and
//!   their clients resume on any node.
//! * **Failover.** Every node sweeps the store's live rooms each tick; a room without a
//!   lease for two ticks running is taken over by the first node to claim it, timers and
//!   seats included.

mod bus;
mod edge;
mod owner;

use crate::metrics::{CLUSTER_BUS_RESETS, CLUSTER_TAKEOVERS, Routed};
use arbiter_engine::{ConnId, GameError, RoomHandle, Rooms, Store, StoreError};
use arbiter_protocol::{ErrorCode, RoomInfo};
use metrics::counter;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::watch;

use bus::Bus;

/// How a node joins a cluster.
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    /// `redis://host:port[/db]`.
    pub redis_url: String,
    /// Prefix of every Redis key and channel, so clusters can share one Redis.
    pub prefix: String,
    /// How long a room's lease (and a node's registration) lasts without renewal. A dead
    /// node's rooms are taken over within about one lease and two sweeps.
    pub lease: Duration,
    /// This node's id; a random one when `None`.
    pub node_id: Option<String>,
}

/// Renew a lease: `1` renewed, `0` held by another node, `-1` missing (e.g. Redis lost it).
const RENEW: &str = r"
local out = {}
for i, k in ipairs(KEYS) do
  local v = redis.call('GET', k)
  if v == false then out[i] = -1
  elseif string.match(v, '^[^|]*') == ARGV[1] then redis.call('PEXPIRE', k, ARGV[2]); out[i] = 1
  else out[i] = 0 end
end
return out";

/// Take or re-take a lease that is free or already ours: `1` taken, `0` held by another.
const ACQUIRE: &str = r"
local v = redis.call('GET', KEYS[1])
if v == false or string.match(v, '^[^|]*') == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]); return 1
end
return 0";

/// Give a lease up if it is ours.
const RELEASE: &str = r"
local v = redis.call('GET', KEYS[1])
if v ~= false and string.match(v, '^[^|]*') == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0";

/// What a node publishes about itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct NodeRecord {
    id: String,
    addr: String,
    rooms: usize,
}

/// A cluster node's state. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Cluster(Arc<Inner>);

struct Inner {
    id: String,
    prefix: String,
    lease: Duration,
    addr: String,
    client: redis::Client,
    redis: ConnectionManager,
    rooms: Rooms,
    store: Arc<dyn Store>,
    /// Rooms this node serves, with the fencing token it took them with.
    owned: Mutex<HashMap<String, u64>>,
    /// Rooms found without a lease on the previous sweep: taken over if still so.
    orphans: Mutex<HashSet<String>>,
    /// Nodes alive at the last tick.
    live: Mutex<HashSet<String>>,
    edge: edge::Edge,
    owner: owner::Owner,
    /// Ids for connections of other nodes, as this node's rooms see them: the high bit set
    /// keeps them apart from this node's own connection ids.
    remote_ids: AtomicU64,
    /// Held while taking a room over, so that two requests for the same orphan cannot load
    /// it twice on this node (the second load would fence the first).
    taking_over: tokio::sync::Mutex<()>,
    redis_up: AtomicBool,
    draining: AtomicBool,
    /// Bus messages sent and received, by direction.
    routed: Routed,
}

fn unavailable(why: impl std::fmt::Display) -> GameError {
    GameError::new(ErrorCode::Unavailable, why.to_string())
}

impl Cluster {
    /// Connect to Redis and start the node's background work: the bus, heartbeats (which
    /// register `addr`, where this node serves HTTP), lease renewal and the sweep for rooms to
    /// take over. Stops when `stop` turns true.
    pub(crate) async fn start(
        config: ClusterConfig,
        addr: String,
        rooms: Rooms,
        stop: watch::Receiver<bool>,
    ) -> Result<Self, String> {
        let store = rooms
            .store()
            .cloned()
            .ok_or("cluster mode needs a PostgreSQL database (--database-url postgres://…)")?;
        let client = redis::Client::open(config.redis_url.as_str())
            .map_err(|e| format!("bad Redis URL {:?}: {e}", config.redis_url))?;
        let tick = config.lease / 3;
        let manager = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(tick))
            .set_response_timeout(Some(tick))
            .set_number_of_retries(1)
            .set_max_delay(tick);
        let redis = ConnectionManager::new_with_config(client.clone(), manager)
            .await
            .map_err(|e| format!("cannot connect to Redis at {}: {e}", config.redis_url))?;
        let id = config.node_id.unwrap_or_else(|| {
            use rand::Rng;
            format!("n_{:08x}", rand::rng().random::<u32>())
        });
        let cluster = Self(Arc::new(Inner {
            edge: edge::Edge::default(),
            owner: owner::Owner::default(),
            id,
            prefix: config.prefix,
            lease: config.lease,
            addr,
            client,
            redis,
            rooms,
            store,
            owned: Mutex::default(),
            orphans: Mutex::default(),
            live: Mutex::default(),
            remote_ids: AtomicU64::new(1 << 63),
            taking_over: tokio::sync::Mutex::new(()),
            redis_up: AtomicBool::new(true),
            draining: AtomicBool::new(false),
            routed: Routed::new(),
        }));
        let subscribed = cluster.listen(stop.clone());
        subscribed
            .await
            .map_err(|_| "the bus subscription stopped at once".to_owned())?;
        tokio::spawn(cluster.clone().ticks(stop));
        Ok(cluster)
    }

    /// This node's id.
    pub(crate) fn id(&self) -> &str {
        &self.0.id
    }

    /// Tell the registry where clients reach this node.
    fn key(&self, what: &str, id: &str) -> String {
        format!("{}:{what}:{id}", self.0.prefix)
    }

    fn channel(&self, node: &str) -> String {
        self.key("bus", node)
    }

    fn redis(&self) -> ConnectionManager {
        self.0.redis.clone()
    }

    fn redis_failed(&self, what: &str, e: &redis::RedisError) {
        if self.0.redis_up.swap(false, Ordering::Relaxed) {
            tracing::warn!(error = %e, "Redis is unreachable ({what}); serving owned rooms only");
        }
    }

    fn redis_ok(&self) {
        if !self.0.redis_up.swap(true, Ordering::Relaxed) {
            tracing::info!("Redis is reachable again");
        }
    }

    /// Whether the last Redis call worked.
    fn redis_up(&self) -> bool {
        self.0.redis_up.load(Ordering::Relaxed)
    }

    /// Publish on a node's channel; the number of nodes that received it (0: it is gone).
    async fn publish(&self, node: &str, msg: &Bus) -> Result<i64, redis::RedisError> {
        let sent = redis::cmd("PUBLISH")
            .arg(self.channel(node))
            .arg(msg.encode())
            .query_async(&mut self.redis())
            .await;
        if sent.is_ok() {
            if msg.to_owner() {
                self.0.routed.to_owner.increment(1);
            } else {
                self.0.routed.to_edge.increment(1);
            }
        }
        sent
    }

    /// Subscribe to this node's channel and handle what arrives, resubscribing after a
    /// Redis outage. The returned receiver resolves once the first subscription stands.
    fn listen(&self, mut stop: watch::Receiver<bool>) -> tokio::sync::oneshot::Receiver<()> {
        let (ready, subscribed) = tokio::sync::oneshot::channel();
        let this = self.clone();
        tokio::spawn(async move {
            let mut ready = Some(ready);
            let retry = this.0.lease / 6;
            loop {
                let pubsub = match this.0.client.get_async_pubsub().await {
                    Ok(mut p) => match p.subscribe(this.channel(&this.0.id)).await {
                        Ok(()) => Some(p),
                        Err(e) => {
                            this.redis_failed("subscribe", &e);
                            None
                        }
                    },
                    Err(e) => {
                        this.redis_failed("subscribe", &e);
                        None
                    }
                };
                if let Some(pubsub) = pubsub {
                    match ready.take() {
                        Some(r) => {
                            let _ = r.send(());
                        }
                        // Frames sent to this node while it was unsubscribed are lost.
                        None => {
                            bus_reset("edge");
                            this.0.edge.forget_all();
                        }
                    }
                    let mut messages = pubsub.into_on_message();
                    loop {
                        use futures_util::StreamExt;
                        tokio::select! {
                            msg = messages.next() => match msg {
                                Some(msg) => this.on_bus(msg.get_payload_bytes()).await,
                                None => break,
                            },
                            () = stopped(&mut stop) => return,
                        }
                    }
                    tracing::warn!("the bus subscription ended; resubscribing");
                }
                tokio::select! {
                    () = tokio::time::sleep(retry) => {}
                    () = stopped(&mut stop) => return,
                }
            }
        });
        subscribed
    }

    async fn on_bus(&self, payload: &[u8]) {
        let msg = match Bus::decode(payload) {
            Ok(msg) => msg,
            Err(e) => {
                tracing::error!(error = %e, "undecodable bus message");
                return;
            }
        };
        if msg.to_owner() {
            self.0.routed.from_edge.increment(1);
        } else {
            self.0.routed.from_owner.increment(1);
        }
        match msg {
            Bus::Client {
                edge,
                conn,
                player,
                instance,
                msgpack,
                room,
                msg,
            } => {
                self.on_remote_client(edge, conn, (player, instance), msgpack, &room, *msg)
                    .await;
            }
            Bus::Disconnect { edge, conn, room } => {
                self.on_remote_disconnect(&edge, conn, &room).await;
            }
            Bus::Frames {
                room,
                conns,
                kind,
                bytes,
            } => self
                .0
                .edge
                .deliver(&room, &conns, bus::kind_of(kind), bytes),
            Bus::Moved { room, .. } => self.0.edge.moved(&room),
            Bus::Reset { owner } => {
                bus_reset("edge");
                self.0.edge.forget_owner(&owner);
            }
        }
    }

    /// The periodic work: heartbeat, lease renewal, liveness of other nodes, the sweep.
    async fn ticks(self, mut stop: watch::Receiver<bool>) {
        let mut every = tokio::time::interval(self.0.lease / 3);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // While Redis is down, try often: the first renewal after it returns re-takes this
        // node's leases before another node can find its rooms unleased.
        let mut often = tokio::time::interval(self.0.lease / 30);
        often.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = every.tick() => {}
                _ = often.tick(), if !self.redis_up() => {}
                () = stopped(&mut stop) => return,
            }
            match self.tick().await {
                Ok(()) => self.redis_ok(),
                Err(e) => self.redis_failed("tick", &e),
            }
        }
    }

    async fn tick(&self) -> Result<(), redis::RedisError> {
        self.renew().await?;
        self.heartbeat().await?;
        if !self.0.draining.load(Ordering::Relaxed) {
            self.sweep().await?;
        }
        Ok(())
    }

    fn lease_value(&self, fence: u64) -> String {
        format!("{}|{fence}", self.0.id)
    }

    async fn acquire(&self, room: &str, fence: u64) -> Result<bool, redis::RedisError> {
        let taken: i64 = redis::Script::new(ACQUIRE)
            .key(self.key("lease", room))
            .arg(&self.0.id)
            .arg(self.lease_value(fence))
            .arg(self.0.lease.as_millis() as u64)
            .invoke_async(&mut self.redis())
            .await?;
        Ok(taken == 1)
    }

    async fn release(&self, room: &str) -> Result<(), redis::RedisError> {
        let _: i64 = redis::Script::new(RELEASE)
            .key(self.key("lease", room))
            .arg(&self.0.id)
            .invoke_async(&mut self.redis())
            .await?;
        let _: i64 = redis::cmd("HDEL")
            .arg(format!("{}:rooms", self.0.prefix))
            .arg(room)
            .query_async(&mut self.redis())
            .await?;
        Ok(())
    }

    /// Renew the leases of the rooms served here; re-take those Redis forgot (a restart);
    /// stop serving those another node holds; give up those of rooms that stopped here.
    async fn renew(&self) -> Result<(), redis::RedisError> {
        let live: HashSet<String> = self.0.rooms.ids().into_iter().collect();
        let gone: Vec<String> = {
            let mut owned = lock(&self.0.owned);
            let gone: Vec<String> = owned
                .keys()
                .filter(|r| !live.contains(*r))
                .cloned()
                .collect();
            for room in &gone {
                owned.remove(room);
            }
            gone
        };
        for room in gone {
            self.release(&room).await?;
        }
        let owned: Vec<(String, u64)> = lock(&self.0.owned)
            .iter()
            .map(|(r, f)| (r.clone(), *f))
            .collect();
        if owned.is_empty() {
            return Ok(());
        }
        let script = redis::Script::new(RENEW);
        let mut call = script.prepare_invoke();
        for (room, _) in &owned {
            call.key(self.key("lease", room));
        }
        call.arg(&self.0.id).arg(self.0.lease.as_millis() as u64);
        let states: Vec<i64> = call.invoke_async(&mut self.redis()).await?;
        let mut infos = Vec::new();
        for ((room, fence), state) in owned.into_iter().zip(states) {
            let held = match state {
                1 => true,
                -1 => self.acquire(&room, fence).await?,
                _ => false,
            };
            if held {
                if let Some(h) = self.0.rooms.find(&room) {
                    infos.push((room, h.info()));
                }
            } else {
                tracing::warn!(%room, "another node holds this room's lease; handing it over");
                lock(&self.0.owned).remove(&room);
                let rooms = self.0.rooms.clone();
                tokio::spawn(async move { rooms.hand_over(&room).await });
            }
        }
        if !infos.is_empty() {
            let mut cmd = redis::cmd("HSET");
            cmd.arg(format!("{}:rooms", self.0.prefix));
            for (room, info) in infos {
                cmd.arg(room)
                    .arg(serde_json::to_string(&info).unwrap_or_default());
            }
            let _: i64 = cmd.query_async(&mut self.redis()).await?;
        }
        Ok(())
    }

    /// Register this node, and learn which others are alive; forget connections and rooms
    /// that depended on nodes that died.
    async fn heartbeat(&self) -> Result<(), redis::RedisError> {
        let record = NodeRecord {
            id: self.0.id.clone(),
            addr: self.0.addr.clone(),
            rooms: lock(&self.0.owned).len(),
        };
        let nodes_key = format!("{}:nodes", self.0.prefix);
        let mut con = self.redis();
        let () = redis::pipe()
            .cmd("SET")
            .arg(self.key("node", &self.0.id))
            .arg(serde_json::to_string(&record).unwrap_or_default())
            .arg("PX")
            .arg(self.0.lease.as_millis() as u64)
            .ignore()
            .cmd("SADD")
            .arg(&nodes_key)
            .arg(&self.0.id)
            .ignore()
            .query_async(&mut con)
            .await?;
        let records = self.node_records().await?;
        let alive: HashSet<String> = records.iter().map(|r| r.id.clone()).collect();
        let dead: Vec<String> = {
            let mut live = lock(&self.0.live);
            let dead = live.difference(&alive).cloned().collect();
            *live = alive.clone();
            dead
        };
        for node in &dead {
            tracing::info!(%node, "node is gone");
            let _: i64 = redis::cmd("SREM")
                .arg(&nodes_key)
                .arg(node)
                .query_async(&mut con)
                .await?;
        }
        // Proxies to dead owners: their clients reconnect and find the room's next owner.
        self.0.edge.forget_owners_not_in(&alive);
        // Connections of dead edges: their seats wait out the grace period.
        for (room, conn) in self.0.owner.forget_edges_not_in(&alive) {
            if let Some(h) = self.0.rooms.find(&room) {
                let _ = h.send(arbiter_engine::RoomCmd::Disconnect { conn }).await;
            }
        }
        Ok(())
    }

    async fn node_records(&self) -> Result<Vec<NodeRecord>, redis::RedisError> {
        let mut con = self.redis();
        let ids: Vec<String> = redis::cmd("SMEMBERS")
            .arg(format!("{}:nodes", self.0.prefix))
            .query_async(&mut con)
            .await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = ids.iter().map(|id| self.key("node", id)).collect();
        let values: Vec<Option<String>> =
            redis::cmd("MGET").arg(keys).query_async(&mut con).await?;
        Ok(values
            .into_iter()
            .flatten()
            .filter_map(|v| serde_json::from_str(&v).ok())
            .collect())
    }

    /// Take over live rooms that have had no lease for two sweeps running.
    async fn sweep(&self) -> Result<(), redis::RedisError> {
        let active = match self.0.store.active().await {
            Ok(ids) => ids,
            Err(e) => {
                tracing::warn!(error = %e, "cannot list live rooms for the sweep");
                return Ok(());
            }
        };
        let local: HashSet<String> = self.0.rooms.ids().into_iter().collect();
        let candidates: Vec<String> = active.into_iter().filter(|r| !local.contains(r)).collect();
        if candidates.is_empty() {
            lock(&self.0.orphans).clear();
            return Ok(());
        }
        let keys: Vec<String> = candidates.iter().map(|r| self.key("lease", r)).collect();
        let leases: Vec<Option<String>> = redis::cmd("MGET")
            .arg(keys)
            .query_async(&mut self.redis())
            .await?;
        let unleased: HashSet<String> = candidates
            .into_iter()
            .zip(leases)
            .filter(|(_, l)| l.is_none())
            .map(|(r, _)| r)
            .collect();
        let ripe: Vec<String> = {
            let mut orphans = lock(&self.0.orphans);
            let ripe = orphans.intersection(&unleased).cloned().collect();
            *orphans = unleased;
            ripe
        };
        if !ripe.is_empty() {
            // Off the tick: a takeover may wait on the store, and heartbeats and renewals
            // must not.
            let this = self.clone();
            tokio::spawn(async move {
                for room in ripe {
                    if let Err(e) = this.take_over(&room).await {
                        tracing::warn!(%room, error = %e, "taking the room over failed");
                    }
                }
            });
        }
        Ok(())
    }

    /// Serve a stored live room here: take its lease, raise its fencing token, load it.
    /// `Ok(None)` when another node got the lease first or the room is no longer live.
    async fn take_over(&self, room: &str) -> Result<Option<RoomHandle>, GameError> {
        let _one_at_a_time = self.0.taking_over.lock().await;
        if let Some(h) = self.0.rooms.find(room) {
            return Ok(Some(h));
        }
        if self.0.draining.load(Ordering::Relaxed) {
            return Ok(None);
        }
        if !self.acquire(room, 0).await.map_err(unavailable)? {
            return Ok(None);
        }
        match self.0.rooms.adopt(room).await {
            Ok(Some((handle, fence))) => {
                lock(&self.0.owned).insert(room.to_owned(), fence);
                self.acquire(room, fence).await.map_err(unavailable)?;
                self.publish_info(&handle).await.map_err(unavailable)?;
                counter!(CLUSTER_TAKEOVERS).increment(1);
                tracing::info!(%room, fence, "took the room over");
                Ok(Some(handle))
            }
            Ok(None) => {
                let _ = self.release(room).await;
                Ok(None)
            }
            Err(e) => {
                let _ = self.release(room).await;
                Err(match e {
                    StoreError::Failed(m) => unavailable(m),
                    e => unavailable(e),
                })
            }
        }
    }

    /// A room this node just created: lease it (fence 0) and list it.
    pub(crate) async fn created(&self, room: &RoomHandle) -> Result<(), GameError> {
        lock(&self.0.owned).insert(room.id().to_owned(), 0);
        if !self.acquire(room.id(), 0).await.map_err(unavailable)? {
            return Err(unavailable("the new room's lease is held elsewhere"));
        }
        self.publish_info(room).await.map_err(unavailable)
    }

    /// Find a room by id or code anywhere in the cluster: served here, served by another
    /// live node (a proxy handle), or without a live owner (taken over here). A room whose
    /// owner died but whose lease has not lapsed yet is waited for, up to two leases.
    pub(crate) async fn locate(&self, name: &str) -> Result<RoomHandle, GameError> {
        let not_found = || GameError::new(ErrorCode::RoomNotFound, format!("no room {name:?}"));
        let id = if name.starts_with("r_") {
            name.to_owned()
        } else {
            let code = name.trim().to_ascii_uppercase();
            self.0
                .store
                .find_code(&code)
                .await
                .map_err(unavailable)?
                .ok_or_else(not_found)?
        };
        let deadline = tokio::time::Instant::now() + self.0.lease * 2;
        loop {
            if let Some(h) = self.0.rooms.find(&id) {
                return Ok(h);
            }
            if let Some(h) = self.0.edge.proxy(&id) {
                return Ok(h);
            }
            let lease: Option<String> = redis::cmd("GET")
                .arg(self.key("lease", &id))
                .query_async(&mut self.redis())
                .await
                .map_err(|e| unavailable(format!("the cluster cannot be reached: {e}")))?;
            let owner = lease.as_deref().map(|v| v.split('|').next().unwrap_or(v));
            match owner {
                None => {
                    if let Some(h) = self.take_over(&id).await? {
                        return Ok(h);
                    }
                    if lease.is_none() && !self.is_live(&id).await? {
                        return Err(not_found());
                    }
                }
                Some(node) if node == self.0.id => {
                    // Ours in Redis but not started here: a takeover in progress or lost.
                    if let Some(h) = self.take_over(&id).await? {
                        return Ok(h);
                    }
                }
                Some(node) if self.node_alive(node).await? => {
                    let info = match self.room_info(&id).await {
                        Some(info) => info,
                        None => self.stored_info(&id).await?,
                    };
                    return Ok(self.0.edge.open_proxy(self, &id, node, info));
                }
                Some(_) => {}
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(unavailable("the room is moving between nodes; try again"));
            }
            tokio::time::sleep(self.0.lease / 10).await;
        }
    }

    /// A room's facts from its stored creation (before its owner first published them).
    async fn stored_info(&self, id: &str) -> Result<RoomInfo, GameError> {
        let loaded = self.0.store.load(id).await.map_err(unavailable)?;
        let room = loaded
            .ok_or_else(|| GameError::new(ErrorCode::RoomNotFound, format!("no room {id:?}")))?
            .room;
        Ok(RoomInfo {
            id: room.id,
            code: room.code,
            game: room.game,
            public: room.public,
            max_players: room.max_players,
            max_spectators: room.max_spectators,
            players: 0,
            spectators: 0,
            status: arbiter_protocol::RoomStatus::Waiting,
            v: 0,
            locked: room.lock.is_some(),
            name: None,
            lang: room.lang,
            tags: room.tags,
            paused: false,
        })
    }

    /// Publish a room's facts for the cluster-wide list (and refresh them every tick).
    async fn publish_info(&self, handle: &RoomHandle) -> Result<(), redis::RedisError> {
        redis::cmd("HSET")
            .arg(format!("{}:rooms", self.0.prefix))
            .arg(handle.id())
            .arg(serde_json::to_string(&handle.info()).unwrap_or_default())
            .query_async(&mut self.redis())
            .await
    }

    async fn is_live(&self, id: &str) -> Result<bool, GameError> {
        let active = self.0.store.active().await.map_err(unavailable)?;
        Ok(active.iter().any(|r| r == id))
    }

    async fn node_alive(&self, node: &str) -> Result<bool, GameError> {
        let n: i64 = redis::cmd("EXISTS")
            .arg(self.key("node", node))
            .query_async(&mut self.redis())
            .await
            .map_err(unavailable)?;
        Ok(n == 1)
    }

    /// Answer once Redis answers a PING (readiness checks).
    pub(crate) async fn ping(&self) -> Result<(), redis::RedisError> {
        let _: String = redis::cmd("PING").query_async(&mut self.redis()).await?;
        Ok(())
    }

    /// The HTTP address of the node holding `room`'s lease, if another live node holds it.
    pub(crate) async fn owner_addr(&self, room: &str) -> Result<Option<String>, GameError> {
        let lease: Option<String> = redis::cmd("GET")
            .arg(self.key("lease", room))
            .query_async(&mut self.redis())
            .await
            .map_err(unavailable)?;
        let Some(lease) = lease else { return Ok(None) };
        let owner = lease.split('|').next().unwrap_or(&lease);
        if owner == self.0.id {
            return Ok(None);
        }
        let records = self.node_records().await.map_err(unavailable)?;
        Ok(records.into_iter().find(|r| r.id == owner).map(|r| r.addr))
    }

    /// A room's public facts, wherever it is served.
    pub(crate) async fn room_info(&self, id: &str) -> Option<RoomInfo> {
        if let Some(h) = self.0.rooms.find(id) {
            return Some(h.info());
        }
        let info: Option<String> = redis::cmd("HGET")
            .arg(format!("{}:rooms", self.0.prefix))
            .arg(id)
            .query_async(&mut self.redis())
            .await
            .ok()?;
        serde_json::from_str(&info?).ok()
    }

    /// Every room served in the cluster, as its owner last published it.
    pub(crate) async fn list(&self, public_only: bool) -> Result<Vec<RoomInfo>, GameError> {
        let all: HashMap<String, String> = redis::cmd("HGETALL")
            .arg(format!("{}:rooms", self.0.prefix))
            .query_async(&mut self.redis())
            .await
            .map_err(unavailable)?;
        let mut rooms: Vec<RoomInfo> = all
            .values()
            .filter_map(|v| serde_json::from_str::<RoomInfo>(v).ok())
            .filter(|r| r.public || !public_only)
            .collect();
        // This node's own rooms as they are now, not as of the last tick.
        let here = self.0.rooms.list(public_only);
        rooms.retain(|r| !here.iter().any(|h| h.id == r.id));
        rooms.extend(here);
        rooms.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(rooms)
    }

    /// `GET /api/v1/cluster`: the nodes and the leases they hold.
    pub(crate) async fn describe(&self) -> Result<Value, GameError> {
        let nodes = self.node_records().await.map_err(unavailable)?;
        let rooms: Vec<String> = redis::cmd("HKEYS")
            .arg(format!("{}:rooms", self.0.prefix))
            .query_async(&mut self.redis())
            .await
            .map_err(unavailable)?;
        let mut leases = Vec::new();
        if !rooms.is_empty() {
            let keys: Vec<String> = rooms.iter().map(|r| self.key("lease", r)).collect();
            let values: Vec<Option<String>> = redis::cmd("MGET")
                .arg(keys)
                .query_async(&mut self.redis())
                .await
                .map_err(unavailable)?;
            for (room, value) in rooms.into_iter().zip(values) {
                let Some(value) = value else { continue };
                let (node, fence) = value.split_once('|').unwrap_or((&value, "0"));
                leases.push(serde_json::json!({
                    "room": room,
                    "node": node,
                    "fence": fence.parse::<u64>().unwrap_or(0),
                }));
            }
        }
        Ok(serde_json::json!({
            "mode": "cluster",
            "node": self.0.id,
            "nodes": nodes,
            "leases": leases,
        }))
    }

    /// Hand every room served here to other nodes, one at a time: stop it (what it did is
    /// durable), give up its lease, and let the next sweep of another node take it over.
    /// New takeovers stop first.
    pub(crate) async fn drain(&self) {
        self.0.draining.store(true, Ordering::Relaxed);
        for room in self.0.rooms.ids() {
            self.0.rooms.hand_over(&room).await;
            lock(&self.0.owned).remove(&room);
            if let Err(e) = self.release(&room).await {
                tracing::warn!(%room, error = %e, "releasing the lease failed; it will lapse");
            }
        }
        let _: Result<i64, _> = redis::cmd("DEL")
            .arg(self.key("node", &self.0.id))
            .query_async(&mut self.redis())
            .await;
    }

    fn next_remote_id(&self) -> ConnId {
        self.0.remote_ids.fetch_add(1, Ordering::Relaxed)
    }
}

/// Resolves once `stop` turns true (or its sender is gone).
/// Count frames between nodes found lost, on this node's `side` (`owner` or `edge`).
fn bus_reset(side: &'static str) {
    counter!(CLUSTER_BUS_RESETS, "side" => side).increment(1);
}

async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every critical section here is a plain map update: a panic cannot leave it half done.
    m.lock().unwrap_or_else(|p| p.into_inner())
}
