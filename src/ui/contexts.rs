//! The `:` command prompt and the context switcher list (k9s' `:ctx`).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};
use tui_input::Input;

use crate::app::state::State;
use crate::sanitize::sanitize;
use crate::ui::centered;
use crate::ui::theme::Theme;

fn block<'a>(title: &'a str, theme: &Theme) -> Block<'a> {
    Block::bordered()
        .border_style(theme.focus)
        .title(Span::styled(format!(" {title} "), theme.title))
}

pub fn prompt(frame: &mut Frame, area: Rect, input: &Input, theme: &Theme) {
    crate::ui::dialogs::prompt(
        frame,
        area,
        ("Command", ": "),
        input,
        "ctx · ctx NAME · q   (Enter runs, Esc cancels)",
        theme,
    );
}

/// The contexts the config defines; `*` marks the one in use, the selected row is highlighted.
pub fn list(frame: &mut Frame, area: Rect, state: &State, selected: usize, theme: &Theme) {
    let current = state.settings.context.as_deref();
    let lines: Vec<Line> = state
        .settings
        .contexts
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let mark = if Some(name.as_str()) == current {
                "* "
            } else {
                "  "
            };
            let style = if i == selected {
                theme.focus
            } else {
                theme.base
            };
            Line::styled(format!("{mark}{}", sanitize(name)), style)
        })
        .collect();
    let rect = centered(area, 50, lines.len() as u16 + 2);
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines).block(block("Contexts (Enter switches, Esc closes)", theme)),
        rect,
    );
}
