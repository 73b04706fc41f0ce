//! Ingestion resources: each entry (object, its SAS's permissions and expiry, never the
//! signature), queue depths, token age; the selected entry's account and abilities below.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, TableState};

use chrono::{DateTime, Utc};
use ratatui::style::Style;

use crate::app::state::{DepthView, ResourceEntry, State};
use crate::client::ResourceKind;
use crate::client::storage::sas::SasGrant;
use crate::sanitize::sanitize;
use crate::ui::columns::{Column, constraints};
use crate::ui::fmt::{age, fit, hms};
use crate::ui::panes::{block, filter_span};
use crate::ui::theme::Theme;

fn short_kind(k: ResourceKind) -> &'static str {
    match k {
        ResourceKind::SecuredReadyForAggregationQueue => "ingest",
        ResourceKind::TempStorage => "temp",
        ResourceKind::SuccessfulIngestionsQueue => "success",
        ResourceKind::FailedIngestionsQueue => "failure",
        ResourceKind::IngestionsStatusTable => "status",
    }
}

pub fn render(frame: &mut Frame, area: Rect, state: &State, theme: &Theme, focused: bool) {
    let r = &state.resources;
    let mut title = vec![Span::styled(" Resources ", theme.title)];
    if r.loading {
        title.push(Span::styled("loading… ", theme.muted));
    }
    if let Some(f) = filter_span(&state.resources_list.filter, theme) {
        title.push(f);
    }
    let blk = block(title, theme, focused);
    let inner = blk.inner(area);
    frame.render_widget(blk, area);
    let [info, list] = Layout::vertical([Constraint::Length(2), Constraint::Min(0)]).areas(inner);

    let when = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map(|t| format!("{} ({} ago)", hms(t), age(state.now, t)))
            .unwrap_or_else(|| "never".into())
    };
    let mut lines = vec![Line::from(vec![
        Span::styled("refreshed ", theme.muted),
        Span::raw(when(r.fetched_at)),
        Span::styled("  token ", theme.muted),
        Span::raw(
            r.token_fetched_at
                .map(|t| format!("{} old", age(state.now, t)))
                .unwrap_or_else(|| "none".into()),
        ),
    ])];
    lines.push(match &r.error {
        Some(e) => Line::styled(
            format!("{} ({})", sanitize(&e.to_string()), e.hint()),
            if e.is_transient() {
                theme.warn
            } else {
                theme.error
            },
        ),
        None => Line::from(vec![
            Span::styled("depths ", theme.muted),
            Span::raw(when(r.depths_at)),
        ]),
    });
    frame.render_widget(Paragraph::new(lines), info);

    let entries = state.visible_resources();
    let [list, detail] = Layout::vertical([Constraint::Min(0), Constraint::Length(1)]).areas(list);
    // Only the rows in view are measured.
    let in_view = entries.len().min(list.height.saturating_sub(1) as usize);
    let texts: Vec<[String; 2]> = entries
        .iter()
        .map(|e| [short_kind(e.kind).to_string(), sanitize(&e.object)])
        .collect();
    let mut cols = [
        Column::fixed("Type"),
        Column::flex("Object", 8),
        Column::fixed("SAS"),
        Column::fixed("Depth"),
    ];
    for (t, e) in texts.iter().zip(&entries).take(in_view) {
        cols[0].measure(&t[0]);
        cols[1].measure(&t[1]);
        cols[2].measure(&sas_label(e.sas.as_ref(), state.now));
        cols[3].measure(&depth_text(e));
    }
    let rows: Vec<Row> = texts
        .into_iter()
        .zip(&entries)
        .map(|([kind, object], e)| {
            let depth = match &e.depth {
                // Not readable by design (add-only SAS): muted, not an error.
                Some(DepthView::NotReadable) => Cell::from(Span::styled("n/a", theme.muted)),
                Some(DepthView::Error(_)) => Cell::from(Span::styled(depth_text(e), theme.error)),
                None if e.kind.is_queue() => Cell::from(Span::styled("?", theme.muted)),
                _ => Cell::from(depth_text(e)),
            };
            Row::new(vec![
                Cell::from(kind),
                Cell::from(object),
                Cell::from(Span::styled(
                    sas_label(e.sas.as_ref(), state.now),
                    sas_style(e.sas.as_ref(), state.now, theme),
                )),
                depth,
            ])
        })
        .collect();
    let empty = rows.is_empty();
    // The highlight symbol takes its cells only while a row is selected.
    let marker = if focused && !empty { HIGHLIGHT } else { 0 };
    let widths = constraints(&cols, list.width.saturating_sub(marker), 1);
    let table = Table::new(rows, widths)
        .header(Row::new(cols.iter().map(|c| c.header)).style(theme.title))
        .row_highlight_style(theme.selection)
        .highlight_symbol("▶ ");
    let selected = state
        .resources_list
        .selected
        .min(entries.len().saturating_sub(1));
    let mut ts = TableState::default().with_selected((focused && !empty).then_some(selected));
    frame.render_stateful_widget(table, list, &mut ts);
    if let Some(e) = entries.get(selected) {
        let line = detail_line(e);
        frame.render_widget(
            Paragraph::new(Line::styled(fit(&line, detail.width as usize), theme.muted)),
            detail,
        );
    }
}

/// The highlight symbol's cells, reserved before the columns are shared out.
const HIGHLIGHT: u16 = 2;

fn depth_text(e: &ResourceEntry) -> String {
    match &e.depth {
        Some(DepthView::Count(n)) => format!("~{n}"),
        Some(DepthView::NotReadable) => "n/a".into(),
        Some(DepthView::Error(err)) => format!("err: {}", sanitize(err)),
        None if e.kind.is_queue() => "?".into(),
        None => String::new(),
    }
}

/// "rp 5m": the SAS's permissions and the time left until it expires ("rp exp" after, styled as an error).
pub fn sas_label(sas: Option<&SasGrant>, now: DateTime<Utc>) -> String {
    let Some(g) = sas else {
        return String::new();
    };
    let sp = sanitize(g.permissions.as_deref().unwrap_or("?"));
    match g.expires_at {
        Some(_) if g.is_expired(now) => format!("{sp} exp"),
        Some(at) => format!("{sp} {}", age(at, now)),
        None => sp,
    }
}

/// Under ten minutes to expiry is a warning (kingest refreshes resources, but a stale list
/// will soon fail); expired is an error.
fn sas_style(sas: Option<&SasGrant>, now: DateTime<Utc>, theme: &Theme) -> Style {
    match sas.and_then(|g| g.expires_at.map(|at| (g, at))) {
        Some((g, _)) if g.is_expired(now) => theme.error,
        Some((_, at)) if at - now < chrono::Duration::minutes(10) => theme.warn,
        _ => theme.base,
    }
}

/// The selected resource's whole name and what its SAS lets kingest do:
/// "failedingestions @ devstoreaccount1 · peek, discard, no early release".
pub fn detail_line(e: &ResourceEntry) -> String {
    let mut line = format!("{} @ {}", sanitize(&e.object), sanitize(&e.account));
    if let Some(g) = &e.sas {
        line.push_str(" · ");
        line.push_str(&g.abilities_line(e.kind));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(sp: &str, expires_in_secs: i64) -> (ResourceEntry, DateTime<Utc>) {
        let now = DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
        let e = ResourceEntry {
            kind: ResourceKind::FailedIngestionsQueue,
            account: "acct".into(),
            object: "failedingestions".into(),
            depth: None,
            sas: Some(SasGrant {
                permissions: Some(sp.into()),
                starts_at: None,
                expires_at: Some(now + chrono::Duration::seconds(expires_in_secs)),
            }),
        };
        (e, now)
    }

    #[test]
    fn sas_label_shows_permissions_and_time_left() {
        let (e, now) = entry("rp", 300);
        assert_eq!(sas_label(e.sas.as_ref(), now), "rp 5m");
        let (e, now) = entry("rp", -1);
        assert_eq!(sas_label(e.sas.as_ref(), now), "rp exp");
        assert_eq!(sas_label(None, now), "");
    }

    #[test]
    fn sas_style_warns_under_ten_minutes_and_errors_when_expired() {
        let theme = Theme::new(true, crate::app::state::ThemeName::Dark);
        let (e, now) = entry("rp", 9 * 60);
        assert_eq!(sas_style(e.sas.as_ref(), now, &theme), theme.warn);
        let (e, now) = entry("rp", 11 * 60);
        assert_eq!(sas_style(e.sas.as_ref(), now, &theme), theme.base);
        let (e, now) = entry("rp", 0);
        assert_eq!(sas_style(e.sas.as_ref(), now, &theme), theme.error);
    }

    #[test]
    fn detail_line_names_account_and_abilities() {
        let (e, _) = entry("rp", 300);
        assert_eq!(
            detail_line(&e),
            "failedingestions @ acct · peek, discard, no early release"
        );
    }
}
