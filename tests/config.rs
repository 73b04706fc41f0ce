//! The config file through the `kingest` binary: every file under `tests/config/valid/` loads
//! and `config show --json` gives the values its `# expect:` lines name (with `# expect: origin
//! KEY = …` for where one came from); every file under `tests/config/invalid/` exits 2 with
//! its name and each `# error:` fragment (the line and the key) on stderr. `# absent:` text
//! (secrets) must appear nowhere. Then `config init|show|path|use`, `--context`, and a context
//! used against the emulator.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use assert_cmd::cargo::CommandCargoExt;
use serde_json::Value;

/// `kingest ARGS` with a private HOME / XDG_CONFIG_HOME and no KINGEST_* from the caller.
fn kingest(home: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::cargo_bin("kingest").unwrap();
    for (k, _) in std::env::vars() {
        if k.starts_with("KINGEST_") || k.starts_with("AZURE_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("xdg"))
        .env("XDG_DATA_HOME", home.join("data"))
        .args(args)
        .output()
        .unwrap()
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn cases(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/config")
        .join(kind);
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 5, "{kind}: {files:?}");
    files
}

/// The text after `# TAG:` on each line of `file` that has it.
fn directives(file: &Path, tag: &str) -> Vec<String> {
    let prefix = format!("# {tag}:");
    std::fs::read_to_string(file)
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_prefix(&prefix).map(|v| v.trim().to_string()))
        .collect()
}

fn show_json(home: &Path, file: &Path) -> Value {
    let out = kingest(
        home,
        &[
            "--config",
            file.to_str().unwrap(),
            "config",
            "show",
            "--json",
        ],
    );
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{}: {stderr}", file.display());
    serde_json::from_str(&stdout).unwrap()
}

fn value<'a>(show: &'a Value, key: &str) -> Option<&'a Value> {
    show["values"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["key"] == key)
}

#[test]
fn every_valid_config_gives_the_values_it_expects() {
    let home = tempfile::tempdir().unwrap();
    for file in cases("valid") {
        let show = show_json(home.path(), &file);
        let expects = directives(&file, "expect");
        assert!(
            !expects.is_empty(),
            "{}: no # expect: lines",
            file.display()
        );
        for e in expects {
            let (key, want) = e.split_once(" = ").unwrap();
            let (field, key) = match key.strip_prefix("origin ") {
                Some(k) => ("origin", k),
                None => ("value", key),
            };
            let got = value(&show, key).unwrap_or_else(|| panic!("{}: no {key}", file.display()));
            assert_eq!(got[field], want, "{}: {key}", file.display());
        }
        let all = show.to_string();
        for secret in directives(&file, "absent") {
            assert!(!all.contains(&secret), "{}: {secret} shown", file.display());
        }
    }
}

#[test]
fn every_invalid_config_names_its_file_line_and_key() {
    let home = tempfile::tempdir().unwrap();
    for file in cases("invalid") {
        let fragments = directives(&file, "error");
        assert!(
            !fragments.is_empty(),
            "{}: no # error: lines",
            file.display()
        );
        // The same error whatever the command (show here, a service command below).
        for args in [&["config", "show"][..], &["resources"][..]] {
            let mut all = vec!["--config", file.to_str().unwrap()];
            all.extend_from_slice(args);
            let out = kingest(home.path(), &all);
            let (stdout, stderr) = text(&out);
            assert_eq!(out.status.code(), Some(2), "{}: {stderr}", file.display());
            let name = file.file_name().unwrap().to_str().unwrap();
            assert!(stderr.contains(name), "{}: {stderr}", file.display());
            for f in &fragments {
                assert!(
                    stderr.contains(f.as_str()),
                    "{}: want {f:?} in {stderr}",
                    file.display()
                );
            }
            for secret in directives(&file, "absent") {
                assert!(
                    !stderr.contains(&secret) && !stdout.contains(&secret),
                    "{stderr}"
                );
            }
        }
    }
}

#[test]
fn path_follows_xdg_home_and_the_override() {
    let home = tempfile::tempdir().unwrap();
    let xdg = home.path().join("xdg/kingest/config.toml");
    let out = kingest(home.path(), &["config", "path"]);
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout.starts_with(&xdg.display().to_string()), "{stdout}");
    assert!(stdout.contains("does not exist"), "{stdout}");
    // No XDG_CONFIG_HOME: ~/.config.
    let out = Command::cargo_bin("kingest")
        .unwrap()
        .env("HOME", home.path())
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("KINGEST_CONFIG")
        .args(["config", "path", "--json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["path"],
        home.path()
            .join(".config/kingest/config.toml")
            .display()
            .to_string()
    );
    // KINGEST_CONFIG wins, and an existing file says so.
    let other = home.path().join("other.toml");
    std::fs::write(&other, "").unwrap();
    let out = Command::cargo_bin("kingest")
        .unwrap()
        .env("HOME", home.path())
        .env("KINGEST_CONFIG", &other)
        .args(["config", "path", "--json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (v["path"].as_str(), v["exists"].as_bool()),
        (other.to_str(), Some(true))
    );
}

#[test]
fn init_writes_a_starter_refuses_to_overwrite_and_use_keeps_comments() {
    let home = tempfile::tempdir().unwrap();
    let cfg = home.path().join("xdg/kingest/config.toml");
    let out = kingest(
        home.path(),
        &[
            "config",
            "init",
            "--cluster",
            "https://mycluster.westeurope.kusto.windows.net",
            "--context",
            "prod",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
    let written = std::fs::read_to_string(&cfg).unwrap();
    assert!(
        written.contains("default_context = \"prod\"") && written.contains("[contexts.prod]"),
        "{written}"
    );
    assert!(
        written.contains("# auth = \"auto\""),
        "commented reference: {written}"
    );
    // Refused again unless --force.
    let again = kingest(home.path(), &["config", "init"]);
    assert_eq!(again.status.code(), Some(2));
    assert!(text(&again).1.contains("--force"));
    assert_eq!(std::fs::read_to_string(&cfg).unwrap(), written);
    // The written file resolves: show names the context and the derived ingest URL.
    let show = show_json(home.path(), &cfg);
    assert_eq!(value(&show, "context").unwrap()["value"], "prod");
    assert_eq!(value(&show, "context").unwrap()["origin"], "file");
    assert_eq!(
        value(&show, "ingest_url").unwrap()["value"],
        "https://ingest-mycluster.westeurope.kusto.windows.net"
    );
    assert_eq!(
        value(&show, "ingest_url").unwrap()["origin"],
        "context prod"
    );

    // `use` keeps comments and layout; only default_context changes.
    let hand = "# my clusters\ndefault_context = \"a\" # the usual one\n\n[contexts.a]\n# local\ningest_url = \"http://127.0.0.1:1\"\n\n[contexts.b]\ningest_url = \"http://127.0.0.1:2\"\n";
    std::fs::write(&cfg, hand).unwrap();
    let out = kingest(home.path(), &["config", "use", "b"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
    let after = std::fs::read_to_string(&cfg).unwrap();
    assert_eq!(
        after,
        hand.replace("\"a\" # the usual", "\"b\" # the usual")
    );
    let out = kingest(home.path(), &["config", "use", "c"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr.contains("unknown context 'c'") && stderr.contains("defined: a, b"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&cfg).unwrap(), after);
}

#[test]
fn show_tells_env_and_flags_apart_and_context_picks_one() {
    let home = tempfile::tempdir().unwrap();
    let cfg = home.path().join("c.toml");
    std::fs::write(
        &cfg,
        "default_context = \"a\"\n[contexts.a]\ningest_url = \"http://127.0.0.1:1\"\n[contexts.b]\ningest_url = \"http://127.0.0.1:2\"\nproduction = true\n",
    )
    .unwrap();
    let c = cfg.to_str().unwrap();
    let show = |extra: &[&str], env: Option<(&str, &str)>| {
        let mut cmd = Command::cargo_bin("kingest").unwrap();
        cmd.env("HOME", home.path())
            .env_remove("KINGEST_CONTEXT")
            .env_remove("KINGEST_INGEST_URL");
        if let Some((k, v)) = env {
            cmd.env(k, v);
        }
        let out = cmd
            .args(["--config", c, "config", "show", "--json"])
            .args(extra)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    let v = show(&["--context", "b"], None);
    assert_eq!(value(&v, "context").unwrap()["origin"], "flag --context");
    assert_eq!(value(&v, "production").unwrap()["value"], "true");
    let v = show(&[], Some(("KINGEST_CONTEXT", "b")));
    assert_eq!(
        value(&v, "context").unwrap()["origin"],
        "env KINGEST_CONTEXT"
    );
    let v = show(
        &["--profile", "b", "--ingest-url", "http://127.0.0.1:3"],
        None,
    );
    assert_eq!(
        value(&v, "ingest_url").unwrap()["value"],
        "http://127.0.0.1:3"
    );
    assert_eq!(
        value(&v, "ingest_url").unwrap()["origin"],
        "flag --ingest-url"
    );
    // An unknown context is a usage error listing the defined ones, for any command.
    let out = kingest(
        home.path(),
        &["--config", c, "--context", "zzz", "resources"],
    );
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr.contains("unknown context 'zzz'") && stderr.contains("defined: a, b"),
        "{stderr}"
    );
}

#[test]
fn connection_string_flag_secrets_never_reach_the_output() {
    let home = tempfile::tempdir().unwrap();
    let key = "flag-app-key-0123456789";
    let cs = format!(
        "Data Source=https://ingest-x.kusto.windows.net;Initial Catalog=Db;AppClientId=app;AppKey={key};Authority Id=t"
    );
    let out = kingest(home.path(), &["--cluster", &cs, "config", "show"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stdout.contains("client secret") && stdout.contains("Db"),
        "{stdout}"
    );
    assert!(!stdout.contains(key) && !stderr.contains(key));
    // A bad keyword names it, not the secret.
    let bad = format!("{cs};Colour=1");
    let out = kingest(home.path(), &["--cluster", &bad, "resources"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr.contains("--cluster") && stderr.contains("'Colour'"),
        "{stderr}"
    );
    assert!(!stdout.contains(key) && !stderr.contains(key));
}

/// A context's endpoint, database and table reach a real command (the emulator).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_context_supplies_endpoint_database_and_table() {
    let env = common::Env::start().await;
    let cfg = env.dir.path().join("kingest.toml");
    std::fs::write(
        &cfg,
        format!(
            "default_context = \"elsewhere\"\n[contexts.elsewhere]\ningest_url = \"http://127.0.0.1:9\"\n[contexts.local]\ningest_url = \"Data Source={};Initial Catalog=demo;Fed=False\"\ntable = \"Events\"\n",
            env.emulator.url()
        ),
    )
    .unwrap();
    let good = env.file("events.csv");
    let (cfg, good, home) = (cfg.clone(), good.clone(), env.dir.path().join("home"));
    let out = tokio::task::spawn_blocking(move || {
        kingest(
            &home,
            &[
                "--config",
                cfg.to_str().unwrap(),
                "--context",
                "local",
                "submit",
                good.to_str().unwrap(),
                "--flush",
                "--wait=60",
                "--json",
            ],
        )
    })
    .await
    .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let line: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(
        (line["database"].as_str(), line["table"].as_str()),
        (Some("demo"), Some("Events"))
    );
    assert_eq!(line["status"], "Succeeded");
    env.emulator.shutdown().await;
}
