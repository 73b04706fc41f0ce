//! Semantic styles: render code asks for a role (`error`, `muted`, …), never a colour. The
//! palette follows `Settings.theme`; with colour off (`NO_COLOR`) only modifiers are used.

use ratatui::style::{Color, Modifier, Style};

use crate::app::state::{Settings, ThemeName};

#[derive(Debug, Clone, Copy)]
pub struct Theme {
    /// Ordinary text.
    pub base: Style,
    pub title: Style,
    pub focus: Style,
    pub muted: Style,
    pub ok: Style,
    pub warn: Style,
    pub error: Style,
    pub selection: Style,
    pub badge: Style,
    /// A context marked `production = true`: it must stand out in the header.
    pub production: Style,
}

impl Theme {
    pub fn for_settings(settings: &Settings) -> Self {
        Theme::new(settings.color, settings.theme)
    }

    pub fn new(color: bool, name: ThemeName) -> Self {
        match (color, name) {
            (false, _) => Theme::monochrome(),
            (true, ThemeName::Dark) => Theme::dark(),
            (true, ThemeName::Light) => Theme::light(),
        }
    }

    /// Bright colours for a dark background.
    fn dark() -> Self {
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
            production: Style::default()
                .fg(Color::White)
                .bg(Color::Red)
                .add_modifier(Modifier::BOLD),
        }
    }

    /// Dark, saturated foregrounds for a light background: no white or yellow text, and
    /// backgrounds only under black or white text with enough contrast.
    fn light() -> Self {
        Theme {
            base: Style::default().fg(Color::Black),
            title: Style::default()
                .fg(Color::Black)
                .add_modifier(Modifier::BOLD),
            focus: Style::default()
                .fg(Color::Rgb(0, 70, 160))
                .add_modifier(Modifier::BOLD),
            muted: Style::default().fg(Color::Rgb(90, 90, 90)),
            ok: Style::default().fg(Color::Rgb(0, 110, 0)),
            warn: Style::default().fg(Color::Rgb(150, 80, 0)),
            error: Style::default()
                .fg(Color::Rgb(170, 0, 0))
                .add_modifier(Modifier::BOLD),
            selection: Style::default()
                .bg(Color::Rgb(190, 215, 255))
                .fg(Color::Black),
            badge: Style::default()
                .fg(Color::Black)
                .bg(Color::Rgb(255, 210, 120)),
            production: Style::default()
                .fg(Color::White)
                .bg(Color::Rgb(170, 0, 0))
                .add_modifier(Modifier::BOLD),
        }
    }

    fn monochrome() -> Self {
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
            production: Style::default().add_modifier(Modifier::BOLD | Modifier::REVERSED),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(t: &Theme) -> [Style; 10] {
        [
            t.base,
            t.title,
            t.focus,
            t.muted,
            t.ok,
            t.warn,
            t.error,
            t.selection,
            t.badge,
            t.production,
        ]
    }

    #[test]
    fn no_color_uses_modifiers_only_in_either_theme() {
        for name in [ThemeName::Dark, ThemeName::Light] {
            for s in all(&Theme::new(false, name)) {
                assert_eq!((s.fg, s.bg), (None, None), "{name:?}: {s:?}");
            }
        }
    }

    #[test]
    fn light_theme_has_no_white_or_yellow_text_without_a_dark_background() {
        let light = Theme::new(true, ThemeName::Light);
        for s in all(&light) {
            let pale = matches!(
                s.fg,
                Some(Color::White | Color::Yellow | Color::LightYellow | Color::Gray)
            );
            let dark_bg = matches!(s.bg, Some(Color::Rgb(r, g, b)) if u16::from(r) + u16::from(g) + u16::from(b) < 300);
            assert!(!pale || dark_bg, "unreadable on light: {s:?}");
        }
    }
}
