//! The README's SDK guide, run as written: each example's code block is taken out of README.md
//! (between its `<!-- sdk-example:NAME -->` markers), written to a temporary folder and run
//! against an emulator on 127.0.0.1:0 (its URL in `KUSTO_URL`); the rows must land in the
//! emulator's engine. Needs `KINGEST_PYTHON` and `KINGEST_NODE_MODULES` (prints SKIP without).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Env, peer};

/// The fenced code block between `<!-- sdk-example:NAME -->` and its closing marker.
fn example(name: &str) -> String {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let open = format!("<!-- sdk-example:{name} -->");
    let close = format!("<!-- /sdk-example:{name} -->");
    let start = readme
        .find(&open)
        .unwrap_or_else(|| panic!("no {open} in README.md"));
    let end = readme[start..]
        .find(&close)
        .unwrap_or_else(|| panic!("no {close} in README.md"));
    let block = &readme[start + open.len()..start + end];
    let body = block
        .trim()
        .strip_prefix("```")
        .and_then(|b| b.split_once('\n'))
        .map(|(_, rest)| rest)
        .and_then(|b| b.trim_end().strip_suffix("```"))
        .unwrap_or_else(|| panic!("{name}: the markers hold no fenced code block"));
    body.to_string()
}

/// Runs `program script events.csv` in a temporary folder against `env`'s emulator and checks
/// the file's rows landed.
async fn run_example(env: &Env, mut cmd: tokio::process::Command, script: &str, code: &str) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(script), code).unwrap();
    let csv = env.file("events.csv");
    let rows = std::fs::read_to_string(&csv)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count() as u64;
    let before = env.row_count("Events").await;
    let out = cmd
        .arg(script)
        .arg(&csv)
        .current_dir(dir.path())
        .env("KUSTO_URL", env.emulator.url())
        .output()
        .await
        .expect("the example's interpreter runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{script} failed ({:?})\nstdout: {stdout}\nstderr: {stderr}",
        out.status
    );
    assert_eq!(env.row_count("Events").await, before + rows, "{stdout}");
    assert!(
        stdout.contains(&format!("Events: {before} -> {} rows", before + rows)),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readme_python_example_ingests_into_the_emulator() {
    let code = example("python");
    let Some(python) = peer("KINGEST_PYTHON", "README python SDK example") else {
        return;
    };
    let env = Env::start().await;
    run_example(
        &env,
        tokio::process::Command::new(python),
        "ingest.py",
        &code,
    )
    .await;
    env.emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readme_node_example_ingests_into_the_emulator() {
    let code = example("node");
    let Some(modules) = peer("KINGEST_NODE_MODULES", "README node SDK example") else {
        return;
    };
    let env = Env::start().await;
    let mut node = tokio::process::Command::new("node");
    // The example's `require`s resolve in the SDK's install folder.
    node.env("NODE_PATH", modules);
    run_example(&env, node, "ingest.js", &code).await;
    env.emulator.shutdown().await;
}
