//! `:ctx NAME` in the real runner (`runtime::run_sessions` with `tui::switcher`): two emulators,
//! a config with a context for each, the switch in one terminal; a failed switch and a
//! production context keep the current one.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::Env;
use crossterm::event::KeyCode;
use kingest::cli::args::Connection;
use kingest::runtime::clock::Clock;
use kingest::runtime::{Session, run_sessions};

/// Contexts `a` and `b` on the two emulators, `prod` (production) on b, `bad` without an endpoint.
fn config(a: &Env, b: &Env) -> String {
    let state = a.dir.path().join("state");
    format!(
        concat!(
            "default_context = \"a\"\n",
            "state_dir = {state:?}\n",
            "[contexts.a]\ningest_url = \"{a}\"\nauth = \"none\"\n",
            "[contexts.b]\ningest_url = \"{b}\"\nauth = \"none\"\n",
            "[contexts.prod]\ningest_url = \"{b}\"\nauth = \"none\"\nproduction = true\n",
            "[contexts.bad]\ndatabase = \"NoEndpoint\"\n",
        ),
        state = state.display().to_string(),
        a = a.client.ingest_url(),
        b = b.client.ingest_url(),
    )
}

/// Runs the TUI as `kingest` would for `conn` and the config text, driven by `script`.
async fn run<F, Fut>(conn: Connection, text: &str, script: F) -> kingest::app::state::State
where
    F: FnOnce(common::tui::Driver) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let file = kingest::config::parse(text).unwrap();
    let resolved = kingest::cli::resolve::resolve(&conn, false, &file).unwrap();
    let mut opts = kingest::tui::options(&resolved);
    opts.color = Some(false);
    let first = Session {
        client: resolved.client().unwrap(),
        opts,
        note: None,
    };
    let switcher = kingest::tui::switcher(resolved);
    let (mut terminal, driver, mut events) = common::tui::terminal(140, 44);
    let ui = async {
        run_sessions(
            &mut terminal,
            &mut events,
            first,
            None,
            Some(&switcher),
            Clock::system(),
            false,
        )
        .await
        .expect("the loop ends cleanly")
    };
    let (end, ()) = tokio::join!(ui, script(driver));
    end
}

/// Types `line` at the `:` prompt and runs it.
fn command(d: &common::tui::Driver, line: &str) {
    d.key(KeyCode::Char(':'));
    d.text(line);
    d.key(KeyCode::Enter);
}

fn port(env: &Env) -> String {
    env.client
        .ingest_url()
        .rsplit(':')
        .next()
        .unwrap()
        .trim_end_matches('/')
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctx_b_switches_to_the_second_emulator_in_the_same_terminal() {
    let (a, b) = (Env::start().await, Env::start().await);
    let (pa, pb) = (port(&a), port(&b));
    let end = run(Connection::default(), &config(&a, &b), |d| async move {
        d.wait("context a's resources", |s| s.contains(&pa)).await;
        command(&d, "ctx b");
        d.wait("context b's cluster and resources", |s| {
            s.contains(&pb) && !s.contains(&pa) && s.contains("readyforaggregation")
        })
        .await;
        d.key(KeyCode::Char('q'));
    })
    .await;
    assert_eq!(end.settings.context.as_deref(), Some("b"));
    assert_eq!(end.settings.cluster, b.client.ingest_url());
    assert!(!end.resources.entries.is_empty());
    assert!(end.leave.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_switch_keeps_context_a_with_the_reason_on_screen() {
    let (a, b) = (Env::start().await, Env::start().await);
    let pa = port(&a);
    let end = run(Connection::default(), &config(&a, &b), |d| async move {
        d.wait("context a's resources", |s| s.contains(&pa)).await;
        command(&d, "ctx bad");
        d.wait("the failed switch", |s| {
            s.contains("cannot switch to context bad: no endpoint")
        })
        .await;
        d.key(KeyCode::Char('q'));
    })
    .await;
    assert_eq!(end.settings.context.as_deref(), Some("a"));
    assert_eq!(end.settings.cluster, a.client.ingest_url());
    let (text, _) = end.status.clone().unwrap();
    assert!(text.contains("(still on a)"), "{text}");
    assert!(!end.resources.entries.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_production_context_is_asked_for_and_a_flag_endpoint_replacement_is_said() {
    let (a, b) = (Env::start().await, Env::start().await);
    let conn = Connection {
        ingest_url: Some(a.client.ingest_url().to_string()),
        ..Connection::default()
    };
    let pb = port(&b);
    let end = run(conn, &config(&a, &b), |d| async move {
        command(&d, "ctx prod");
        d.wait("the production question", |s| s.contains("PRODUCTION"))
            .await;
        d.key(KeyCode::Char('n'));
        d.wait("the question gone", |s| !s.contains("PRODUCTION"))
            .await;
        command(&d, "ctx prod");
        d.wait("the production question again", |s| {
            s.contains("PRODUCTION")
        })
        .await;
        d.key(KeyCode::Char('y'));
        d.wait("prod's cluster and the flag note", |s| {
            s.contains(&pb) && s.contains("replaces the --ingest-url")
        })
        .await;
        d.key(KeyCode::Char('q'));
    })
    .await;
    assert_eq!(end.settings.context.as_deref(), Some("prod"));
    assert!(end.settings.production);
    assert_eq!(end.settings.cluster, b.client.ingest_url());
}
