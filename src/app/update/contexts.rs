//! The `:` command prompt and the context switcher (k9s' `:ctx`). Switching itself needs I/O
//! (re-resolving the configuration, a new client), so `update()` only asks for it through
//! `State::leave`; the runner resolves and reports back through the functions here.

use super::set_status;
use crate::app::state::{Confirm, ConfirmAction, Leave, Modal, Severity, State};
use crate::sanitize::sanitize;

/// Runs what was typed at the `:` prompt: `ctx` (or `context`, `contexts`) lists the contexts,
/// `ctx NAME` switches, `q`/`quit` quits.
pub(super) fn run_command(state: &mut State, line: &str) {
    let words: Vec<&str> = line.split_whitespace().collect();
    match words.as_slice() {
        [] => {}
        ["ctx" | "context" | "contexts"] => open_list(state),
        ["ctx" | "context", name] => request_switch(state, name),
        ["q" | "quit"] => state.quit = true,
        _ => set_status(
            state,
            format!(
                "unknown command `{}`: try `ctx` (list contexts), `ctx NAME` or `q`",
                sanitize(line.trim())
            ),
            Severity::Error,
        ),
    }
}

fn open_list(state: &mut State) {
    if state.settings.contexts.is_empty() {
        set_status(
            state,
            "the config file defines no contexts: add [contexts.NAME] (`kingest config init`)"
                .into(),
            Severity::Warn,
        );
        return;
    }
    let selected = state
        .settings
        .context
        .as_ref()
        .and_then(|c| state.settings.contexts.iter().position(|n| n == c))
        .unwrap_or(0);
    state.modal = Some(Modal::Contexts { selected });
}

/// Asks the runner to switch to `name` when the config defines it (it learns from the resolve
/// whether `name` is production, and then asks through [`confirm_production`]).
pub(super) fn request_switch(state: &mut State, name: &str) {
    state.modal = None;
    if !state.settings.contexts.iter().any(|c| c == name) {
        let known = state.settings.contexts.join(", ");
        set_status(
            state,
            format!(
                "no context `{}` in the config file; defined: {}",
                sanitize(name),
                if known.is_empty() { "none" } else { &known }
            ),
            Severity::Error,
        );
        return;
    }
    if state.settings.context.as_deref() == Some(name) {
        set_status(state, format!("already on context {name}"), Severity::Info);
        return;
    }
    state.leave = Some(Leave::SwitchContext {
        name: name.to_string(),
        confirmed: false,
    });
}

/// The runner resolved `name` and found it marked production: ask before switching.
pub fn confirm_production(state: &mut State, name: &str, cluster: &str) {
    state.modal = Some(Modal::Confirm(Confirm {
        title: format!("Switch to PRODUCTION context {name}"),
        lines: vec![
            format!("{name} is marked production = true in the config file."),
            format!("Cluster: {}", sanitize(cluster)),
            "Switch to it?".into(),
        ],
        action: ConfirmAction::SwitchContext(name.to_string()),
    }));
    state.dirty = true;
}

/// The runner could not resolve or connect `name`: this context keeps running.
pub fn switch_failed(state: &mut State, name: &str, error: &str) {
    set_status(
        state,
        format!(
            "cannot switch to context {}: {} (still on {})",
            sanitize(name),
            sanitize(error),
            state
                .settings
                .context
                .as_deref()
                .unwrap_or("the command line's cluster")
        ),
        Severity::Error,
    );
    state.dirty = true;
}

#[cfg(test)]
mod tests {
    use crate::app::fixtures::t0;
    use crate::app::msg::Msg;
    use crate::app::state::{ConfirmAction, Leave, Modal, Settings, Severity, State};
    use crate::app::update;
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    fn state() -> State {
        State::new(
            Settings {
                context: Some("dev".into()),
                contexts: vec!["dev".into(), "prod".into(), "test".into()],
                ..Settings::default()
            },
            t0(),
        )
    }

    fn press(s: &mut State, code: KeyCode) {
        update(s, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    }

    fn type_line(s: &mut State, line: &str) {
        press(s, KeyCode::Char(':'));
        for c in line.chars() {
            press(s, KeyCode::Char(c));
        }
        press(s, KeyCode::Enter);
    }

    #[test]
    fn ctx_lists_the_contexts_with_the_current_one_selected_and_enter_switches() {
        let mut s = state();
        type_line(&mut s, "ctx");
        assert!(matches!(s.modal, Some(Modal::Contexts { selected: 0 })));
        press(&mut s, KeyCode::Down);
        press(&mut s, KeyCode::Down);
        press(&mut s, KeyCode::Down);
        assert!(matches!(s.modal, Some(Modal::Contexts { selected: 2 })));
        press(&mut s, KeyCode::Char('k'));
        press(&mut s, KeyCode::Enter);
        assert_eq!(
            s.leave,
            Some(Leave::SwitchContext {
                name: "prod".into(),
                confirmed: false
            })
        );
        assert!(s.modal.is_none());
        // Esc closes the list without switching.
        let mut s = state();
        type_line(&mut s, "ctx");
        press(&mut s, KeyCode::Esc);
        assert!(s.modal.is_none() && s.leave.is_none());
    }

    #[test]
    fn ctx_name_switches_directly_unknown_or_current_names_do_not() {
        let mut s = state();
        type_line(&mut s, "ctx test");
        assert_eq!(
            s.leave,
            Some(Leave::SwitchContext {
                name: "test".into(),
                confirmed: false
            })
        );
        let mut s = state();
        type_line(&mut s, "ctx nope");
        assert!(s.leave.is_none());
        let (text, sev) = s.status.clone().unwrap();
        assert_eq!(sev, Severity::Error);
        assert!(
            text.contains("no context `nope`") && text.contains("dev, prod, test"),
            "{text}"
        );
        let mut s = state();
        type_line(&mut s, "ctx dev");
        assert!(s.leave.is_none());
        assert!(s.status.unwrap().0.contains("already on context dev"));
        let mut s = state();
        type_line(&mut s, "frobnicate");
        assert!(s.status.unwrap().0.contains("unknown command `frobnicate`"));
        // Escape in the prompt cancels; typed keys do not trigger bindings meanwhile.
        let mut s = state();
        press(&mut s, KeyCode::Char(':'));
        press(&mut s, KeyCode::Char('q'));
        assert!(!s.quit);
        press(&mut s, KeyCode::Esc);
        assert!(s.modal.is_none() && !s.quit);
    }

    #[test]
    fn no_contexts_defined_says_how_to_add_one() {
        let mut s = State::new(Settings::default(), t0());
        type_line(&mut s, "ctx");
        assert!(s.modal.is_none());
        assert!(s.status.unwrap().0.contains("[contexts.NAME]"));
    }

    #[test]
    fn a_production_context_is_confirmed_before_the_switch() {
        let mut s = state();
        super::confirm_production(&mut s, "prod", "https://ingest-prod.example");
        match &s.modal {
            Some(Modal::Confirm(c)) => {
                assert_eq!(c.action, ConfirmAction::SwitchContext("prod".into()));
                assert!(c.title.contains("PRODUCTION"));
            }
            other => panic!("{other:?}"),
        }
        press(&mut s, KeyCode::Char('n'));
        assert!(s.leave.is_none());
        super::confirm_production(&mut s, "prod", "https://ingest-prod.example");
        press(&mut s, KeyCode::Char('y'));
        assert_eq!(
            s.leave,
            Some(Leave::SwitchContext {
                name: "prod".into(),
                confirmed: true
            })
        );
    }

    #[test]
    fn a_failed_switch_keeps_the_old_context_and_shows_why() {
        let mut s = state();
        super::switch_failed(&mut s, "prod", "no such host\u{1b}[31m");
        let (text, sev) = s.status.unwrap();
        assert_eq!(sev, Severity::Error);
        assert!(text.contains("cannot switch to context prod") && text.contains("still on dev"));
        assert!(!text.contains('\u{1b}'));
    }
}
