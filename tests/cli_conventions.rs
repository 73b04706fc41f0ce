//! The command line's conventions: every option has help text, options appear only on the
//! commands they affect, shell completions, `--json` refused where there is none, `--quiet` and
//! `--verbose`, and stdout that ends quietly when its reader goes away.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{BufRead as _, Read as _};
use std::process::Stdio;

use clap::CommandFactory as _;
use common::{Env, kingest, kingest_at, kingest_command};
use kingest::cli::Cli;

const SUBCOMMANDS: [&str; 12] = [
    "resources",
    "submit",
    "resubmit",
    "status",
    "failures",
    "successes",
    "mgmt",
    "bulk",
    "emulator",
    "demo",
    "gateway",
    "completions",
];

/// `(path, command)` for every command of the tree, the root first.
fn walk(cmd: &clap::Command, path: String, out: &mut Vec<(String, clap::Command)>) {
    out.push((path.clone(), cmd.clone()));
    // clap's own `help` subcommands take no options.
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        walk(sub, format!("{path} {}", sub.get_name()), out);
    }
}

fn tree() -> Vec<(String, clap::Command)> {
    let mut root = Cli::command();
    root.build();
    let mut out = Vec::new();
    walk(&root, "kingest".into(), &mut out);
    out
}

fn has_arg(cmd: &clap::Command, long: &str) -> bool {
    cmd.get_arguments().any(|a| a.get_long() == Some(long))
}

#[test]
fn every_option_has_help_text() {
    let mut missing = Vec::new();
    for (path, cmd) in tree() {
        for a in cmd.get_arguments().filter(|a| !a.is_hide_set()) {
            if a.get_help().is_none() && a.get_long_help().is_none() {
                missing.push(format!("{path}: {}", a.get_id()));
            }
        }
        if path != "kingest" && cmd.get_about().is_none() {
            missing.push(format!("{path}: (the command itself)"));
        }
    }
    assert!(missing.is_empty(), "arguments without help: {missing:#?}");
}

#[test]
fn connection_and_tui_flags_appear_only_where_they_apply() {
    let cluster = [
        "kingest",
        "kingest resources",
        "kingest submit",
        "kingest resubmit",
        "kingest check",
        "kingest status",
        "kingest failures peek",
        "kingest failures discard",
        "kingest failures explain",
        "kingest successes peek",
        "kingest successes discard",
        "kingest successes explain",
        "kingest failures scan",
        "kingest failures history",
        "kingest failures ack",
        "kingest successes scan",
        "kingest successes history",
        "kingest successes ack",
        "kingest mgmt",
        "kingest bulk",
        "kingest bulk status",
        "kingest bulk cancel",
        "kingest gateway",
        "kingest config init",
        "kingest config show",
    ];
    for (path, cmd) in tree() {
        let talks = cluster.contains(&path.as_str());
        for flag in [
            "cluster",
            "ingest-url",
            "tenant-id",
            "auth",
            "token",
            "context",
        ] {
            assert_eq!(has_arg(&cmd, flag), talks, "{path} --{flag}");
        }
        let tui = path == "kingest" || path == "kingest demo";
        for flag in ["read-only", "mouse"] {
            assert_eq!(has_arg(&cmd, flag), tui, "{path} --{flag}");
        }
        for flag in ["json", "quiet", "verbose", "config"] {
            assert!(has_arg(&cmd, flag), "{path} lacks --{flag}");
        }
    }
    // What a user reads: the emulator's help names none of the client's flags, and a
    // command that talks to a cluster groups them under headings.
    let mut root = Cli::command();
    root.build();
    let help = root
        .find_subcommand_mut("emulator")
        .unwrap()
        .render_long_help()
        .to_string();
    for flag in [
        "--cluster",
        "--tenant-id",
        "--read-only",
        "--mouse",
        "--context",
    ] {
        assert!(
            !help.contains(flag),
            "emulator --help shows {flag}:\n{help}"
        );
    }
    let help = root
        .find_subcommand_mut("resources")
        .unwrap()
        .render_help()
        .to_string();
    for heading in [
        "Connection:",
        "Authentication:",
        "Output:",
        "Configuration:",
    ] {
        assert!(
            help.contains(heading),
            "resources --help lacks {heading}:\n{help}"
        );
    }
}

#[test]
fn submit_and_bulk_share_one_set_of_target_flags() {
    let root = Cli::command();
    let help_of = |path: &[&str], long: &str| {
        let mut cmd = &root;
        for p in path {
            cmd = cmd.find_subcommand(p).unwrap();
        }
        let a = cmd
            .get_arguments()
            .find(|a| a.get_long() == Some(long))
            .unwrap_or_else(|| panic!("{path:?} lacks --{long}"));
        (a.get_short(), a.get_help().map(ToString::to_string))
    };
    for long in [
        "database",
        "table",
        "format",
        "mapping-ref",
        "ignore-first-record",
        "property",
    ] {
        assert_eq!(
            help_of(&["submit"], long),
            help_of(&["bulk"], long),
            "--{long}"
        );
    }
}

fn run(args: &[&str]) -> std::process::Output {
    let home = tempfile::tempdir().unwrap();
    kingest_command("http://127.0.0.1:9", home.path())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

fn installed(tool: &str) -> bool {
    std::process::Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn completions_name_every_command_and_parse_in_their_shell() {
    let dir = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let out = run(&["completions", shell]);
        assert_eq!(out.status.code(), Some(0), "{shell}: {out:?}");
        let script = String::from_utf8(out.stdout).unwrap();
        for sub in SUBCOMMANDS {
            assert!(script.contains(sub), "{shell} script lacks {sub}");
        }
        let checker = match shell {
            "bash" => Some("bash"),
            "zsh" => Some("zsh"),
            "fish" => Some("fish"),
            _ => None,
        };
        if let Some(tool) = checker.filter(|t| installed(t)) {
            let file = dir.path().join(format!("kingest.{shell}"));
            std::fs::write(&file, &script).unwrap();
            let check = std::process::Command::new(tool)
                .arg("-n")
                .arg(&file)
                .output()
                .unwrap();
            assert!(
                check.status.success(),
                "{tool} -n: {}",
                String::from_utf8_lossy(&check.stderr)
            );
        }
    }
    let bad = run(&["completions", "tcsh"]);
    assert_eq!(bad.status.code(), Some(2), "{bad:?}");
}

#[test]
fn json_where_a_command_has_none_and_quiet_with_verbose_are_usage_errors() {
    for args in [
        &["completions", "bash", "--json"][..],
        &["--json"],
        &["demo", "--headless", "--json"],
    ] {
        let out = run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--json is not offered"), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    let out = run(&["-q", "-v", "resources"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--quiet"));
}

#[test]
fn emulator_json_prints_its_urls_as_the_first_line() {
    let home = tempfile::tempdir().unwrap();
    let mut child = kingest_command("http://127.0.0.1:9", home.path())
        .args(["emulator", "--listen", "127.0.0.1:0", "--json"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    let url = v["url"].as_str().unwrap();
    assert!(url.starts_with("http://127.0.0.1:"), "{line}");
    assert_eq!(v["ingest_url"], v["url"]);
}

#[test]
fn a_closed_pipe_ends_the_output_quietly() {
    let dir = tempfile::tempdir().unwrap();
    // Far more than a pipe holds (64 KiB on Linux): the writer must meet the closed pipe.
    for i in 0..3000 {
        std::fs::write(
            dir.path().join(format!("file-{i:05}-padding-padding.csv")),
            "a\n",
        )
        .unwrap();
    }
    for json in [false, true] {
        let mut args = vec!["submit", "--list-only", dir.path().to_str().unwrap()];
        if json {
            args.push("--json");
        }
        let home = tempfile::tempdir().unwrap();
        let mut child = kingest_command("http://127.0.0.1:9", home.path())
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = [0u8; 64];
        child.stdout.take().unwrap().read_exact(&mut first).unwrap();
        // The reader is gone now (dropped), as `| head -c 64` leaves it.
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "json {json}: {err}");
        assert!(!err.contains("failed printing"), "json {json}: {err}");
        assert!(!err.contains("Broken pipe"), "json {json}: {err}");
        assert_eq!(out.status.code(), Some(0), "json {json}: {err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quiet_keeps_only_data_and_verbose_raises_kingest_logging() {
    let env = Env::start().await;
    let file = env.file("events.csv");
    let file = file.to_str().unwrap();
    let submit = [
        "submit",
        file,
        "-d",
        "demo",
        "-t",
        "Events",
        "--mode",
        "managed",
        "--flush",
        "--wait=60",
    ];
    let plain = kingest(&env, &submit).await;
    assert_eq!(plain.status.code(), Some(0), "{plain:?}");
    let plain_err = String::from_utf8_lossy(&plain.stderr).to_string();
    assert!(
        !plain_err.contains("managed: queued ingestion"),
        "{plain_err}"
    );
    assert!(
        !plain_err.is_empty(),
        "without -q the wait prints its progress"
    );

    let quiet = kingest(&env, &[&["-q"][..], &submit].concat()).await;
    assert_eq!(quiet.status.code(), Some(0), "{quiet:?}");
    assert!(!quiet.stdout.is_empty(), "the data stays");
    assert_eq!(String::from_utf8_lossy(&quiet.stderr), "", "no notices");

    let verbose = kingest_at(
        env.emulator.url(),
        &env.dir.path().join("home"),
        &[&submit[..], &["-v"]].concat(),
    )
    .await;
    assert_eq!(verbose.status.code(), Some(0), "{verbose:?}");
    let err = String::from_utf8_lossy(&verbose.stderr);
    assert!(err.contains("managed: queued ingestion"), "{err}");
    assert!(
        !err.contains("sig="),
        "a SAS signature reached the log: {err}"
    );
}
