//! The status line: the connection (endpoint, last good contact or failing), the sign-in in
//! use and the last error with its age. All text passes the sanitiser.

use ratatui::text::{Line, Span};

use super::fmt;
use super::theme::Theme;
use crate::app::state::State;
use crate::sanitize::sanitize;

pub fn line(state: &State, theme: &Theme) -> Line<'static> {
    let r = &state.resources;
    // The newest moment the service answered: the resources fetch or a queue-depth read.
    let contact = r.fetched_at.max(r.depths_at);
    let endpoint = sanitize(&state.settings.cluster);
    let mut spans = vec![Span::raw(" ")];
    match (&r.error, contact) {
        (Some(p), _) => {
            let since = contact.map_or_else(
                || "no contact yet".to_string(),
                |t| format!("last ok {} ago", fmt::age(state.now, t)),
            );
            spans.push(Span::styled(
                format!("✗ {endpoint} failing ({}; {since})", p.label()),
                theme.error,
            ));
        }
        (None, Some(t)) => spans.push(Span::styled(
            format!("● {endpoint} ok {} ago", fmt::age(state.now, t)),
            theme.ok,
        )),
        (None, None) => spans.push(Span::styled(
            format!("○ {endpoint} connecting"),
            theme.muted,
        )),
    }
    if !state.settings.auth.is_empty() {
        spans.push(Span::styled(
            format!(" │ auth {}", sanitize(&state.settings.auth)),
            theme.muted,
        ));
    }
    if let Some((text, at)) = &state.last_error {
        spans.push(Span::styled(" │ ", theme.muted));
        spans.push(Span::styled(
            format!(
                "last error {} ago: {}",
                fmt::age(state.now, *at),
                sanitize(text)
            ),
            theme.error,
        ));
    }
    Line::from(spans)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::fixtures::sample_state;
    use crate::app::state::{Severity, ThemeName};
    use crate::client::error::{Problem, ProblemKind};

    fn text(state: &State) -> String {
        let theme = Theme::new(false, ThemeName::Dark);
        line(state, &theme)
            .spans
            .iter()
            .map(|s| s.content.as_ref())
            .collect()
    }

    #[test]
    fn shows_last_contact_auth_and_the_last_error_until_a_newer_one() {
        let mut s = sample_state();
        s.resources.error = None;
        s.resources.fetched_at = Some(s.now - chrono::Duration::seconds(5));
        s.resources.depths_at = None;
        s.settings.auth = "Azure CLI".into();
        s.set_status("boom \u{1b}[31mred".into(), Severity::Error);
        s.now += chrono::Duration::seconds(90);
        s.set_status("saved".into(), Severity::Ok);
        let t = text(&s);
        assert!(t.contains("ok 1m ago"), "{t}");
        assert!(t.contains("auth Azure CLI"), "{t}");
        assert!(t.contains("last error 1m ago: boom"), "{t}");
        assert!(!t.contains('\u{1b}'), "escape reached the screen: {t:?}");
        s.set_status("newer".into(), Severity::Error);
        assert!(text(&s).contains("last error 0s ago: newer"));
    }

    #[test]
    fn a_failing_fetch_says_so_with_the_last_good_contact() {
        let mut s = sample_state();
        s.resources.fetched_at = Some(s.now - chrono::Duration::seconds(30));
        s.resources.depths_at = None;
        s.resources.error = Some(Problem::new(ProblemKind::Auth, "401"));
        let t = text(&s);
        assert!(t.contains("failing (auth; last ok 30s ago)"), "{t}");
    }
}
