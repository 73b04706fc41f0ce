//! One render function per pane; each draws `&State` into a rect.

pub mod notifications;
pub mod resources;
pub mod submissions;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType};

use crate::app::state::{Pane, State};
use crate::ui::theme::Theme;

pub fn render(frame: &mut Frame, area: Rect, state: &State, theme: &Theme, pane: Pane) {
    let focused = state.focus == pane && state.modal.is_none();
    match pane {
        Pane::Resources => resources::render(frame, area, state, theme, focused),
        Pane::Submissions => submissions::render(frame, area, state, theme, focused),
        Pane::Failures | Pane::Successes => {
            notifications::render(frame, area, state, theme, focused, pane)
        }
    }
}

/// A pane block: bold cyan border when focused.
pub fn block<'a>(title: Vec<Span<'a>>, theme: &Theme, focused: bool) -> Block<'a> {
    let border = if focused { theme.focus } else { theme.muted };
    Block::bordered()
        .border_type(if focused {
            BorderType::Thick
        } else {
            BorderType::Plain
        })
        .border_style(border)
        .title(Line::from(title))
}

/// Filter badge for a title.
pub fn filter_span<'a>(filter: &str, theme: &Theme) -> Option<Span<'a>> {
    (!filter.is_empty()).then(|| {
        Span::styled(
            format!(" /{} ", crate::sanitize::sanitize(filter)),
            theme.warn,
        )
    })
}
