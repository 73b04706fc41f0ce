//! The status-table view (`crate::app::cluster`): counts per state, then the entities newest
//! first. Every entity field is untrusted (any client writes the table): sanitised here.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use crate::app::cluster::{ClusterView, MAX_PAGES};
use crate::app::state::State;
use crate::client::cluster_status::ScanResult;
use crate::sanitize::sanitize;
use crate::ui::theme::Theme;

fn clip(s: &str, w: usize) -> String {
    let s = sanitize(s);
    if s.chars().count() <= w {
        format!("{s:<w$}")
    } else {
        let mut t: String = s.chars().take(w.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

fn state_style(state: &str, theme: &Theme) -> ratatui::style::Style {
    match state {
        "Succeeded" => theme.ok,
        "Failed" => theme.error,
        "PartiallySucceeded" | "Skipped" => theme.warn,
        _ => theme.base,
    }
}

fn result_lines(r: &ScanResult, scroll: usize, rows: usize, theme: &Theme) -> Vec<Line<'static>> {
    let mut lines = vec![Line::from(
        r.counts
            .iter()
            .flat_map(|(k, n)| {
                [
                    Span::styled(sanitize(k), state_style(k, theme)),
                    Span::styled(format!(" {n}   "), theme.base),
                ]
            })
            .collect::<Vec<_>>(),
    )];
    lines.push(Line::styled(
        sanitize(&r.summary_line(MAX_PAGES)),
        theme.muted,
    ));
    lines.push(Line::styled(
        format!(
            "{:<19} {:<18} {:<36} {:<20} {}",
            "time", "state", "source id", "database.table", "error code"
        ),
        theme.title,
    ));
    for e in r.entities.iter().skip(scroll).take(rows) {
        let c = e.cells();
        lines.push(Line::from(vec![
            Span::styled(format!("{:<19} ", clip(&c[0], 19)), theme.muted),
            Span::styled(
                format!("{} ", clip(&c[1], 18)),
                state_style(&e.state, theme),
            ),
            Span::styled(
                format!(
                    "{} {} ",
                    clip(&c[2], 36),
                    clip(&format!("{}.{}", c[3], c[4]), 20)
                ),
                theme.base,
            ),
            Span::styled(sanitize(&c[5]), theme.error),
        ]));
    }
    lines
}

pub fn render(frame: &mut Frame, area: Rect, state: &State, scroll: usize, theme: &Theme) {
    let rect = Rect::new(
        area.x + 1,
        area.y + 1,
        area.width.saturating_sub(2),
        area.height.saturating_sub(2),
    );
    let rows = rect.height.saturating_sub(5) as usize;
    let lines: Vec<Line> = match &state.cluster {
        ClusterView::Never => vec![Line::styled("no scan yet: press T", theme.muted)],
        ClusterView::Running { last } => vec![Line::styled(
            match last {
                None => format!("scanning… (at most {MAX_PAGES} pages)"),
                Some(p) => format!("scanning… {}", sanitize(&p.line(MAX_PAGES))),
            },
            theme.warn,
        )],
        ClusterView::Failed(why) => vec![Line::styled(sanitize(why), theme.error)],
        ClusterView::Done(r) => result_lines(r, scroll, rows, theme),
    };
    let title = match &state.cluster {
        ClusterView::Done(r) if !r.entities.is_empty() => format!(
            " Status table: every client's sources ({}–{} of {}; Esc closes) ",
            (scroll + 1).min(r.entities.len()),
            (scroll + rows).min(r.entities.len()),
            r.entities.len()
        ),
        _ => " Status table: every client's sources (Esc closes) ".into(),
    };
    let mut body = Paragraph::new(lines).block(
        Block::bordered()
            .border_style(theme.focus)
            .title(Span::styled(title, theme.title)),
    );
    // A message wraps; entity rows stay one per line so scrolling counts rows.
    if !matches!(state.cluster, ClusterView::Done(_)) {
        body = body.wrap(Wrap { trim: false });
    }
    frame.render_widget(Clear, rect);
    frame.render_widget(body, rect);
}
