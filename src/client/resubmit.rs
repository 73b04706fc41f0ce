//! Resubmit a journaled source (CLI `kingest resubmit`, TUI `R`): the policy ([`decide`]),
//! and the plan ([`plan`]): the same request as first sent (the journal keeps it), from the
//! local file (re-uploaded; a change since it was sent is said) or, when the file is gone, the
//! retained blob (re-posted with a SAS of the temp storage offered now). The resubmission is
//! a NEW source id, journaled with `resubmit_of` and tracked like any submission.

use crate::client::IngestClient;
use crate::client::error::{Error, Result};
use crate::client::journal::{Journal, JournalRecord};
use crate::client::submit::{BlobSource, SubmitRequest};
use crate::client::tracking::TrackState;
use crate::client::wire::{ReportLevel, ReportMethod};

/// Whether to send it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Send; with a warning to show first when it was forced.
    Send { warning: Option<String> },
    /// Refused, and why (what `--force` would risk).
    Refuse(String),
}

/// The policy, from the source's last known state. Failed (Permanent or Exhausted) and
/// Canceled sources landed nothing: sent. Retrying (a Transient failure the service retries
/// by itself), Succeeded/PartiallySucceeded/Skipped (data landed) and not-yet-final (outcome
/// unknown) sources are refused unless `force`, which then warns that the data may land
/// twice — unless it was sent with `--dedupe`: the same ingest-by tag goes again, so the
/// service skips it when its data already landed.
pub fn decide(state: TrackState, force: bool, dedupe: bool) -> Verdict {
    let why = match state {
        TrackState::Failed | TrackState::Canceled => return Verdict::Send { warning: None },
        TrackState::Retrying => "the service is still retrying it (a Transient failure): it may \
             yet land; wait for its final state"
            .to_string(),
        TrackState::Succeeded | TrackState::PartiallySucceeded | TrackState::Skipped => format!(
            "it {}: its data already landed, and sending it again would ingest it twice",
            state.label()
        ),
        TrackState::Queued | TrackState::Pending => format!(
            "its outcome is unknown (last seen {}): it may still land; run `kingest status` \
             to learn more",
            state.label()
        ),
    };
    if !force {
        return Verdict::Refuse(why);
    }
    Verdict::Send {
        warning: Some(format!("forced although {why}: {}", risk(dedupe))),
    }
}

/// What forcing a resubmission risks.
pub fn risk(dedupe: bool) -> &'static str {
    if dedupe {
        "it was sent with --dedupe, so the same ingest-by tag goes again: the service skips it \
         if its data already landed"
    } else {
        "its data may land twice"
    }
}

/// Where the resubmission's data comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The local file, uploaded again; `changed` says how it differs from when it was sent.
    File { changed: Option<String> },
    /// The retained blob (URL without its query), re-posted without an upload.
    Blob(String),
}

/// What a resubmission of one journaled source would do.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The source id as the user named it (a split source's own id, or a message's).
    pub original: String,
    /// Its last known state (kingest's aggregate over its chunks for a split source).
    pub state: TrackState,
    pub verdict: Verdict,
    /// The request to send (no source id, no journal: the caller sets it).
    pub request: SubmitRequest,
    pub origin: Origin,
    /// The name shown for it: the file, or the blob's URL without its query.
    pub file: String,
}

impl Plan {
    /// The note to show about where the data comes from, if any.
    pub fn origin_note(&self) -> Option<String> {
        match &self.origin {
            Origin::File { changed: Some(how) } => Some(format!(
                "{} changed since it was sent ({how}): sending its current content",
                self.file
            )),
            Origin::File { changed: None } => None,
            Origin::Blob(url) => Some(format!(
                "{} is not readable here: re-posting its retained blob {url}",
                self.file
            )),
        }
    }
}

/// The plan for `source_id` from the journal, or why there is none (not journaled, nothing
/// left to send).
pub fn plan(journal: &Journal, source_id: &str, force: bool) -> Result<Plan> {
    let source_id = source_id.trim();
    let records = match journal.find(source_id)? {
        Some(r) => vec![r],
        None => journal.chunks_of(source_id)?,
    };
    if records.is_empty() {
        return Err(Error::Usage(format!(
            "source {source_id} is not in the journal of {} ({}): only sources kingest \
             submitted (CLI or TUI) to this cluster can be resubmitted",
            journal.ingest_url(),
            journal.path().display()
        )));
    }
    plan_from(source_id, &records, force)
}

/// The plan for source `source_id` from its journal records: one, or its chunks' (the TUI
/// builds them from its rows).
pub fn plan_from(source_id: &str, records: &[JournalRecord], force: bool) -> Result<Plan> {
    let Some(first) = records.first() else {
        return Err(Error::Usage(format!(
            "source {source_id} is not known: nothing to resubmit"
        )));
    };
    if first.unfinished.is_some() {
        return Err(Error::Usage(format!(
            "source {source_id} was never posted (its submit was interrupted): the next \
             `kingest submit` or `status` resumes it"
        )));
    }
    let trackers: Vec<_> = records.iter().map(|r| &r.tracker).collect();
    let state = match trackers.as_slice() {
        [one] => one.state,
        many => crate::client::tracking::aggregate(many),
    };
    let mut request = request_of(first);
    request.source_id = None;
    request.resume = None;
    request.journal = None;
    let verdict = decide(state, force, request.dedupe);
    let file = first.file.clone();
    let origin = origin_of(first, &request, records.len() > 1)?;
    Ok(Plan {
        original: source_id.to_string(),
        state,
        verdict,
        request,
        origin,
        file,
    })
}

/// The request as first sent; for a record written without it (the TUI's, older ones), what
/// the record says (its `ingestIfNotExists` taken as `--dedupe`: the only way either front
/// door asks it without tags the record would name).
pub fn request_of(rec: &JournalRecord) -> SubmitRequest {
    if let Some(r) = rec.request.as_ref().and_then(SubmitRequest::from_json) {
        return r;
    }
    let mut r = SubmitRequest::new(&rec.file, &rec.database, &rec.table);
    r.format = rec.format.parse().ok();
    r.report_level = rec
        .report_level
        .parse()
        .unwrap_or(ReportLevel::FailuresAndSuccesses);
    r.report_method = rec.report_method.parse().unwrap_or(ReportMethod::Queue);
    r.mode = rec.mode;
    r.dedupe = rec.tracker.if_not_exists;
    r
}

fn origin_of(rec: &JournalRecord, req: &SubmitRequest, split: bool) -> Result<Origin> {
    let readable = !req.from_stdin && req.blob.is_none() && req.path.is_file();
    if readable {
        let changed = match (rec.file_len, crate::client::submit::file_stamp(&req.path)) {
            (Some(len), Some((now_len, _))) if len != now_len => {
                Some(format!("{len} bytes then, {now_len} now"))
            }
            (Some(_), Some((_, now_t)))
                if rec.file_mtime_ns.is_some() && rec.file_mtime_ns != now_t =>
            {
                Some("same size, modified since".to_string())
            }
            _ => None,
        };
        return Ok(Origin::File { changed });
    }
    match (&rec.blob, split) {
        (Some(blob), false) => Ok(Origin::Blob(blob.clone())),
        (_, true) => Err(Error::Usage(format!(
            "{} is not readable here and it was sent in chunks: nothing to re-post whole",
            rec.file
        ))),
        (None, false) => Err(Error::Usage(format!(
            "{} is not readable here and no retained blob of it is known: nothing to send",
            rec.file
        ))),
    }
}

/// The request ready to send: for a blob origin, its URL with the SAS of the temp container
/// holding it, as offered now (the journal keeps no SAS).
pub async fn prepared(client: &IngestClient, plan: &Plan) -> Result<SubmitRequest> {
    let mut req = plan.request.clone();
    let Origin::Blob(blob) = &plan.origin else {
        return Ok(req);
    };
    let res = client.resources().await?;
    let lower = blob.to_ascii_lowercase();
    let url = res
        .of_kind(crate::client::ResourceKind::TempStorage)
        .find_map(|c| {
            let base = c.without_query();
            let rest = lower.strip_prefix(&format!("{}/", base.to_ascii_lowercase()))?;
            Some(c.child(&blob[blob.len() - rest.len()..]))
        })
        .ok_or_else(|| {
            Error::MissingResource(format!(
                "the container of {blob} is no longer offered as temp storage: no SAS to \
                 re-post it with; submit the file again"
            ))
        })?;
    req.blob = Some(BlobSource {
        url,
        raw_size: None,
    });
    Ok(req)
}

/// The line to show when a resubmission sent with `--dedupe` was skipped by the service.
pub fn skipped_line(source_id: &str, dedupe_tag: Option<&str>) -> String {
    format!(
        "{source_id}: skipped by the service: its data already landed (ingest-by tag {})",
        dedupe_tag.unwrap_or("of its content")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [TrackState; 8] = [
        TrackState::Queued,
        TrackState::Pending,
        TrackState::Retrying,
        TrackState::Succeeded,
        TrackState::Failed,
        TrackState::PartiallySucceeded,
        TrackState::Skipped,
        TrackState::Canceled,
    ];

    #[test]
    fn policy_table_each_state_by_force_by_dedupe() {
        for state in ALL {
            for force in [false, true] {
                for dedupe in [false, true] {
                    let v = decide(state, force, dedupe);
                    let failed = matches!(state, TrackState::Failed | TrackState::Canceled);
                    match (&v, failed, force) {
                        (Verdict::Send { warning: None }, true, _) => {}
                        (Verdict::Refuse(why), false, false) => {
                            assert!(!why.is_empty(), "{state:?}");
                        }
                        (Verdict::Send { warning: Some(w) }, false, true) => {
                            if dedupe {
                                assert!(w.contains("ingest-by tag"), "{state:?}: {w}");
                                assert!(!w.contains("land twice"), "{state:?}: {w}");
                            } else {
                                assert!(w.contains("may land twice"), "{state:?}: {w}");
                            }
                        }
                        _ => panic!("{state:?} force={force} dedupe={dedupe}: {v:?}"),
                    }
                }
            }
        }
    }

    #[test]
    fn a_retrying_source_is_refused_because_the_service_retries_it() {
        let Verdict::Refuse(why) = decide(TrackState::Retrying, false, false) else {
            panic!("retrying must be refused");
        };
        assert!(why.contains("still retrying"), "{why}");
    }

    #[test]
    fn unknown_and_succeeded_say_why() {
        let Verdict::Refuse(why) = decide(TrackState::Pending, false, false) else {
            panic!()
        };
        assert!(why.contains("outcome is unknown"), "{why}");
        let Verdict::Refuse(why) = decide(TrackState::Succeeded, false, false) else {
            panic!()
        };
        assert!(why.contains("already landed"), "{why}");
    }

    fn record(dir: &std::path::Path, state: TrackState) -> (Journal, JournalRecord) {
        let journal = Journal::for_cluster(dir, "http://127.0.0.1:1");
        let file = dir.join("a.csv");
        std::fs::write(&file, "1,a\n").unwrap();
        let mut tracker = crate::client::tracking::Tracker::posted(
            "11111111-1111-1111-1111-111111111111",
            None,
            true,
            chrono::Utc::now(),
        );
        tracker.state = state;
        let mut req = SubmitRequest::new(&file, "db", "t");
        req.dedupe = true;
        let (len, t) = crate::client::submit::file_stamp(&file).unwrap();
        let rec = JournalRecord {
            at: chrono::Utc::now(),
            ingest_url: journal.ingest_url().to_string(),
            source_id: tracker.source_id.clone(),
            file: file.display().to_string(),
            database: "db".into(),
            table: "t".into(),
            format: "csv".into(),
            size: len,
            report_level: "FailuresAndSuccesses".into(),
            report_method: "Queue".into(),
            mode: crate::client::mode::IngestMode::Queued,
            blob: Some("http://127.0.0.1:1/acct/c/x.csv.gz".into()),
            message_id: None,
            tracker,
            chunk: None,
            unfinished: None,
            request: Some(req.to_json()),
            file_len: Some(len),
            file_mtime_ns: t,
            resubmit_of: None,
        };
        journal.append(&rec).unwrap();
        (journal, rec)
    }

    #[test]
    fn plan_keeps_the_request_and_says_when_the_file_changed() {
        let dir = tempfile::tempdir().unwrap();
        let (journal, rec) = record(dir.path(), TrackState::Failed);
        let p = plan(&journal, &rec.source_id.to_uppercase(), false).unwrap();
        assert_eq!(p.verdict, Verdict::Send { warning: None });
        assert!(p.request.dedupe);
        assert_eq!(p.request.source_id, None);
        assert_eq!(p.origin, Origin::File { changed: None });
        std::fs::write(dir.path().join("a.csv"), "1,a\n2,b\n").unwrap();
        let p = plan(&journal, &rec.source_id, false).unwrap();
        assert!(
            p.origin_note()
                .unwrap()
                .contains("changed since it was sent"),
            "{:?}",
            p.origin
        );
        std::fs::remove_file(dir.path().join("a.csv")).unwrap();
        let p = plan(&journal, &rec.source_id, false).unwrap();
        assert_eq!(
            p.origin,
            Origin::Blob("http://127.0.0.1:1/acct/c/x.csv.gz".into())
        );
    }

    #[test]
    fn an_unknown_source_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let (journal, _) = record(dir.path(), TrackState::Succeeded);
        let e = plan(&journal, "22222222-2222-2222-2222-222222222222", false).unwrap_err();
        assert!(e.to_string().contains("not in the journal"), "{e}");
    }
}
