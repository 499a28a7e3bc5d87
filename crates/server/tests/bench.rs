//! `arbiter bench` end to end: the real binary serves, the real load generator drives it over
//! sockets, and its JSON report accounts for every action and every update.

#![allow(clippy::unwrap_used)]

use serde_json::Value;
use std::process::{Command, Stdio};
use std::time::Duration;

#[tokio::test]
async fn the_load_generator_accounts_for_every_action_and_update() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let dir = std::env::temp_dir().join(format!("arbiter-bench-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut server = Command::new(env!("CARGO_BIN_EXE_arbiter"))
        .args(["serve", "--listen", &addr, "--database-url", "memory"])
        .arg("--data-dir")
        .arg(&dir)
        .args(["--log", "warn"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    // Readiness probe of a separate process: bounded, and the test fails if it never comes.
    let mut up = false;
    for _ in 0..400 {
        if tokio::net::TcpStream::connect(&addr).await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(up, "the server did not start");

    let report = dir.join("report.json");
    let (rooms, players, spectators) = (3u64, 2u64, 1u64);
    let out = tokio::task::spawn_blocking({
        let (addr, report, pid) = (addr.clone(), report.clone(), server.id());
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
