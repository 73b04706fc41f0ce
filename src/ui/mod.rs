//! Pure render functions of `&State`: layout, panes, dialogs and footer hints. No I/O, no
//! mutation.

pub mod bulk;
pub mod columns;
pub mod contexts;
pub mod detail;
pub mod dialogs;
pub mod error_info;
pub mod fmt;
pub mod panes;
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
    let theme = Theme::new(state.settings.color);
    let area = frame.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        too_small(frame, area, &theme);
        return;
    }
    let [header, main, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area);
    draw_header(frame, header, state, &theme);
    if area.width >= GRID_WIDTH {
        let [top, bottom] =
            Layout::vertical([Constraint::Percentage(45), Constraint::Percentage(55)]).areas(main);
        let [tl, tr] =
            Layout::horizontal([Constraint::Percentage(40), Constraint::Percentage(60)]).areas(top);
        let [bl, br] = Layout::horizontal([Constraint::Percentage(62), Constraint::Percentage(38)])
            .areas(bottom);
        for (pane, rect) in Pane::ALL.into_iter().zip([tl, tr, bl, br]) {
            panes::render(frame, rect, state, &theme, pane);
        }
    } else {
        let [tabs, body] =
            Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(main);
        draw_tabs(frame, tabs, state, &theme);
        panes::render(frame, body, state, &theme, state.focus);
    }
    draw_footer(frame, footer, state, &theme);
    match &state.modal {
        None => {}
        Some(Modal::Help) => dialogs::help(frame, main, state, &theme),
        Some(Modal::Confirm(c)) => dialogs::confirm(frame, main, c, &theme),
        Some(Modal::Submit(form)) => dialogs::submit(frame, main, form, &theme),
        Some(Modal::Bulk(form)) => bulk::dialog(frame, main, form, &theme),
        Some(Modal::Filter { pane, input }) => dialogs::filter(frame, main, *pane, input, &theme),
        Some(Modal::Command { input }) => contexts::prompt(frame, main, input, &theme),
        Some(Modal::Contexts { selected }) => contexts::list(frame, main, state, *selected, &theme),
        Some(Modal::Detail {
            target,
            raw,
            scroll,
        }) => detail::render(frame, main, state, target, *raw, *scroll, &theme),
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
    let mut spans = vec![
        Span::styled(" kingest ", theme.title),
        Span::styled(
            crate::sanitize::sanitize(&state.settings.cluster),
            theme.muted,
        ),
        Span::raw(" "),
    ];
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

fn draw_footer(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let mut spans = Vec::new();
    for (keys, desc) in footer_hints(state) {
        spans.push(Span::styled(format!(" {keys}"), theme.focus));
        spans.push(Span::styled(format!(" {desc} "), theme.muted));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
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
