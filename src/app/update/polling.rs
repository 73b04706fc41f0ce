//! The schedule of background reads: notification peeks (fast while a submission of ours is
//! in flight, else at the idle interval, with an optional back-off the operator's keys reset),
//! queue depths (read again soon when a peek, a submission or a discard suggests they changed,
//! rarely otherwise) and resources.

use chrono::{DateTime, Utc};

use super::{advance, archive_path, clamp_selection, dur, submissions};
use crate::app::effect::Effect;
use crate::app::msg::{Depth, ResourcesSnapshot};
use crate::app::state::{Mode, NotificationRow, PeekRound, State};
use crate::client::error::Problem;
use crate::client::wire::NotificationKind;

pub(super) fn peek_now(state: &mut State, fx: &mut Vec<Effect>) {
    if matches!(state.schedule.peek, PeekRound::Running { .. }) {
        return;
    }
    let n = state.settings.poll.peek_count;
    for kind in [NotificationKind::Failure, NotificationKind::Success] {
        fx.push(Effect::Peek { kind, n });
    }
    state.schedule.peek = PeekRound::Running {
        pending: 2,
        new: false,
    };
}

/// Bring the next peek forward to `at` if it is due later (something of ours is in flight).
pub(super) fn peek_soon(state: &mut State, at: DateTime<Utc>) {
    if let PeekRound::Due(t) = state.schedule.peek
        && t > at
    {
        state.schedule.peek = PeekRound::Due(at);
        state.schedule.peek_interval = state.settings.poll.peek_busy;
    }
}

/// The operator acted: an idle back-off starts over, so what they look at is at most one idle
/// interval old (and never sooner than a throttled queue asked).
pub(super) fn on_activity(state: &mut State) {
    let idle = state.settings.poll.peek_idle;
    if state.schedule.peek_interval <= idle {
        return;
    }
    state.schedule.peek_interval = idle;
    let soon = state.now + dur(idle.max(throttle_wait(state)));
    if let PeekRound::Due(t) = state.schedule.peek
        && t > soon
    {
        state.schedule.peek = PeekRound::Due(soon);
    }
}

/// The queue depths may have changed: read them again `depths` after the last read (now, if
/// that has passed) instead of `depths_max`.
pub(super) fn depths_soon(state: &mut State) {
    state.schedule.depths_changed = true;
    if let Some(t) = state.schedule.next_depths {
        let soon = state
            .resources
            .depths_at
            .map_or(state.now, |d| d + dur(state.settings.poll.depths))
            .max(state.now);
        state.schedule.next_depths = Some(t.min(soon));
    }
}

fn ask_depths(state: &mut State, fx: &mut Vec<Effect>) {
    state.schedule.next_depths = None;
    state.schedule.depths_changed = false;
    fx.push(Effect::QueueDepths);
}

/// How long a throttled queue asked us to wait (Retry-After), zero when none did.
fn throttle_wait(state: &State) -> std::time::Duration {
    [&state.failures, &state.successes]
        .iter()
        .filter_map(|s| match s.error.as_ref().map(|e| &e.kind) {
            Some(crate::client::error::ProblemKind::Throttled {
                retry_after: Some(d),
            }) => Some(*d),
            _ => None,
        })
        .max()
        .unwrap_or_default()
}

pub(super) fn on_tick(state: &mut State, now: DateTime<Utc>, fx: &mut Vec<Effect>) {
    advance(state, now);
    let minute_ago = state.now - chrono::Duration::seconds(60);
    for s in [&mut state.failures, &mut state.successes] {
        while s.arrivals.front().is_some_and(|t| *t < minute_ago) {
            s.arrivals.pop_front();
        }
    }
    if matches!(state.schedule.peek, PeekRound::Due(t) if t <= now) {
        peek_now(state, fx);
    }
    if state.schedule.next_depths.is_some_and(|t| t <= now) {
        ask_depths(state, fx);
    }
    if state.schedule.next_resources.is_some_and(|t| t <= now) {
        state.schedule.next_resources = None;
        fx.push(Effect::LoadResources { force: false });
    }
}

pub(super) fn on_resources(
    state: &mut State,
    at: DateTime<Utc>,
    result: Result<ResourcesSnapshot, Problem>,
    fx: &mut Vec<Effect>,
) {
    advance(state, at);
    state.resources.loading = false;
    match result {
        Ok(snap) => {
            // Keep depths we already know for entries that stay.
            let old = std::mem::take(&mut state.resources.entries);
            state.resources.entries = snap
                .entries
                .into_iter()
                .map(|mut e| {
                    e.depth = old
                        .iter()
                        .find(|o| o.account == e.account && o.object == e.object)
                        .and_then(|o| o.depth.clone());
                    e
                })
                .collect();
            state.resources.fetched_at = Some(snap.fetched_at);
            state.resources.token_fetched_at = Some(snap.token_fetched_at);
            state.resources.error = None;
            ask_depths(state, fx);
        }
        Err(e) => state.resources.error = Some(e),
    }
    state.schedule.next_resources = Some(at + dur(state.settings.poll.resources));
}

pub(super) fn on_depths(state: &mut State, at: DateTime<Utc>, result: Result<Vec<Depth>, Problem>) {
    advance(state, at);
    let result_ok = result.is_ok();
    match result {
        Ok(depths) => {
            for e in &mut state.resources.entries {
                if let Some((_, _, d)) = depths
                    .iter()
                    .find(|(a, o, _)| *a == e.account && *o == e.object)
                {
                    e.depth = Some(d.clone());
                }
            }
            state.resources.depths_at = Some(at);
        }
        Err(e) => state.resources.error = Some(e),
    }
    let poll = &state.settings.poll;
    let quiet = result_ok && !state.schedule.depths_changed;
    let every = if quiet { poll.depths_max } else { poll.depths };
    state.schedule.next_depths = Some(at + dur(every));
}

pub(super) fn on_peeked(
    state: &mut State,
    kind: NotificationKind,
    at: DateTime<Utc>,
    result: Result<Vec<NotificationRow>, Problem>,
    fx: &mut Vec<Effect>,
) {
    advance(state, at);
    let (pending, mut new) = match state.schedule.peek {
        PeekRound::Running { pending, new } => (pending.saturating_sub(1), new),
        // A result after the round was reset (should not happen): count it as a round.
        PeekRound::Due(_) => (0, false),
    };
    match result {
        Ok(mut rows) => {
            state.stream_mut(kind).error = None;
            state.stream_mut(kind).last_peek = Some(at);
            let window_full = rows.len() >= state.settings.poll.peek_count;
            // The peek doubles as the depth's change detector: a window that is not full
            // shows every visible message, so the same ids mean the same queue.
            let mut ids: Vec<String> = rows.iter().map(|r| r.message_id.clone()).collect();
            ids.sort_unstable();
            let stream = state.stream_mut(kind);
            let changed = window_full || ids != stream.peeked_ids;
            stream.peeked_ids = ids;
            if changed {
                depths_soon(state);
            }
            // Oldest first, so that pushing each as newest leaves the newest on top.
            rows.sort_by_key(|r| r.when());
            let mut consumed = Vec::new();
            let mut ours = Vec::new();
            for row in rows {
                if let Some(id) = submissions::correlate(state, &row, at, fx) {
                    ours.push(id);
                    if state.mode == Mode::Consume {
                        consumed.push(row.message_id.clone());
                    }
                }
                let stream = state.stream_mut(kind);
                if stream.contains(&row.message_id) {
                    continue;
                }
                stream.arrivals.push_back(at);
                stream.push(row);
                new = true;
            }
            submissions::not_in_peek(state, &ours, window_full, at);
            if !consumed.is_empty() && !state.settings.read_only {
                fx.push(Effect::Discard {
                    kind,
                    ids: consumed,
                    archive: archive_path(state, kind),
                });
            }
        }
        Err(e) => state.stream_mut(kind).error = Some(e),
    }
    if pending > 0 {
        state.schedule.peek = PeekRound::Running { pending, new };
    } else {
        let interval =
            state
                .settings
                .poll
                .next_peek(state.schedule.peek_interval, new, state.peeks_busy());
        state.schedule.peek_interval = interval;
        // A throttled peek waits at least as long as the service asked (Retry-After).
        let asked = throttle_wait(state);
        state.schedule.peek = PeekRound::Due(at + dur(interval.max(asked)));
    }
    clamp_selection(state);
}
