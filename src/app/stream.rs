//! A notification stream pane's data: the bounded ring, what a frozen stream holds back, and
//! two indexes kept up to date on every push, eviction and filter change, so that drawing a
//! frame never walks the buffer: the rows matching the filter, and their groups.

use std::cmp::Reverse;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use chrono::{DateTime, Utc};

use crate::app::ring::{Pushed, Ring};
use crate::app::state::{Filter, ListState, NotificationRow};
use crate::client::error::Problem;
use crate::client::wire::NotificationKind;

/// Rows kept per stream (and held back per frozen stream) unless configured
/// (`stream_capacity`): ~1 KB each as decoded, so two full streams stay within a few hundred MB.
pub const DEFAULT_CAPACITY: usize = 100_000;

/// A notification stream pane.
#[derive(Debug, Clone)]
pub struct Stream {
    pub kind: NotificationKind,
    ring: Ring<NotificationRow>,
    /// Selection and filter text (set the filter with `set_filter`, which re-indexes).
    pub list: ListState,
    frozen: bool,
    /// Arrived while frozen, bounded like the ring; merged on unfreeze.
    held: Ring<NotificationRow>,
    /// Rows pushed out of the ring or of `held` by newer ones since the start.
    dropped: u64,
    grouped: bool,
    index: Index,
    /// Arrival times within the last minute, for the rate.
    pub arrivals: VecDeque<DateTime<Utc>>,
    pub last_peek: Option<DateTime<Utc>>,
    /// Message ids the last successful peek returned, sorted: a peek that returns the same
    /// set (in a window that is not full) saw no change of the queue.
    pub peeked_ids: Vec<String>,
    pub error: Option<Problem>,
    /// Acknowledged MessageIds (the inbox's, kept locally): hidden unless `show_acked`.
    acked: HashSet<String>,
    show_acked: bool,
}

/// A group's first and last time (FailedOn/SucceededOn, else when seen) and its rows per
/// minute over the last [`SPARK_MINUTES`], oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupStats {
    pub first: DateTime<Utc>,
    pub last: DateTime<Utc>,
    pub per_minute: Vec<u32>,
}

/// Minutes the grouped view's sparkline covers.
pub const SPARK_MINUTES: usize = crate::client::inbox::SPARK_MINUTES;

/// The rows matching the filter (newest first, by sequence number) and their groups.
#[derive(Debug, Clone, Default)]
struct Index {
    filter: Filter,
    matching: VecDeque<u64>,
    groups: Groups,
}

/// Matching rows grouped by `NotificationRow::group_key`, the most recently active first.
#[derive(Debug, Clone, Default)]
struct Groups {
    by_key: HashMap<String, Group>,
    /// Each group under its newest row's sequence number (unique, so one entry per group).
    order: BTreeMap<Reverse<u64>, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Group {
    count: usize,
    newest: u64,
}

impl Groups {
    /// Counts row `seq`: newer than every row counted so far (a push), or older than all of
    /// them (rebuilding newest first).
    fn add(&mut self, key: &str, seq: u64, newest: bool) {
        let replaced = match self.by_key.get_mut(key) {
            Some(g) => {
                g.count += 1;
                if !newest {
                    return;
                }
                Some(std::mem::replace(&mut g.newest, seq))
            }
            None => {
                self.by_key.insert(
                    key.to_string(),
                    Group {
                        count: 1,
                        newest: seq,
                    },
                );
                None
            }
        };
        if let Some(old) = replaced {
            self.order.remove(&Reverse(old));
        }
        self.order.insert(Reverse(seq), key.to_string());
    }

    /// The oldest counted row left: its group's newest row stays unless it was the only one.
    fn remove_oldest(&mut self, key: &str) {
        if let Some(g) = self.by_key.get_mut(key) {
            g.count -= 1;
            if g.count == 0 {
                let newest = g.newest;
                self.by_key.remove(key);
                self.order.remove(&Reverse(newest));
            }
        }
    }
}

/// One group as listed: its key, how many matching rows it has, and the newest of them.
#[derive(Debug, Clone, Copy)]
pub struct GroupRow<'a> {
    pub key: &'a str,
    pub count: usize,
    pub newest: &'a NotificationRow,
}

impl Stream {
    pub fn new(kind: NotificationKind, capacity: usize) -> Self {
        Stream {
            kind,
            ring: Ring::new(capacity),
            list: ListState::default(),
            frozen: false,
            held: Ring::new(capacity),
            dropped: 0,
            grouped: false,
            index: Index::default(),
            arrivals: VecDeque::new(),
            last_peek: None,
            peeked_ids: Vec::new(),
            error: None,
            acked: HashSet::new(),
            show_acked: false,
        }
    }

    /// Whether the list shows row `r` (the filter aside): acknowledged rows only on request.
    fn listed(&self, r: &NotificationRow) -> bool {
        self.show_acked || !self.acked.contains(&r.message_id)
    }

    pub fn is_acked(&self, message_id: &str) -> bool {
        self.acked.contains(message_id)
    }

    pub fn shows_acked(&self) -> bool {
        self.show_acked
    }

    pub fn acked_len(&self) -> usize {
        self.acked.len()
    }

    /// Marks `ids` acknowledged (or not) and re-indexes the list.
    pub fn set_acked<'a>(&mut self, ids: impl IntoIterator<Item = &'a str>, ack: bool) {
        for id in ids {
            if ack {
                self.acked.insert(id.to_string());
            } else {
                self.acked.remove(id);
            }
        }
        self.reindex();
    }

    pub fn set_show_acked(&mut self, show: bool) {
        self.show_acked = show;
        self.reindex();
    }

    /// Whether row `r` is history: not among what the last peek of the queue returned (seen
    /// earlier, or restored from the inbox).
    pub fn is_history(&self, r: &NotificationRow) -> bool {
        self.peeked_ids.binary_search(&r.message_id).is_err()
    }

    /// The matching rows' first/last time and per-minute counts, by group key, for the
    /// groups in `keys` only (one pass over the matching rows).
    pub fn group_stats(
        &self,
        keys: &HashSet<&str>,
        now: DateTime<Utc>,
    ) -> HashMap<String, GroupStats> {
        let mut out: HashMap<String, GroupStats> = HashMap::new();
        let now_minute = now.timestamp().div_euclid(60);
        for r in self.matching_rows() {
            let key = r.group_key();
            if !keys.contains(key.as_ref()) {
                continue;
            }
            let t = r.when().unwrap_or(r.seen_at);
            let g = out.entry(key.into_owned()).or_insert_with(|| GroupStats {
                first: t,
                last: t,
                per_minute: vec![0; SPARK_MINUTES],
            });
            g.first = g.first.min(t);
            g.last = g.last.max(t);
            let ago = now_minute - t.timestamp().div_euclid(60);
            if let Ok(ago) = usize::try_from(ago)
                && ago < SPARK_MINUTES
            {
                g.per_minute[SPARK_MINUTES - 1 - ago] += 1;
            }
        }
        out
    }

    /// Rows buffered (not counting those held back while frozen).
    pub fn len(&self) -> usize {
        self.ring.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ring.is_empty()
    }

    pub fn capacity(&self) -> usize {
        self.ring.capacity()
    }

    pub fn held_len(&self) -> usize {
        self.held.len()
    }

    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    pub fn is_frozen(&self) -> bool {
        self.frozen
    }

    pub fn is_grouped(&self) -> bool {
        self.grouped
    }

    /// Whether a row with this MessageId is buffered or held back.
    pub fn contains(&self, message_id: &str) -> bool {
        self.ring.contains(message_id) || self.held.contains(message_id)
    }

    /// Every buffered row, newest first.
    pub fn rows(&self) -> impl Iterator<Item = &NotificationRow> {
        self.ring.iter()
    }

    pub fn row(&self, message_id: &str) -> Option<&NotificationRow> {
        self.ring.get_key(message_id)
    }

    /// Adds a row just seen (held back while frozen). Returns whether it was new.
    pub fn push(&mut self, mut row: NotificationRow) -> bool {
        if self.contains(&row.message_id) {
            return false;
        }
        row.decoded.compact();
        if self.frozen {
            let pushed = self.held.push_newest(row);
            if pushed.as_ref().is_some_and(|p| p.evicted.is_some()) {
                self.dropped += 1;
            }
            return pushed.is_some();
        }
        self.admit(row)
    }

    fn admit(&mut self, row: NotificationRow) -> bool {
        let group = (self.listed(&row) && self.index.filter.matches_row(&row, &mut Vec::new()))
            .then(|| row.group_key().into_owned());
        let Some(Pushed { seq, evicted }) = self.ring.push_newest(row) else {
            return false;
        };
        if let Some(key) = group {
            self.index.matching.push_front(seq);
            self.index.groups.add(&key, seq, true);
        }
        if let Some((old, row)) = evicted {
            self.dropped += 1;
            // The evicted row is the oldest, so if it matched it is the index's last.
            if self.index.matching.back() == Some(&old) {
                self.index.matching.pop_back();
                self.index.groups.remove_oldest(&row.group_key());
            }
        }
        true
    }

    /// Freezing stops new rows from reaching the list; unfreezing merges what was held back.
    pub fn set_frozen(&mut self, frozen: bool) {
        self.frozen = frozen;
        if !frozen {
            let held: Vec<_> = self.held.drain_oldest_first().collect();
            for row in held {
                self.admit(row);
            }
        }
    }

    pub fn set_grouped(&mut self, grouped: bool) {
        self.grouped = grouped;
        self.list.selected = 0;
    }

    /// Applies a new filter: one pass over the buffer, lower-casing into one reused buffer.
    pub fn set_filter(&mut self, text: &str) {
        self.list.filter = text.to_string();
        self.list.selected = 0;
        self.index.filter = Filter::new(text);
        self.reindex();
    }

    /// Rebuilds the index for the current filter and acknowledgements (selection kept in
    /// range).
    fn reindex(&mut self) {
        self.index.matching.clear();
        let mut groups = Groups::default();
        let mut scratch = Vec::new();
        // One pass: the groups are counted as rows match (newest first, as `regroup` does),
        // not by looking each match up again.
        for (seq, row) in self.ring.iter_seq() {
            if self.listed(row) && self.index.filter.matches_row(row, &mut scratch) {
                self.index.matching.push_back(seq);
                groups.add(&row.group_key(), seq, false);
            }
        }
        self.index.groups = groups;
        let len = self.visible_len();
        self.list.selected = self.list.selected.min(len.saturating_sub(1));
    }

    /// Recounts the groups from the matching rows (after rows left from the middle).
    fn regroup(&mut self) {
        let mut groups = Groups::default();
        for &seq in &self.index.matching {
            if let Some(row) = self.ring.get_seq(seq) {
                groups.add(&row.group_key(), seq, false);
            }
        }
        self.index.groups = groups;
    }

    /// Removes the rows with these MessageIds (buffered or held back); returns how many.
    pub fn remove_ids(&mut self, ids: &HashSet<&str>) -> usize {
        let gone = self
            .ring
            .remove_where(|r| ids.contains(r.message_id.as_str()));
        let held = self
            .held
            .remove_where(|r| ids.contains(r.message_id.as_str()));
        if !gone.is_empty() {
            let seqs: HashSet<u64> = gone.iter().map(|(s, _)| *s).collect();
            let before = self.index.matching.len();
            self.index.matching.retain(|s| !seqs.contains(s));
            if self.index.matching.len() != before {
                self.regroup();
            }
        }
        gone.len() + held.len()
    }

    /// Rows (or groups, when grouped) in the list.
    pub fn visible_len(&self) -> usize {
        if self.grouped {
            self.index.groups.by_key.len()
        } else {
            self.index.matching.len()
        }
    }

    /// Rows matching the filter, newest first.
    pub fn matching_rows(&self) -> impl Iterator<Item = &NotificationRow> {
        self.index
            .matching
            .iter()
            .filter_map(|s| self.ring.get_seq(*s))
    }

    /// `n` matching rows from position `start` (only these are looked up).
    pub fn window(&self, start: usize, n: usize) -> impl Iterator<Item = &NotificationRow> {
        self.index
            .matching
            .range(start.min(self.index.matching.len())..)
            .take(n)
            .filter_map(|s| self.ring.get_seq(*s))
    }

    /// `n` groups from position `start`, the most recently active first.
    pub fn group_window(&self, start: usize, n: usize) -> impl Iterator<Item = GroupRow<'_>> {
        self.index
            .groups
            .order
            .iter()
            .skip(start)
            .take(n)
            .filter_map(|(Reverse(seq), key)| {
                let g = self.index.groups.by_key.get(key)?;
                Some(GroupRow {
                    key,
                    count: g.count,
                    newest: self.ring.get_seq(*seq)?,
                })
            })
    }

    /// The selected row; when grouped, the newest row of the selected group.
    pub fn selected_row(&self) -> Option<&NotificationRow> {
        if self.grouped {
            self.selected_group().map(|g| g.newest)
        } else {
            self.window(self.list.selected, 1).next()
        }
    }

    pub fn selected_group(&self) -> Option<GroupRow<'_>> {
        self.grouped
            .then(|| self.group_window(self.list.selected, 1).next())
            .flatten()
    }

    /// The matching rows of the group named `key`, newest first.
    pub fn group_rows<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a NotificationRow> {
        self.matching_rows().filter(move |r| r.group_key() == key)
    }

    pub fn per_minute(&self) -> usize {
        self.arrivals.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::fixtures::{failure, failure_with};
    use crate::app::state::matches_filter;

    fn ids<'a>(rows: impl Iterator<Item = &'a NotificationRow>) -> Vec<&'a str> {
        rows.map(|r| r.message_id.as_str()).collect()
    }

    fn groups(s: &Stream) -> Vec<(String, usize, String)> {
        s.group_window(0, usize::MAX)
            .map(|g| (g.key.to_string(), g.count, g.newest.message_id.clone()))
            .collect()
    }

    /// What the index must equal: the filter and the groups computed afresh from the rows.
    fn assert_index_fresh(s: &Stream) {
        let filter = Filter::new(&s.list.filter);
        let fresh: Vec<&str> = ids(s.rows().filter(|r| filter.matches_row(r, &mut Vec::new())));
        assert_eq!(ids(s.matching_rows()), fresh, "matching rows");
        let mut want: Vec<(String, usize, String)> = Vec::new();
        for r in s.matching_rows() {
            match want.iter_mut().find(|g| g.0 == r.group_key()) {
                Some(g) => g.1 += 1,
                None => want.push((r.group_key().into(), 1, r.message_id.clone())),
            }
        }
        assert_eq!(groups(s), want, "groups, most recently active first");
    }

    #[test]
    fn the_filter_matches_like_lower_casing_the_joined_fields() {
        let mut odd = failure("m-\u{212a}elvin", "s", "Stream_ClosingQuoteMissing", 0);
        if let Some(n) = &mut odd.decoded.notification {
            n.details = Some("Ärger: \u{130}stanbul".into());
        }
        let rows = [failure("m1", "s", "BadRequest_EmptyBlob", 0), odd];
        for needle in [
            "emptyblob",
            "EMPTYBLOB",
            "!emptyblob",
            "db logs",
            "kelvin",
            "ärger",
            "i\u{307}stanbul",
            "logs badrequest",
            "zzz",
            "!zzz",
            "m-",
        ] {
            let f = Filter::new(needle);
            for r in &rows {
                let mut slow = String::new();
                r.write_filter_text(&mut slow);
                assert_eq!(
                    f.matches_row(r, &mut Vec::new()),
                    matches_filter(&slow, needle),
                    "{needle:?} on {}",
                    r.message_id
                );
            }
        }
        let hit = |n: &str, r: &NotificationRow| Filter::new(n).matches_row(r, &mut Vec::new());
        assert!(
            hit("kelvin", &rows[1]) && hit("db logs", &rows[0]) && !hit("!emptyblob", &rows[0])
        );
    }

    #[test]
    fn pushes_keep_the_filter_index_and_groups() {
        let mut s = Stream::new(NotificationKind::Failure, 10);
        s.set_filter("!emptyblob");
        s.push(failure("a", "s", "BadRequest_EmptyBlob", 1));
        s.push(failure("b", "s", "Stream_ClosingQuoteMissing", 2));
        s.push(failure("c", "s", "Download_SourceNotFound", 3));
        s.push(failure("d", "s", "Stream_ClosingQuoteMissing", 4));
        assert!(
            !s.push(failure("b", "s", "Stream_ClosingQuoteMissing", 5)),
            "dup"
        );
        assert_eq!(ids(s.matching_rows()), ["d", "c", "b"]);
        assert_eq!(
            groups(&s),
            [
                (
                    "Stream_ClosingQuoteMissing · Logs · Permanent".into(),
                    2,
                    "d".into()
                ),
                (
                    "Download_SourceNotFound · Logs · Permanent".into(),
                    1,
                    "c".into()
                ),
            ]
        );
        assert_index_fresh(&s);
        assert_eq!(ids(s.window(1, 5)), ["c", "b"]);
        assert_eq!(ids(s.window(7, 5)), Vec::<&str>::new());
    }

    #[test]
    fn evictions_from_a_full_ring_leave_the_index_and_are_counted() {
        let mut s = Stream::new(NotificationKind::Failure, 3);
        s.set_filter("closing");
        for (i, code) in ["Stream_ClosingQuoteMissing", "BadRequest_EmptyBlob"]
            .iter()
            .cycle()
            .take(7)
            .enumerate()
        {
            s.push(failure(&format!("m{i}"), "s", code, i as i64));
            assert_index_fresh(&s);
        }
        assert_eq!(ids(s.rows()), ["m6", "m5", "m4"]);
        assert_eq!(ids(s.matching_rows()), ["m6", "m4"]);
        assert_eq!(s.dropped(), 4);
        assert_eq!(
            groups(&s),
            [(
                "Stream_ClosingQuoteMissing · Logs · Permanent".into(),
                2,
                "m6".into()
            )]
        );
        // The last row of a group leaving removes the group.
        s.set_filter("");
        s.push(failure("m7", "s", "Stream_ClosingQuoteMissing", 7));
        s.push(failure("m8", "s", "Stream_ClosingQuoteMissing", 8));
        assert_eq!(
            groups(&s),
            [(
                "Stream_ClosingQuoteMissing · Logs · Permanent".into(),
                3,
                "m8".into()
            )]
        );
        assert_index_fresh(&s);
    }

    #[test]
    fn a_filter_change_reindexes_and_grouping_counts_what_matches() {
        let mut s = Stream::new(NotificationKind::Failure, 10);
        s.push(failure_with(
            "a",
            "s",
            "General_RetryAttemptsExceeded",
            "Transient",
            1,
        ));
        s.push(failure("b", "s", "Stream_ClosingQuoteMissing", 2));
        s.push(failure_with(
            "c",
            "s",
            "General_InternalServerError",
            "Transient",
            3,
        ));
        s.list.selected = 2;
        s.set_filter("TRANSIENT");
        assert_eq!(s.list.selected, 0);
        assert_eq!(ids(s.matching_rows()), ["c", "a"]);
        s.set_grouped(true);
        assert_eq!(s.visible_len(), 2);
        assert_eq!(s.selected_row().map(|r| r.message_id.as_str()), Some("c"));
        assert_index_fresh(&s);
        s.set_filter("!transient");
        assert_eq!(ids(s.matching_rows()), ["b"]);
        assert_index_fresh(&s);
        // Removing rows from the middle (a discard) recounts.
        s.set_filter("");
        let gone = s.remove_ids(&["b", "c"].into_iter().collect());
        assert_eq!(gone, 2);
        assert_eq!(ids(s.matching_rows()), ["a"]);
        assert_index_fresh(&s);
    }

    #[test]
    fn a_frozen_stream_holds_rows_back_within_the_capacity() {
        let mut s = Stream::new(NotificationKind::Failure, 3);
        s.push(failure("old", "s", "Stream_ClosingQuoteMissing", 0));
        s.set_frozen(true);
        for i in 1..=5 {
            assert!(s.push(failure(&format!("h{i}"), "s", "BadRequest_EmptyBlob", i)));
        }
        assert!(
            !s.push(failure("h5", "s", "BadRequest_EmptyBlob", 5)),
            "held dup"
        );
        assert!(
            !s.push(failure("old", "s", "BadRequest_EmptyBlob", 5)),
            "ring dup"
        );
        // Nothing reached the list; what is held back is bounded like the ring.
        assert_eq!(ids(s.matching_rows()), ["old"]);
        assert_eq!(s.held_len(), 3);
        assert_eq!(s.dropped(), 2, "h1 and h2 pushed out of the held rows");
        s.set_frozen(false);
        assert_eq!(s.held_len(), 0);
        assert_eq!(ids(s.matching_rows()), ["h5", "h4", "h3"]);
        assert_eq!(s.dropped(), 3, "old left the ring");
        assert_index_fresh(&s);
    }
}
