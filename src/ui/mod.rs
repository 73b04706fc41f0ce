//! Pure render functions of `&State`: layout, panes, dialogs and footer hints. No I/O, no
//! mutation.

pub mod bulk;
pub mod cluster;
pub mod columns;
pub mod contexts;
pub mod detail;
pub mod dialogs;
pub mod error_info;
pub mod fmt;
pub mod panes;
pub mod status;
pub mod text_field;
pub mod theme;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Tabs, Wrap};

use crate::app::state::{Modal, Mode, Pane, Severity, State};
use crate::app::update::contexts;
use theme::Theme;

pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 16;
/// From this width the four panes are shown as a 2×2 grid.
pub const GRID_WIDTH: u16 = 120;

pub fn draw(frame: &mut Frame, state: &State) {
    let theme = Theme::for_settings(&state.settings);
    let area = frame.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        too_small(frame, area, &theme);
        return;
    }
    let rects = pane_rects(area);
    draw_header(frame, rects.header, state, &theme);
    match rects.panes {
        PaneRects::Grid(grid) => {
            for (pane, rect) in Pane::ALL.into_iter().zip(grid) {
                panes::render(frame, rect, state, &theme, pane);
            }
        }
        PaneRects::Tabs { tabs, body } => {
            draw_tabs(frame, tabs, state, &theme);
            panes::render(frame, body, state, &theme, state.focus);
        }
    }
    let (main, footer) = (rects.main, rects.footer);
    draw_footer(frame, footer, state, &theme);
    match &state.modal {
        None => {}
        Some(Modal::Help { scroll }) => dialogs::help(frame, main, state, *scroll, &theme),
        Some(Modal::Confirm(c)) => dialogs::confirm(frame, main, c, &theme),
        Some(Modal::Submit(form)) => dialogs::submit(frame, main, form, &theme),
        Some(Modal::Bulk(form)) => bulk::dialog(frame, main, form, &theme),
        Some(Modal::Filter { pane, input }) => dialogs::filter(frame, main, *pane, input, &theme),
        Some(Modal::Command { input }) => contexts::prompt(frame, main, input, &theme),
        Some(Modal::Contexts { selected }) => contexts::list(frame, main, state, *selected, &theme),
        Some(Modal::Cluster { scroll }) => cluster::render(frame, main, state, *scroll, &theme),
        Some(Modal::Export(form)) => dialogs::export(frame, main, form, &theme),
        Some(Modal::Copy(menu)) => dialogs::copy(frame, main, menu, &theme),
        Some(Modal::Detail {
            target,
            raw,
            timeline,
            scroll,
        }) => {
            let view = detail::View {
                raw: *raw,
                timeline: *timeline,
                scroll: *scroll,
            };
            detail::render(frame, main, state, target, view, &theme)
        }
    }
}

/// Where the screen's parts go: one place for drawing and for mouse hit-testing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Areas {
    pub header: Rect,
    /// Everything between header and footer (dialogs are drawn over it).
    pub main: Rect,
    pub footer: Rect,
    pub panes: PaneRects,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaneRects {
    /// From [`GRID_WIDTH`]: every pane, in `Pane::ALL` order.
    Grid([Rect; 4]),
    /// Narrower: a tab bar and the focused pane below it.
    Tabs { tabs: Rect, body: Rect },
}

/// The layout of a screen of `area` that is not too small.
pub fn pane_rects(area: Rect) -> Areas {
    let [header, main, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(footer_height(area)),
    ])
    .areas(area);
    let panes = if area.width >= GRID_WIDTH {
        let [top, bottom] =
            Layout::vertical([Constraint::Percentage(45), Constraint::Percentage(55)]).areas(main);
        let [tl, tr] =
            Layout::horizontal([Constraint::Percentage(40), Constraint::Percentage(60)]).areas(top);
        let [bl, br] = Layout::horizontal([Constraint::Percentage(62), Constraint::Percentage(38)])
            .areas(bottom);
        PaneRects::Grid([tl, tr, bl, br])
    } else {
        let [tabs, body] =
            Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(main);
        PaneRects::Tabs { tabs, body }
    };
    Areas {
        header,
        main,
        footer,
        panes,
    }
}

/// The pane drawn at cell (`col`, `row`) of a `size` screen while `focus` is focused (the
/// tab layout shows only that one), if any: header, footer and tab bar are no pane.
pub fn pane_at(size: (u16, u16), focus: Pane, col: u16, row: u16) -> Option<Pane> {
    let area = Rect::new(0, 0, size.0, size.1);
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        return None;
    }
    let at = ratatui::layout::Position::new(col, row);
    match pane_rects(area).panes {
        PaneRects::Grid(grid) => Pane::ALL
            .into_iter()
            .zip(grid)
            .find_map(|(pane, rect)| rect.contains(at).then_some(pane)),
        PaneRects::Tabs { body, .. } => body.contains(at).then_some(focus),
    }
}

fn too_small(frame: &mut Frame, area: Rect, theme: &Theme) {
    let text = vec![
        Line::styled("Terminal too small", theme.error),
        Line::from(format!("{}×{}", area.width, area.height)),
        Line::styled(
            format!("need at least {MIN_WIDTH}×{MIN_HEIGHT}"),
            theme.muted,
        ),
        Line::styled("q quits", theme.muted),
    ];
    let h = (text.len() as u16).min(area.height);
    let y = area.y + area.height.saturating_sub(h) / 2;
    frame.render_widget(
        Paragraph::new(text)
            .alignment(ratatui::layout::Alignment::Center)
            .wrap(Wrap { trim: true }),
        Rect::new(area.x, y, area.width, h),
    );
}

fn draw_header(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let mut spans = vec![Span::styled(" kingest ", theme.title)];
    if let Some(name) = &state.settings.context {
        spans.extend(context_badge(name, state.settings.production, theme));
    }
    spans.extend([
        Span::styled(
            crate::sanitize::sanitize(&state.settings.cluster),
            theme.muted,
        ),
        Span::raw(" "),
    ]);
    if state.mode == Mode::Consume {
        spans.push(Span::styled(" CONSUME ", theme.badge));
        spans.push(Span::raw(" "));
    }
    if state.settings.read_only {
        spans.push(Span::styled(" READ-ONLY ", theme.badge));
        spans.push(Span::raw(" "));
    }
    if let Some((text, sev)) = &state.status {
        let style = match sev {
            Severity::Info => theme.base,
            Severity::Ok => theme.ok,
            Severity::Warn => theme.warn,
            Severity::Error => theme.error,
        };
        spans.push(Span::styled(crate::sanitize::sanitize(text), style));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn draw_tabs(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let titles: Vec<String> = Pane::ALL
        .iter()
        .map(|p| match p.kind() {
            Some(k) => format!("{} ({})", p.title(), state.stream(k).len()),
            None => p.title().to_string(),
        })
        .collect();
    frame.render_widget(
        Tabs::new(titles)
            .select(state.focus.index())
            .highlight_style(theme.focus)
            .style(theme.muted),
        area,
    );
}

/// Footer hints: the footer-flagged bindings of the active contexts, from the binding table.
pub fn footer_hints(state: &State) -> Vec<(String, &'static str)> {
    state
        .settings
        .keymap
        .active(contexts(state), state.settings.read_only)
        .into_iter()
        .filter(|b| b.footer)
        .map(|b| (b.keys_label(), b.short))
        .collect()
}

/// The config context's name; a production context in the production role, and saying so in
/// words too (the colour is gone with `NO_COLOR`).
fn context_badge(name: &str, production: bool, theme: &Theme) -> Vec<Span<'static>> {
    let name = crate::sanitize::sanitize(name);
    let badge = if production {
        Span::styled(format!(" {name} PROD "), theme.production)
    } else {
        Span::styled(format!("[{name}]"), theme.focus)
    };
    vec![badge, Span::raw(" ")]
}

/// From this height the status line gets its own row under the key hints.
const STATUS_ROW_HEIGHT: u16 = 20;

fn footer_height(area: Rect) -> u16 {
    if area.height >= STATUS_ROW_HEIGHT {
        2
    } else {
        1
    }
}

fn draw_footer(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let mut spans = Vec::new();
    for (keys, desc) in footer_hints(state) {
        spans.push(Span::styled(format!(" {keys}"), theme.focus));
        spans.push(Span::styled(format!(" {desc} "), theme.muted));
    }
    let [hints, status] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
    frame.render_widget(Paragraph::new(Line::from(spans)), hints);
    if status.height > 0 {
        frame.render_widget(Paragraph::new(status::line(state, theme)), status);
    }
}

/// A centred rect of at most `w`×`h` inside `area`.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grid_at_120x40_puts_each_pane_in_its_quarter() {
        let at = |c, r| pane_at((120, 40), Pane::Submissions, c, r);
        // Header (row 0) and the two footer rows (hints, status line) are no pane.
        assert_eq!(at(5, 0), None);
        assert_eq!(at(5, 38), None);
        assert_eq!(at(5, 39), None);
        // Top: 45% of the 37 main rows; left 40% of the width.
        assert_eq!(at(0, 1), Some(Pane::Resources));
        assert_eq!(at(47, 16), Some(Pane::Resources));
        assert_eq!(at(48, 1), Some(Pane::Submissions));
        assert_eq!(at(119, 16), Some(Pane::Submissions));
        // Bottom: left 62% failures, the rest successes.
        assert_eq!(at(0, 37), Some(Pane::Failures));
        assert_eq!(at(73, 20), Some(Pane::Failures));
        assert_eq!(at(75, 20), Some(Pane::Successes));
        assert_eq!(at(119, 37), Some(Pane::Successes));
        assert_eq!(at(120, 20), None);
    }

    #[test]
    fn tabs_at_80x24_hit_only_the_focused_body() {
        for focus in Pane::ALL {
            let at = |c, r| pane_at((80, 24), focus, c, r);
            assert_eq!(at(10, 0), None, "header");
            assert_eq!(at(10, 1), None, "tab bar");
            assert_eq!(at(0, 2), Some(focus));
            assert_eq!(at(79, 21), Some(focus));
            assert_eq!(at(10, 22), None, "footer hints");
            assert_eq!(at(10, 23), None, "status line");
        }
        // Too small to draw panes: nothing to hit.
        assert_eq!(pane_at((50, 24), Pane::Failures, 5, 5), None);
    }
}
