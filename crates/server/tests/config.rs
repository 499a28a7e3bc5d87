//! The configuration as an operator meets it: the real binary reads a file, the environment
//! and flags (`arbiter config check`, `arbiter serve`), and the documentation says what the
//! code does.

#![allow(clippy::unwrap_used)]

use arbiter_server::Rate;
use arbiter_server::config::{self, Config, Durability, LogFormat, ServeArgs};
use clap::Args;
use std::collections::BTreeSet;
use std::io::BufRead;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// A hang guard for the one test that waits on a server; loopback answers in milliseconds.
const PATIENCE: Duration = Duration::from_secs(120);

/// The repository's `docs/` directory.
fn docs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs")
}

/// A fresh directory for one test's files.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("arbiter-config-{test}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `arbiter` with `args`, and `env` as its only `ARBITER_*` variables.
fn arbiter(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_arbiter"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("ARBITER_") {
            command.env_remove(name);
        }
    }
    command.args(args).envs(env.iter().copied());
    command
}

/// `arbiter config check ARGS`: the configuration it prints, or its error and exit code.
fn check(args: &[&str], env: &[(&str, &str)]) -> Result<String, (Option<i32>, String)> {
    let Output {
        status,
        stdout,
        stderr,
    } = arbiter(&[&["config", "check"], args].concat(), env)
        .output()
        .unwrap();
    if status.success() {
        Ok(String::from_utf8(stdout).unwrap())
    } else {
        Err((status.code(), String::from_utf8(stderr).unwrap()))
    }
}

/// The value `key` has in `config check`'s TOML output.
fn value_of(printed: &str, key: &str) -> toml::Value {
    let table: toml::Table = printed.parse().unwrap();
    table
        .get(key)
        .cloned()
        .unwrap_or_else(|| panic!("no {key} in\n{printed}"))
}

#[test]
fn each_layer_overrides_the_one_below() {
    let dir = scratch("layers");
    let file = dir.join("arbiter.toml");
    std::fs::write(&file, "lease_ms = 1000\n").unwrap();
    let file = file.to_str().unwrap();
    let lease = |args: &[&str], env: &[(&str, &str)]| {
        value_of(&check(args, env).unwrap(), "lease_ms")
            .as_integer()
            .unwrap()
    };

    assert_eq!(lease(&[], &[]), 3000, "the default");
    assert_eq!(
        lease(&["--config", file], &[]),
        1000,
        "the file over the default"
    );
    assert_eq!(
        lease(&[], &[("ARBITER_CONFIG", file)]),
        1000,
        "the file named by ARBITER_CONFIG"
    );
    let env = [("ARBITER_LEASE_MS", "2000")];
    assert_eq!(
        lease(&["--config", file], &env),
        2000,
        "the environment over the file"
    );
    assert_eq!(
        lease(&["--config", file, "--lease-ms", "4000"], &env),
        4000,
        "the flag over the environment"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_bad_value_is_named_by_file_line_column_and_key() {
    let dir = scratch("bad-value");
    let file = dir.join("bad.toml");
    std::fs::write(
        &file,
        "# A node.\nlisten = \"0.0.0.0:7878\"\nlease_ms = \"soon\"\n",
    )
    .unwrap();

    let (code, err) = check(&["--config", file.to_str().unwrap()], &[]).unwrap_err();
    assert_eq!(code, Some(1), "{err}");
    let at = format!("{}:3:12: `lease_ms`: invalid type", file.display());
    assert!(err.contains(&at), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn an_unknown_key_is_refused_by_name() {
    let dir = scratch("unknown-key");
    let file = dir.join("typo.toml");
    std::fs::write(&file, "lease_ms = 1000\nlease_msec = 1000\n").unwrap();

    let (code, err) = check(&["--config", file.to_str().unwrap()], &[]).unwrap_err();
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains(&format!("{}:2:1:", file.display())), "{err}");
    assert!(err.contains("unknown field `lease_msec`"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn secrets_are_printed_redacted() {
    let dir = scratch("redacted");
    let file = dir.join("cluster.toml");
    std::fs::write(
        &file,
        "secret = \"token-signing-secret-1\"\n\
         database_url = \"postgres://arbiter:db-password-2@db:5432/arbiter\"\n\
         redis = \"redis://:redis-password-3@cache:6379\"\n",
    )
    .unwrap();
    let env = [
        ("ARBITER_ADMIN_TOKEN", "admin-token-secret-4"),
        (
            "ARBITER_JWT_HS256_SECRET",
            "jwt-shared-secret-5-jwt-shared-secret",
        ),
    ];

    let printed = check(&["--config", file.to_str().unwrap()], &env).unwrap();
    for secret in [
        "token-signing-secret-1",
        "db-password-2",
        "redis-password-3",
        "admin-token-secret-4",
        "jwt-shared-secret-5",
    ] {
        assert!(!printed.contains(secret), "{secret} printed:\n{printed}");
    }
    assert_eq!(value_of(&printed, "secret").as_str(), Some("<redacted>"));
    assert_eq!(
        value_of(&printed, "admin_token").as_str(),
        Some("<redacted>")
    );
    assert_eq!(
        value_of(&printed, "jwt_hs256_secret").as_str(),
        Some("<redacted>")
    );
    assert_eq!(
        value_of(&printed, "database_url").as_str(),
        Some("postgres://arbiter:<redacted>@db:5432/arbiter")
    );
    assert_eq!(
        value_of(&printed, "redis").as_str(),
        Some("redis://:<redacted>@cache:6379")
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn what_serve_would_refuse_config_check_refuses() {
    let refused = |args: &[&str], env: &[(&str, &str)]| {
        let (code, err) = check(args, env).unwrap_err();
        assert_eq!(code, Some(1), "{err}");
        err
    };
    let err = refused(&[], &[("ARBITER_SECRET", "short")]);
    assert!(
        err.contains("`secret`") && err.contains("at least 16"),
        "{err}"
    );
    assert!(
        !err.contains("short"),
        "the secret itself is not repeated: {err}"
    );
    let err = refused(&["--admin-token", "short"], &[]);
    assert!(err.contains("`admin_token`"), "{err}");
    let err = refused(&["--lease-ms", "100"], &[]);
    assert!(err.contains("`lease_ms`") && err.contains("300"), "{err}");
    let err = refused(&["--redis", "redis://127.0.0.1:1"], &[]);
    assert!(err.contains("needs a PostgreSQL database"), "{err}");
    let err = refused(&["--log", "info,[[["], &[]);
    assert!(err.contains("`log`"), "{err}");
    let err = refused(&["--jwt-hs256-secret", "sixteen-chars-ok"], &[]);
    assert!(
        err.contains("`jwt_hs256_secret`") && err.contains("32"),
        "{err}"
    );
    let err = refused(&["--jwt-jwks-url", "http://auth.example.com/jwks"], &[]);
    assert!(
        err.contains("`jwt_jwks_url`") && err.contains("loopback"),
        "{err}"
    );
}

#[test]
fn the_example_file_passes_and_shows_every_option() {
    let example = docs().join("arbiter.example.toml");
    let printed = check(&["--config", example.to_str().unwrap()], &[]).unwrap();
    assert_eq!(value_of(&printed, "log_format").as_str(), Some("json"));

    let text = std::fs::read_to_string(&example).unwrap();
    for key in option_keys() {
        let shown = text.lines().any(|line| {
            let line = line.trim_start_matches(['#', ' ']);
            line.starts_with(&format!("{key} ="))
        });
        assert!(shown, "docs/arbiter.example.toml does not show `{key}`");
    }
}

#[test]
fn the_documented_table_is_the_generated_one() {
    const BEGIN: &str = "<!-- Generated by `arbiter config docs`";
    const END: &str = "<!-- End of the generated table. -->";
    let doc = std::fs::read_to_string(docs().join("configuration.md")).unwrap();
    let table = doc
        .split_once(BEGIN)
        .and_then(|(_, rest)| rest.split_once('\n'))
        .and_then(|(_, rest)| rest.split_once(END))
        .map(|(table, _)| table)
        .expect("docs/configuration.md has the generated table's markers");
    assert!(
        table == config::reference(),
        "docs/configuration.md's option table is out of date: replace the lines between its \
         markers with the output of `cargo run -q -p arbiter-server -- config docs`"
    );
}

/// Every option's key, from a `Config` that sets them all (written out field by field, so an
/// option added to `Config` does not compile here until it is added).
fn option_keys() -> BTreeSet<String> {
    let every_option_set = Config {
        listen: SocketAddr::from(([127, 0, 0, 1], 1)),
        data_dir: PathBuf::from("data"),
        database_url: Some("memory".into()),
        durability: Durability::Relaxed,
        snapshot_every: 1,
        secret: Some("s".into()),
        token_lifetime_secs: 1,
        key_rotation_secs: 1,
        key_grace_secs: 1,
        jwt_hs256_secret: Some("j".into()),
        jwt_jwks_file: Some(PathBuf::from("jwks.json")),
        jwt_jwks_url: Some("http://127.0.0.1:1/jwks".into()),
        jwt_issuer: Some("i".into()),
        jwt_audience: Some("a".into()),
        jwt_player_claim: "sub".into(),
        jwt_name_claim: "name".into(),
        jwt_leeway_secs: 1,
        max_frame: 1,
        outbox_frames: 1,
        outbox_bytes: 1,
        heartbeat_timeout_secs: 1,
        max_rooms: 1,
        room_empty_secs: 1,
        room_idle_secs: 1,
        seat_grace_secs: 1,
        allow_seeded_rooms: true,
        allow_origin: vec!["*".into()],
        rate_act: Rate::OFF,
        rate_chat: Rate::OFF,
        rate_join: Rate::OFF,
        rate_other: Rate::OFF,
        rate_strikes: Rate::OFF,
        rate_read_kib: Rate::OFF,
        rate_http: Rate::OFF,
        rate_connect: Rate::OFF,
        max_connections: 1,
        max_connections_per_ip: 1,
        max_connections_per_player: 1,
        trusted_proxies: vec!["10.0.0.0/8".parse().unwrap()],
        header_timeout_secs: 1,
        hello_timeout_secs: 1,
        max_rooms_per_player: 1,
        max_config_bytes: 1,
        max_json_depth: 1,
        redis: Some("redis://r".into()),
        redis_prefix: "p".into(),
        lease_ms: 1,
        node_id: Some("n".into()),
        metrics: false,
        admin_token: Some("t".into()),
        log: "warn".into(),
        log_format: LogFormat::Json,
    };
    toml::Table::try_from(every_option_set)
        .unwrap()
        .keys()
        .cloned()
        .collect()
}

#[test]
fn every_option_has_a_flag_and_a_variable_named_after_its_key() {
    let serve = ServeArgs::augment_args(clap::Command::new("serve"));
    let mut flagged = BTreeSet::new();
    for arg in serve.get_arguments() {
        let id = arg.get_id().as_str();
        let long = arg.get_long().unwrap();
        assert_eq!(long, id.replace('_', "-"), "the flag of `{id}`");
        if id.starts_with("no_") {
            continue;
        }
        let env = arg.get_env().unwrap().to_str().unwrap();
        assert_eq!(
            env,
            format!("ARBITER_{}", id.to_uppercase()),
            "the variable of `{id}`"
        );
        if id != "config" {
            flagged.insert(id.to_owned());
        }
    }
    assert_eq!(flagged, option_keys());
}

#[test]
fn serve_runs_with_the_file() {
    let dir = scratch("serve");
    let file = dir.join("arbiter.toml");
    std::fs::write(
        &file,
        format!(
            "listen = \"127.0.0.1:0\"\ndata_dir = {:?}\ndatabase_url = \"memory\"\n\
             log = \"info\"\nlog_format = \"json\"\n",
            dir.join("data").to_str().unwrap()
        ),
    )
    .unwrap();
    let mut server = arbiter(&["serve", "--config", file.to_str().unwrap()], &[])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = server.stdout.take().unwrap();
    let (tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });

    let mut logged = Vec::new();
    let addr = loop {
        let line = lines.recv_timeout(PATIENCE).unwrap();
        match line.strip_prefix("Arbiter is listening on http://") {
            Some(addr) => break addr.trim_end_matches('/').to_owned(),
            None => logged.push(line),
        }
    };
    let _ = server.kill();
    let _ = server.wait();
    assert!(
        addr.starts_with("127.0.0.1:") && !addr.ends_with(":0"),
        "{addr}"
    );
    let events: Vec<serde_json::Value> = logged
        .iter()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    assert!(
        events
            .iter()
            .any(|event| event["fields"]["message"] == "arbiter listening"),
        "{logged:?}"
    );
    std::fs::remove_dir_all(&dir).ok();
}
