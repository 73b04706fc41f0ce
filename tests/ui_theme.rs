//! Cell styles per theme and with `NO_COLOR`, read from a TestBackend buffer: the roles reach
//! the screen with the palette the settings choose.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use kingest::app::fixtures::sample_state;
use kingest::app::state::{State, ThemeName};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier, Style};

fn buffer(state: &State, w: u16, h: u16) -> Buffer {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| kingest::ui::draw(f, state)).unwrap();
    term.backend().buffer().clone()
}

/// The style of the first cell of the first occurrence of `text` on the screen.
fn style_of(buf: &Buffer, text: &str) -> Style {
    let area = buf.area;
    for y in 0..area.height {
        let row: String = (0..area.width).map(|x| buf[(x, y)].symbol()).collect();
        if let Some(i) = row.find(text) {
            let x = row[..i].chars().count() as u16;
            return buf[(x, y)].style();
        }
    }
    panic!("{text:?} not on screen");
}

/// A buffer cell without colour has `Reset` (the terminal's own) for both.
fn uncoloured(s: Style) -> bool {
    matches!(s.fg, None | Some(Color::Reset)) && matches!(s.bg, None | Some(Color::Reset))
}

fn state(color: bool, theme: ThemeName) -> State {
    let mut s = sample_state();
    s.settings.color = color;
    s.settings.theme = theme;
    s
}

#[test]
fn error_role_is_red_in_dark_darker_red_in_light_and_bold_only_without_colour() {
    let dark = style_of(
        &buffer(&state(true, ThemeName::Dark), 50, 12),
        "Terminal too small",
    );
    assert_eq!(dark.fg, Some(Color::Red));
    let light = style_of(
        &buffer(&state(true, ThemeName::Light), 50, 12),
        "Terminal too small",
    );
    assert_eq!(light.fg, Some(Color::Rgb(170, 0, 0)));
    for theme in [ThemeName::Dark, ThemeName::Light] {
        let plain = style_of(&buffer(&state(false, theme), 50, 12), "Terminal too small");
        assert!(uncoloured(plain), "{plain:?}");
        assert!(plain.add_modifier.contains(Modifier::BOLD));
    }
}

#[test]
fn light_theme_draws_dark_text_and_no_colour_none() {
    let light = buffer(&state(true, ThemeName::Light), 80, 24);
    assert_eq!(style_of(&light, "kingest").fg, Some(Color::Black));
    let plain = buffer(&state(false, ThemeName::Light), 80, 24);
    for y in 0..24 {
        for x in 0..80 {
            let s = plain[(x, y)].style();
            assert!(uncoloured(s), "colour at {x},{y} with NO_COLOR: {s:?}");
        }
    }
}

#[test]
fn header_shows_the_context_in_the_production_role_when_marked_production() {
    let mut s = state(true, ThemeName::Dark);
    s.settings.context = Some("prod".into());
    s.settings.production = true;
    let buf = buffer(&s, 80, 24);
    let badge = style_of(&buf, " prod PROD ");
    assert_eq!((badge.fg, badge.bg), (Some(Color::White), Some(Color::Red)));
    s.settings.production = false;
    s.settings.context = Some("dev".into());
    let dev = style_of(&buffer(&s, 80, 24), "[dev]");
    assert_eq!(dev.fg, Some(Color::Cyan));
    s.settings.color = false;
    s.settings.production = true;
    let plain = style_of(&buffer(&s, 80, 24), " dev PROD ");
    assert!(uncoloured(plain) && plain.add_modifier.contains(Modifier::REVERSED));
}

#[test]
fn status_line_is_the_last_row_at_80x24() {
    let mut s = state(true, ThemeName::Dark);
    s.settings.auth = "Azure CLI".into();
    let buf = buffer(&s, 80, 24);
    let last: String = (0..80).map(|x| buf[(x, 23)].symbol()).collect();
    assert!(last.contains("auth Azure CLI"), "{last}");
}
