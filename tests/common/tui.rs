//! A headless TUI for tests: the real event loop, executor and client on a `TestBackend`
//! whose screen the test reads while keys are fed in.

use std::io;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::{Backend, ClearType, TestBackend, WindowSize};
use ratatui::buffer::Cell;
use ratatui::layout::{Position, Size};

/// A TestBackend whose screen the test can read while the loop owns the terminal.
pub struct SharedBackend {
    pub inner: TestBackend,
    pub screen: Arc<Mutex<String>>,
}

/// Headless: Ctrl-Z only redraws.
impl kingest::runtime::terminal::Suspend for SharedBackend {}

impl Backend for SharedBackend {
    type Error = std::convert::Infallible;
    fn draw<'a, I: Iterator<Item = (u16, u16, &'a Cell)>>(
        &mut self,
        content: I,
    ) -> Result<(), Self::Error> {
        self.inner.draw(content)
    }
    fn hide_cursor(&mut self) -> Result<(), Self::Error> {
        self.inner.hide_cursor()
    }
    fn show_cursor(&mut self) -> Result<(), Self::Error> {
        self.inner.show_cursor()
    }
    fn get_cursor_position(&mut self) -> Result<Position, Self::Error> {
        self.inner.get_cursor_position()
    }
    fn set_cursor_position<P: Into<Position>>(&mut self, p: P) -> Result<(), Self::Error> {
        self.inner.set_cursor_position(p)
    }
    fn clear(&mut self) -> Result<(), Self::Error> {
        self.inner.clear()
    }
    fn clear_region(&mut self, t: ClearType) -> Result<(), Self::Error> {
        self.inner.clear_region(t)
    }
    fn size(&self) -> Result<Size, Self::Error> {
        self.inner.size()
    }
    fn window_size(&mut self) -> Result<WindowSize, Self::Error> {
        self.inner.window_size()
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        let buf = self.inner.buffer();
        let mut text = String::new();
        for y in 0..buf.area.height {
            for x in 0..buf.area.width {
                text.push_str(buf[(x, y)].symbol());
            }
            text.push('\n');
        }
        *self.screen.lock().unwrap() = text;
        self.inner.flush()
    }
}

pub struct Driver {
    pub keys: futures::channel::mpsc::UnboundedSender<io::Result<Event>>,
    pub screen: Arc<Mutex<String>>,
}

impl Driver {
    pub fn key(&self, code: KeyCode) {
        self.keys
            .unbounded_send(Ok(Event::Key(KeyEvent::new(code, KeyModifiers::NONE))))
            .unwrap();
    }
    pub fn ctrl(&self, c: char) {
        self.keys
            .unbounded_send(Ok(Event::Key(KeyEvent::new(
                KeyCode::Char(c),
                KeyModifiers::CONTROL,
            ))))
            .unwrap();
    }
    pub fn text(&self, s: &str) {
        for c in s.chars() {
            self.key(KeyCode::Char(c));
        }
    }
    pub fn screen(&self) -> String {
        self.screen.lock().unwrap().clone()
    }
    /// Bounded wait for the screen to satisfy `pred` (a give-up point, not a timing assertion).
    pub async fn wait(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if pred(&s) {
                return s;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "timed out waiting for {what}; screen:\n{s}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// A terminal of `w`×`h` drawing into a screen string shared with the driver.
pub fn terminal(
    w: u16,
    h: u16,
) -> (
    Terminal<SharedBackend>,
    Driver,
    futures::channel::mpsc::UnboundedReceiver<io::Result<Event>>,
) {
    let screen = Arc::new(Mutex::new(String::new()));
    let terminal = Terminal::new(SharedBackend {
        inner: TestBackend::new(w, h),
        screen: screen.clone(),
    })
    .unwrap();
    let (keys, events) = futures::channel::mpsc::unbounded();
    (terminal, Driver { keys, screen }, events)
}

/// In the open submit dialog: moves to the Report method field and picks QueueAndTable (from
/// the default Table), so the notification streams get this source's messages too.
pub fn report_to_queue_and_table(d: &Driver) {
    for _ in 0..6 {
        d.key(KeyCode::Down);
    }
    d.ctrl('n');
}

pub fn row_with(screen: &str, a: &str, b: &str) -> bool {
    screen.lines().any(|l| l.contains(a) && l.contains(b))
}

/// Runs the TUI headlessly on `client` as `kingest` does (journal restored first), drives it
/// with `script` (which must end with `q`), and returns the final state.
pub async fn run<F, Fut>(
    client: kingest::client::IngestClient,
    opts: kingest::runtime::TuiOptions,
    script: F,
) -> kingest::app::state::State
where
    F: FnOnce(Driver) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    run_fed(client, opts, None, script).await
}

/// [`run`] with `feed` given the loop's message channel, as `kingest demo` gives its traffic.
pub async fn run_fed<F, Fut>(
    client: kingest::client::IngestClient,
    opts: kingest::runtime::TuiOptions,
    feed: Option<kingest::runtime::Feed>,
    script: F,
) -> kingest::app::state::State
where
    F: FnOnce(Driver) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    use kingest::runtime::clock::Clock;
    use kingest::runtime::executor::ClientExecutor;
    let clock = Clock::system();
    let journal = opts.journal(client.ingest_url());
    let state = opts.initial_state(client.ingest_url(), clock.now());
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    if let Some(msg) = kingest::runtime::restore(&journal, clock.now(), opts.journal_retention) {
        tx.send(msg).unwrap();
    }
    if let Some(feed) = feed {
        feed(tx.clone());
    }
    let mut executor = ClientExecutor::new(client, tx, clock, Some(journal));
    let (mut terminal, driver, events) = terminal(140, 44);
    let ui = async move {
        kingest::runtime::event_loop::run(
            &mut terminal,
            events,
            &mut executor,
            &mut rx,
            state,
            clock,
        )
        .await
        .expect("the loop ends cleanly")
    };
    let (end, ()) = tokio::join!(ui, script(driver));
    end
}
