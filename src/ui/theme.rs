//! Semantic styles. With colour off (`NO_COLOR`) only modifiers are used.

use ratatui::style::{Color, Modifier, Style};

#[derive(Debug, Clone, Copy)]
pub struct Theme {
    pub base: Style,
    pub title: Style,
    pub focus: Style,
    pub muted: Style,
    pub ok: Style,
    pub warn: Style,
    pub error: Style,
    pub selection: Style,
    pub badge: Style,
}

impl Theme {
    pub fn new(color: bool) -> Self {
        if color {
            Theme {
                base: Style::default(),
                title: Style::default().add_modifier(Modifier::BOLD),
                focus: Style::default()
                    .fg(Color::Cyan)
                    .add_modifier(Modifier::BOLD),
                muted: Style::default().fg(Color::DarkGray),
                ok: Style::default().fg(Color::Green),
                warn: Style::default().fg(Color::Yellow),
                error: Style::default().fg(Color::Red).add_modifier(Modifier::BOLD),
                selection: Style::default().bg(Color::Blue).fg(Color::White),
                badge: Style::default().fg(Color::Black).bg(Color::Yellow),
            }
        } else {
            Theme {
                base: Style::default(),
                title: Style::default().add_modifier(Modifier::BOLD),
                focus: Style::default().add_modifier(Modifier::BOLD),
                muted: Style::default().add_modifier(Modifier::DIM),
                ok: Style::default(),
                warn: Style::default().add_modifier(Modifier::BOLD),
                error: Style::default().add_modifier(Modifier::BOLD),
                selection: Style::default().add_modifier(Modifier::REVERSED),
                badge: Style::default().add_modifier(Modifier::REVERSED),
            }
        }
    }
}
