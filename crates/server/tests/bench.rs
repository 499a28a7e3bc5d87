//! `arbiter bench` end to end: the real binary serves, the real load generator drives it over
//! sockets, and its JSON report accounts for every action and every update.

#![allow(clippy::unwrap_used)]

mod support;

use serde_json::Value;
use std::process::{Command, Stdio};

#[tokio::test]
async fn the_load_generator_accounts_for_every_action_and_update() {
    let dir = std::env::temp_dir().join(format!("arbiter-bench-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut server = Command::new(env!("CARGO_BIN_EXE_arbiter"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            "memory",
        ])
        .arg("--data-dir")
        .arg(&dir)
        .args(["--log", "warn"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let addr = support::listening(&mut server, support::PATIENCE).await;

    let report = dir.join("report.json");
    let (rooms, players, spectators) = (3u64, 2u64, 1u64);
    let out = tokio::task::spawn_blocking({
        let (addr, report, pid) = (addr, report.clone(), server.id());
        move || {
            Command::new(env!("CARGO_BIN_EXE_arbiter"))
                .args(["bench", "--url", &format!("ws://{addr}/ws")])
                .args(["-R", &rooms.to_string(), "-C", &players.to_string()])
                .args(["-S", &spectators.to_string(), "-T", "50"])
                .args(["--warmup", "1", "-D", "1", "--drain", "3"])
                .args(["--server-pid", &pid.to_string(), "--format", "json"])
                .arg("--json")
                .arg(&report)
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    let _ = server.kill();
    let _ = server.wait();
    assert!(
        out.status.success(),
        "arbiter bench failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    std::fs::remove_dir_all(&dir).ok();

    let n = |path: &str| r.pointer(path).and_then(Value::as_u64).unwrap();
    assert_eq!(n("/connections"), rooms * (players + spectators));
    // `acks` and `actions_sent` count the warm-up too; the latency histograms hold the
    // actions sent in the measured window, every one of them answered (`unanswered` is 0).
    let measured = n("/ack_latency/count");
    assert!(measured > 0, "{r}");
    assert!(n("/acks") >= measured && n("/actions_sent") >= n("/acks"));
    assert_eq!(
        n("/update_latency/count"),
        measured * (players + spectators),
        "each measured action's update timed at every member of its room"
    );
    assert_eq!(
        (n("/errors"), n("/disconnects"), n("/unanswered")),
        (0, 0, 0)
    );
    assert_eq!(n("/server/pid"), u64::from(server.id()));
    assert!(n("/server/rss_end_kb") > 0, "the server's /proc was read");
}
