//! The event loop: terminal events and effect results become `Msg`s for `app::update`; effects
//! go to the executor; frames are drawn only when the state is dirty, at most ~30 per second.
//! While idle it sleeps until `State::next_wakeup` (the next poll), nothing else.

use std::io;
use std::time::Duration;

use crossterm::event::{Event, MouseButton, MouseEvent, MouseEventKind};
use futures::{Stream, StreamExt};
use ratatui::Terminal;
use ratatui::backend::Backend;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::time::Instant;

use crate::app::msg::Pointer;
use crate::app::{self, Msg, State};
use crate::runtime::clock::Clock;
use crate::runtime::executor::Executor;
use crate::runtime::terminal::Suspend;
use crate::ui;

/// Minimum time between two frames.
pub const FRAME_BUDGET: Duration = Duration::from_millis(33);

fn to_msg(ev: Event, state: &State) -> Option<Msg> {
    match ev {
        Event::Key(k) => Some(Msg::Key(k)),
        Event::Resize(w, h) => Some(Msg::Resize(w, h)),
        Event::Paste(s) => Some(Msg::Paste(s)),
        Event::Mouse(m) => pointer(m, state),
        _ => None,
    }
}

/// A mouse event (only sent with `--mouse`) hit-tested against the layout drawn for `state`.
fn pointer(m: MouseEvent, state: &State) -> Option<Msg> {
    let action = match m.kind {
        MouseEventKind::Down(MouseButton::Left) => Pointer::Click,
        MouseEventKind::ScrollUp => Pointer::WheelUp,
        MouseEventKind::ScrollDown => Pointer::WheelDown,
        _ => return None,
    };
    let pane = ui::pane_at(state.size, state.focus, m.column, m.row)?;
    Some(Msg::Pointer { pane, action })
}

/// Runs `msg` through `update()`: effects go to the executor, but for the clipboard, which
/// is written to the terminal drawn on (OSC 52 travels with the frames, also over SSH).
fn dispatch<B: Backend + Suspend, E: Executor>(
    terminal: &mut Terminal<B>,
    state: &mut State,
    msg: Msg,
    executor: &mut E,
) {
    for fx in app::update(state, msg) {
        match fx {
            app::Effect::Clipboard { text } => {
                let seq = app::export::osc52(&text);
                if let Err(e) = terminal.backend_mut().write_raw(&seq) {
                    tracing::warn!(error = %e, "cannot write the clipboard sequence");
                    state.set_status(
                        format!("cannot copy: writing to the terminal failed: {e}"),
                        app::state::Severity::Error,
                    );
                }
            }
            other => executor.execute(other),
        }
    }
}

/// Runs until `state.quit`, or until `state.leave` asks the runner to take over (the state is
/// returned with it set). `events` is the terminal's `EventStream` (or any stream of events
/// in tests); `msgs` carries the executor's results. When both end, the loop ends too.
pub async fn run<B, S, E>(
    terminal: &mut Terminal<B>,
    events: S,
    executor: &mut E,
    msgs: &mut UnboundedReceiver<Msg>,
    mut state: State,
    clock: Clock,
) -> anyhow::Result<State>
where
    B: Backend + Suspend,
    B::Error: Send + Sync + 'static,
    S: Stream<Item = io::Result<Event>> + Unpin,
    E: Executor,
{
    let size = terminal.size()?;
    state.size = (size.width, size.height);
    state.now = clock.now();
    for fx in app::start(&mut state) {
        executor.execute(fx);
    }
    let mut events = events.fuse();
    let mut events_done = false;
    let mut msgs_done = false;
    let mut last_draw: Option<Instant> = None;
    let mut frames: u64 = 0;
    loop {
        if std::mem::take(&mut state.suspend) {
            terminal.backend_mut().suspend()?;
            // The shell drew over the screen, and it may have been resized meanwhile.
            terminal.clear()?;
            let size = terminal.size()?;
            dispatch(
                terminal,
                &mut state,
                Msg::Resize(size.width, size.height),
                executor,
            );
            dispatch(terminal, &mut state, Msg::Tick(clock.now()), executor);
            // The screen is blank now: repaint at once, whatever the frame budget says.
            last_draw = None;
        }
        if state.dirty && last_draw.is_none_or(|t| t.elapsed() >= FRAME_BUDGET) {
            terminal.draw(|f| ui::draw(f, &state))?;
            state.dirty = false;
            last_draw = Some(Instant::now());
            frames += 1;
            // Start-up time and idle redraws can be read from the log (`KINGEST_LOG`).
            if frames == 1 {
                tracing::debug!("first frame drawn");
            }
            tracing::trace!(frames, "frame drawn");
        }
        if state.quit || state.leave.is_some() || (events_done && msgs_done) {
            break;
        }
        let wake = state.next_wakeup().map(|t| clock.instant_at(t));
        let frame = state
            .dirty
            .then(|| last_draw.map(|t| t + FRAME_BUDGET))
            .flatten();
        let deadline = [wake, frame].into_iter().flatten().min();
        let sleep = async move {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            ev = events.next(), if !events_done => match ev {
                Some(Ok(ev)) => {
                    if let Some(msg) = to_msg(ev, &state) {
                        // Keys act at the current time (archive names, submission ages).
                        dispatch(terminal, &mut state, Msg::Tick(clock.now()), executor);
                        dispatch(terminal, &mut state, msg, executor);
                    }
                }
                Some(Err(e)) => return Err(e.into()),
                None => events_done = true,
            },
            msg = msgs.recv(), if !msgs_done => match msg {
                Some(msg) => {
                    dispatch(terminal, &mut state, msg, executor);
                    // Coalesce: handle everything already queued before drawing.
                    while let Ok(more) = msgs.try_recv() {
                        dispatch(terminal, &mut state, more, executor);
                    }
                }
                None => msgs_done = true,
            },
            _ = sleep => {
                if wake.is_some_and(|w| w <= Instant::now()) {
                    dispatch(terminal, &mut state, Msg::Tick(clock.now()), executor);
                }
            }
        }
    }
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::Effect;
    use crate::app::fixtures::t0;
    use crate::app::state::{Pane, Settings};
    use crate::runtime::executor::Recorder;
    use crossterm::event::{KeyCode, KeyEvent};
    use ratatui::backend::TestBackend;

    fn key(c: KeyCode) -> io::Result<Event> {
        Ok(Event::Key(KeyEvent::from(c)))
    }

    #[tokio::test]
    async fn headless_keys_drive_the_loop_until_quit() {
        let mut term = Terminal::new(TestBackend::new(100, 30)).unwrap();
        let (_tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let mut exec = Recorder::default();
        let events = futures::stream::iter(vec![
            key(KeyCode::Tab),
            Ok(Event::Resize(130, 40)),
            key(KeyCode::Char('p')),
            key(KeyCode::Char('q')),
        ]);
        let state = State::new(Settings::default(), t0());
        let end = run(
            &mut term,
            events,
            &mut exec,
            &mut rx,
            state,
            Clock::starting_at(t0()),
        )
        .await
        .unwrap();
        assert!(end.quit);
        assert_eq!(end.focus, Pane::Failures);
        assert_eq!(end.size, (130, 40));
        let peeks = exec
            .effects
            .iter()
            .filter(|e| matches!(e, Effect::Peek { .. }))
            .count();
        // Start peeks both queues; `p` while they are in flight does not pile up more.
        assert_eq!(peeks, 2);
        assert!(matches!(
            exec.effects[0],
            Effect::LoadResources { force: false }
        ));
        let screen = term.backend().to_string();
        assert!(screen.contains("Submissions"), "{screen}");
    }

    fn mouse(kind: MouseEventKind, column: u16, row: u16) -> io::Result<Event> {
        Ok(Event::Mouse(MouseEvent {
            kind,
            column,
            row,
            modifiers: crossterm::event::KeyModifiers::NONE,
        }))
    }

    #[tokio::test]
    async fn mouse_events_are_hit_tested_and_ctrl_z_redraws_and_carries_on() {
        let mut term = Terminal::new(TestBackend::new(120, 40)).unwrap();
        let (_tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let mut exec = Recorder::default();
        let events = futures::stream::iter(vec![
            // Bottom left of the grid: the failures pane.
            mouse(MouseEventKind::Down(MouseButton::Left), 3, 30),
            // The header is no pane; a right click and a move do nothing.
            mouse(MouseEventKind::Down(MouseButton::Left), 3, 0),
            mouse(MouseEventKind::Down(MouseButton::Right), 3, 5),
            mouse(MouseEventKind::Moved, 3, 5),
            Ok(Event::Key(KeyEvent::new(
                KeyCode::Char('z'),
                crossterm::event::KeyModifiers::CONTROL,
            ))),
            // Top left: resources; the wheel focuses it too.
            mouse(MouseEventKind::ScrollDown, 3, 5),
            key(KeyCode::Char('q')),
        ]);
        let state = State::new(Settings::default(), t0());
        let end = run(
            &mut term,
            events,
            &mut exec,
            &mut rx,
            state,
            Clock::starting_at(t0()),
        )
        .await
        .unwrap();
        assert!(end.quit);
        assert!(!end.suspend, "the loop took the suspend request");
        assert_eq!(end.focus, Pane::Resources);
        let screen = term.backend().to_string();
        assert!(screen.contains("Failures"), "{screen}");
    }
}
