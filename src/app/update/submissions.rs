//! Submissions: the dialog's submit, upload progress, and tracking to the final state through
//! the one engine in `client::tracking` (status-table reads, notifications, peek windows).
//! Every change of a posted source is journaled.

use chrono::{DateTime, Utc};

use super::{advance, dur, polling, row_mut, set_status};
use crate::app::effect::Effect;
use crate::app::msg::SubmittedInfo;
use crate::app::state::{Modal, NotificationRow, Phase, Severity, State, SubmissionRow, TableRead};
use crate::client::error::Problem;
use crate::client::journal::JournalRecord;
use crate::client::tracking::{Observation, Tracker};
use crate::client::wire::{ReportLevel, ReportMethod, StatusEntity};

pub(super) fn submit(state: &mut State, fx: &mut Vec<Effect>) {
    let Some(Modal::Submit(form)) = &mut state.modal else {
        return;
    };
    // A glob or folder: list its files first, shown in the dialog; Enter again sends them.
    let path = form.path.value().trim().to_string();
    if form.current_matches().is_none() && crate::app::form::names_many(&path) {
        form.error = None;
        fx.push(Effect::Discover { input: path });
        return;
    }
    let reqs = match form.to_requests() {
        Ok(r) => r,
        Err(e) => {
            form.error = Some(e);
            return;
        }
    };
    state.modal = None;
    for req in reqs {
        state.last_database = req.database.clone();
        state.last_table = req.table.clone();
        if let Some(dir) = req.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            state.last_path = format!("{}/", dir.display());
        }
        enqueue(state, req, false, fx);
    }
    state.submissions_list.selected = 0;
}

/// A submission from outside the dialog (the demo's traffic): the same row, effect and
/// tracking as a dialog submit, but the dialog's defaults and the user's selection stay.
pub(super) fn submit_background(
    state: &mut State,
    req: crate::client::SubmitRequest,
    fx: &mut Vec<Effect>,
) {
    let selected = state
        .visible_submissions()
        .get(state.submissions_list.selected)
        .map(|r| r.id);
    enqueue(state, req, true, fx);
    // The newest row is listed first: the row the user had selected stays selected.
    if let Some(id) = selected
        && state.submissions_list.selected > 0
        && let Some(i) = state.visible_submissions().iter().position(|r| r.id == id)
    {
        state.submissions_list.selected = i;
    }
    state.dirty = true;
}

/// A new Uploading row for `req`, listed first, and the effect that submits it.
pub(super) fn enqueue(
    state: &mut State,
    req: crate::client::SubmitRequest,
    background: bool,
    fx: &mut Vec<Effect>,
) {
    let now = state.now;
    let id = state.next_submission_id;
    state.next_submission_id += 1;
    state.submissions.insert(
        0,
        SubmissionRow {
            format: req.format.map(|f| f.wire_name()).unwrap_or_default(),
            mode: req.mode,
            background,
            request: Some(req.to_json()),
            ..SubmissionRow::new(
                id,
                req.source_name(),
                req.database.clone(),
                req.table.clone(),
                req.report_level,
                req.report_method,
                now,
            )
        },
    );
    fx.push(Effect::Submit {
        id,
        req: Box::new(req),
    });
    // Polling speeds up now, not after the current (idle) interval.
    polling::peek_soon(state, now + dur(state.settings.poll.peek_busy));
}

pub(super) fn on_upload(
    state: &mut State,
    id: u64,
    at: DateTime<Utc>,
    source_id: String,
    (read, sent, total): (u64, u64, u64),
) {
    advance(state, at);
    if let Some(row) = row_mut(state, id)
        && row.phase == Phase::Uploading
    {
        row.source_id = Some(source_id);
        row.read = read;
        row.sent = sent;
        row.total = total;
        row.updated_at = at;
    }
}

pub(super) fn on_submitted(
    state: &mut State,
    id: u64,
    at: DateTime<Utc>,
    result: Result<Vec<SubmittedInfo>, Problem>,
    fx: &mut Vec<Effect>,
) {
    advance(state, at);
    let poll = state.settings.poll;
    let Some(pos) = state.submissions.iter().position(|r| r.id == id) else {
        return;
    };
    let infos = match result {
        Ok(infos) if !infos.is_empty() => infos,
        Ok(_) => {
            state.submissions[pos].phase = Phase::NotSubmitted {
                error: "the submit posted no message".into(),
            };
            return;
        }
        Err(e) => {
            let row = &mut state.submissions[pos];
            row.updated_at = at;
            row.phase = Phase::NotSubmitted {
                error: format!("{e} ({})", e.hint()),
            };
            let (file, background) = (row.file.clone(), row.background);
            if !background {
                set_status(
                    state,
                    format!("submit of {file} failed: {e}"),
                    Severity::Error,
                );
            }
            return;
        }
    };
    let count = infos.len();
    // The row stands for the first message; every further chunk gets a row of its own
    // (tracked as any other, listed under the first: `State::visible_submissions`).
    let template = state.submissions[pos].clone();
    let mut rows = Vec::with_capacity(count);
    let mut said = String::new();
    for (i, info) in infos.into_iter().enumerate() {
        let mut row = if i == 0 {
            template.clone()
        } else {
            let id = state.next_submission_id;
            state.next_submission_id += 1;
            SubmissionRow {
                id,
                ..template.clone()
            }
        };
        said = posted(&mut row, info, at, &poll);
        journal(fx, &row, &state.settings.cluster, at);
        rows.push(row);
    }
    state.submissions.splice(pos..=pos, rows);
    let file = template.file.clone();
    let what = if count > 1 {
        format!("{said} {file} in {count} chunks")
    } else {
        format!("{said} {file}")
    };
    if !template.background {
        set_status(state, what, Severity::Ok);
    }
    polling::peek_soon(state, at + dur(poll.peek_busy));
    polling::depths_soon(state);
}

/// `row` posted as `info` describes: tracked from now on (final at once when the engine
/// answered).
fn posted(
    row: &mut SubmissionRow,
    info: SubmittedInfo,
    at: DateTime<Utc>,
    poll: &crate::app::state::PollConfig,
) -> String {
    row.updated_at = at;
    row.source_id = Some(info.source_id.clone());
    row.blob = info.blob;
    row.message_id = info.message_id;
    row.format = info.format;
    row.chunk = info.chunk;
    if row.total == 0 || info.chunk.is_some() {
        row.total = info.raw_data_size;
    }
    row.read = row.total;
    let reports = row.report_level != ReportLevel::None;
    let status_ref = info.status_ref.filter(|_| reports);
    let tracker = Tracker::start(
        info.source_id,
        info.answer.as_ref(),
        status_ref,
        reports
            && row.report_method.uses_queue()
            && info.answer.is_none()
            && info.operation.is_none(),
        at,
    )
    .with_reposts(info.reposts)
    .with_if_not_exists(info.if_not_exists)
    .with_operation(info.operation.map(|o| *o))
    .with_history(*info.history);
    let table_read = TableRead::after(&tracker, at, &poll.table, None);
    let said = match &info.answer {
        Some(a) => format!("{} {}", info.delivered.path, a.state.label()),
        None => format!("{}", info.delivered.path),
    };
    row.delivered = Some(info.delivered);
    row.phase = Phase::Posted {
        tracker: Box::new(tracker),
        table_read,
    };
    said
}

/// Status-table reads that are due.
pub(super) fn on_tick(state: &mut State, fx: &mut Vec<Effect>) {
    let now = state.now;
    for row in &mut state.submissions {
        if let Phase::Posted {
            tracker,
            table_read,
        } = &mut row.phase
            && matches!(*table_read, TableRead::Due(t) if t <= now)
        {
            match (&tracker.status_ref, &tracker.operation) {
                (Some(at), _) => {
                    *table_read = TableRead::InFlight;
                    fx.push(Effect::TableStatus {
                        id: row.id,
                        at: at.clone(),
                    });
                }
                (None, Some(op)) => {
                    *table_read = TableRead::InFlight;
                    fx.push(Effect::OperationStatus {
                        id: row.id,
                        op: op.clone(),
                    });
                }
                (None, None) => *table_read = TableRead::Off,
            }
        }
    }
}

pub(super) fn on_table_status(
    state: &mut State,
    id: u64,
    at: DateTime<Utc>,
    result: Result<Option<StatusEntity>, Problem>,
    fx: &mut Vec<Effect>,
) {
    let text = result
        .as_ref()
        .err()
        .map(ToString::to_string)
        .unwrap_or_default();
    let obs = match &result {
        Ok(Some(e)) => Observation::Entity(e),
        Ok(None) => Observation::EntityMissing,
        Err(_) => Observation::TableUnreadable(&text),
    };
    on_read(
        state,
        id,
        at,
        |t, at| t.observe(obs, at),
        result.as_ref().err(),
        fx,
    );
}

/// A REST queued operation's status read for submission `id`: the tracker picks its blob.
pub(super) fn on_operation_status(
    state: &mut State,
    id: u64,
    at: DateTime<Utc>,
    result: Result<crate::client::rest_queued::OperationStatus, Problem>,
    fx: &mut Vec<Effect>,
) {
    let read = |t: &mut Tracker, at| t.observe_rest_read(result.as_ref(), at);
    on_read(state, id, at, read, result.as_ref().err(), fx);
}

/// A read of submission `id`'s status (`feed` gives it to the tracker; `failed` when it
/// failed): the next read scheduled (later after a failure), the journal told of a change.
fn on_read(
    state: &mut State,
    id: u64,
    at: DateTime<Utc>,
    feed: impl FnOnce(&mut Tracker, DateTime<Utc>) -> bool,
    failed: Option<&Problem>,
    fx: &mut Vec<Effect>,
) {
    advance(state, at);
    let poll = state.settings.poll;
    let cluster = state.settings.cluster.clone();
    let Some(row) = row_mut(state, id) else {
        return;
    };
    let Phase::Posted {
        tracker,
        table_read,
    } = &mut row.phase
    else {
        return;
    };
    let changed = feed(tracker, at);
    *table_read = TableRead::after(tracker, at, &poll.table, failed);
    if changed {
        row.updated_at = at;
        journal(fx, row, &cluster, at);
    }
}

/// Feeds a peeked notification to the submission it names. Returns that submission's id.
pub(super) fn correlate(
    state: &mut State,
    row: &NotificationRow,
    at: DateTime<Utc>,
    fx: &mut Vec<Effect>,
) -> Option<u64> {
    let sid = row.source_id()?;
    let n = row.decoded.notification.as_ref()?;
    let cluster = state.settings.cluster.clone();
    let state_poll = state.settings.poll;
    let sub = state.submissions.iter_mut().find(|s| {
        s.source_id
            .as_deref()
            .is_some_and(|x| x.eq_ignore_ascii_case(sid))
    })?;
    if let Phase::Posted {
        tracker,
        table_read,
    } = &mut sub.phase
    {
        let obs = Observation::Notification {
            kind: row.kind,
            message_id: &row.message_id,
            notification: n,
        };
        if tracker.observe(obs, at) {
            if tracker.wants_table_confirmation(at) {
                // One more read, shortly: the table may refine the queue's verdict.
                *table_read = TableRead::Due(at + dur(state_poll.table.young));
            } else if tracker.is_final() {
                *table_read = TableRead::Off;
            }
            sub.updated_at = at;
            journal(fx, sub, &cluster, at);
        }
    }
    Some(sub.id)
}

/// Tells queue-tracked submissions that a peek window did not contain them.
pub(super) fn not_in_peek(state: &mut State, seen: &[u64], window_full: bool, at: DateTime<Utc>) {
    for sub in &mut state.submissions {
        if seen.contains(&sub.id) {
            continue;
        }
        if let Phase::Posted { tracker, .. } = &mut sub.phase
            && tracker.by_queue
            && !tracker.is_final()
        {
            tracker.observe(Observation::NotInPeek { window_full }, at);
        }
    }
}

pub(super) fn on_journal(state: &mut State, records: Vec<JournalRecord>) {
    let now = state.now;
    let poll = state.settings.poll;
    for r in records {
        if state
            .submissions
            .iter()
            .any(|s| s.source_id.as_deref() == Some(r.source_id.as_str()))
        {
            continue;
        }
        let id = state.next_submission_id;
        state.next_submission_id += 1;
        let mut tracker = Box::new(r.tracker);
        tracker.observe(Observation::Clock, now);
        // Read the table again now: the restart may have missed the outcome.
        let table_read = match TableRead::after(&tracker, now, &poll.table, None) {
            TableRead::Due(_) => TableRead::Due(now),
            other => other,
        };
        let phase = Phase::Posted {
            tracker,
            table_read,
        };
        state.submissions.push(SubmissionRow {
            id,
            file: r.file,
            database: r.database,
            table: r.table,
            format: r.format,
            mode: r.mode,
            report_level: r
                .report_level
                .parse()
                .unwrap_or(ReportLevel::FailuresAndSuccesses),
            report_method: r.report_method.parse().unwrap_or(ReportMethod::Table),
            phase,
            total: r.size,
            read: r.size,
            sent: 0,
            started_at: r.at,
            updated_at: r.at,
            source_id: Some(r.source_id),
            blob: r.blob,
            message_id: r.message_id,
            chunk: r.chunk,
            delivered: None,
            background: false,
            resubmit_of: r.resubmit_of,
            request: r.request,
        });
    }
    state
        .submissions
        .sort_by_key(|s| std::cmp::Reverse(s.started_at));
    state.dirty = true;
}

/// The journal line for `row` as it is now; only posted sources are journaled.
pub fn record_of(
    row: &SubmissionRow,
    ingest_url: &str,
    at: DateTime<Utc>,
) -> Option<JournalRecord> {
    let tracker = row.tracker()?;
    Some(JournalRecord {
        at,
        ingest_url: ingest_url.to_string(),
        source_id: row.source_id.clone().unwrap_or_default(),
        file: row.file.clone(),
        database: row.database.clone(),
        table: row.table.clone(),
        format: row.format.clone(),
        size: row.total,
        report_level: row.report_level.as_str().to_string(),
        report_method: row.report_method.as_str().to_string(),
        mode: row.mode,
        blob: row.blob.clone(),
        message_id: row.message_id.clone(),
        tracker: tracker.clone(),
        chunk: row.chunk,
        unfinished: None,
        request: row.request.clone(),
        file_len: None,
        file_mtime_ns: None,
        resubmit_of: row.resubmit_of.clone(),
    })
}

fn journal(fx: &mut Vec<Effect>, row: &SubmissionRow, ingest_url: &str, at: DateTime<Utc>) {
    if let Some(r) = record_of(row, ingest_url, at) {
        fx.push(Effect::Journal(Box::new(r)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::fixtures::{submission, t0};
    use crate::app::state::SubState;
    use crate::client::tracking::TrackState;

    /// The TUI journals the request as asked, so a resubmit (`R` or `kingest resubmit`) keeps
    /// its mapping, header skip and tags instead of sending the source bare.
    #[test]
    fn a_tui_row_journals_its_request_for_resubmits() {
        let mut req = crate::client::SubmitRequest::new("/data/e.csv", "db", "T");
        req.mapping_reference = Some("EventsMap".into());
        req.ignore_first_record = true;
        req.tag_source = true;
        let mut row = submission(1, "/data/e.csv", SubState::Track(TrackState::Failed));
        row.request = Some(req.to_json());
        let rec = record_of(&row, "http://127.0.0.1:1", t0()).unwrap();
        let back = crate::client::resubmit::request_of(&rec);
        assert_eq!(back.mapping_reference.as_deref(), Some("EventsMap"));
        assert!(back.ignore_first_record && back.tag_source);
    }
}
