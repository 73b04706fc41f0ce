//! README screenshots rendered from real runs: the real `kingest demo` in tmux, its screen
//! captured with colours (`tmux capture-pane -e`), parsed into cells and rasterised with a
//! monospace font into `assets/*.png`.
//!
//! `KINGEST_SCREENSHOTS=1 cargo test --test screenshots -- --ignored` writes them (each waits
//! for its screen's content, never a fixed time). The fast test renders a real TUI buffer and
//! decodes the PNG back. Both print SKIP without a font (`KINGEST_SCREENSHOT_FONT`, else
//! DejaVu Sans Mono) or tmux.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::tmux::{Session, tmux_available};
use unicode_width::UnicodeWidthStr;

type Rgb = [u8; 3];

const DEFAULT_FG: Rgb = [0xd0, 0xd0, 0xd0];
const DEFAULT_BG: Rgb = [0x1c, 0x1c, 0x1c];

#[derive(Debug, Clone, PartialEq)]
struct Cell {
    text: String,
    fg: Rgb,
    bg: Rgb,
    bold: bool,
}

impl Cell {
    fn blank() -> Cell {
        Cell {
            text: " ".into(),
            fg: DEFAULT_FG,
            bg: DEFAULT_BG,
            bold: false,
        }
    }
}

/// xterm's 256-colour palette.
fn xterm(n: u8) -> Rgb {
    const BASE: [Rgb; 16] = [
        [0x00, 0x00, 0x00],
        [0xcd, 0x31, 0x31],
        [0x0d, 0xbc, 0x79],
        [0xe5, 0xe5, 0x10],
        [0x24, 0x72, 0xc8],
        [0xbc, 0x3f, 0xbc],
        [0x11, 0xa8, 0xcd],
        [0xe5, 0xe5, 0xe5],
        [0x66, 0x66, 0x66],
        [0xf1, 0x4c, 0x4c],
        [0x23, 0xd1, 0x8b],
        [0xf5, 0xf5, 0x43],
        [0x3b, 0x8e, 0xea],
        [0xd6, 0x70, 0xd6],
        [0x29, 0xb8, 0xdb],
        [0xff, 0xff, 0xff],
    ];
    match n {
        0..=15 => BASE[n as usize],
        16..=231 => {
            let i = n - 16;
            let level = |v: u8| if v == 0 { 0 } else { 55 + v * 40 };
            [level(i / 36), level((i / 6) % 6), level(i % 6)]
        }
        _ => {
            let v = 8 + (n - 232) * 10;
            [v, v, v]
        }
    }
}

/// The cells of a screen captured with `tmux capture-pane -e -p`: text with SGR sequences.
fn parse_ansi(text: &str, cols: usize, rows: usize) -> Vec<Vec<Cell>> {
    let mut grid = vec![vec![Cell::blank(); cols]; rows];
    let mut pen = Cell::blank();
    let mut reverse = false;
    for (y, line) in text.lines().take(rows).enumerate() {
        let mut x = 0;
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '\x1b' {
                if chars.next_if_eq(&'[').is_none() {
                    continue;
                }
                let mut params = String::new();
                let mut end = ' ';
                for d in chars.by_ref() {
                    if d.is_ascii_digit() || d == ';' || d == ':' {
                        params.push(d);
                    } else {
                        end = d;
                        break;
                    }
                }
                if end == 'm' {
                    sgr(&params, &mut pen, &mut reverse);
                }
                continue;
            }
            let s = c.to_string();
            let w = s.width();
            if w == 0 || x >= cols {
                continue;
            }
            let (fg, bg) = if reverse {
                (pen.bg, pen.fg)
            } else {
                (pen.fg, pen.bg)
            };
            grid[y][x] = Cell {
                text: s,
                fg,
                bg,
                bold: pen.bold,
            };
            // A wide character covers the next cell too.
            for k in 1..w {
                if x + k < cols {
                    grid[y][x + k] = Cell {
                        text: String::new(),
                        fg,
                        bg,
                        bold: pen.bold,
                    };
                }
            }
            x += w;
        }
        // The rest of the line keeps the pen's background (tmux ends a line at its last cell).
        for cell in grid[y].iter_mut().skip(x) {
            cell.bg = if reverse { pen.fg } else { pen.bg };
        }
    }
    grid
}

fn sgr(params: &str, pen: &mut Cell, reverse: &mut bool) {
    let nums: Vec<u16> = if params.is_empty() {
        vec![0]
    } else {
        params
            .split([';', ':'])
            .map(|p| p.parse().unwrap_or(0))
            .collect()
    };
    let mut i = 0;
    while i < nums.len() {
        let n = nums[i];
        let extended = |i: &mut usize| -> Option<Rgb> {
            match nums.get(*i + 1) {
                Some(5) => {
                    *i += 2;
                    nums.get(*i).map(|&v| xterm(v as u8))
                }
                Some(2) => {
                    *i += 4;
                    Some([nums[*i - 2] as u8, nums[*i - 1] as u8, nums[*i] as u8])
                }
                _ => None,
            }
        };
        match n {
            0 => {
                *pen = Cell::blank();
                *reverse = false;
            }
            1 => pen.bold = true,
            22 => pen.bold = false,
            7 => *reverse = true,
            27 => *reverse = false,
            30..=37 => pen.fg = xterm((n - 30) as u8),
            90..=97 => pen.fg = xterm((n - 90 + 8) as u8),
            39 => pen.fg = DEFAULT_FG,
            40..=47 => pen.bg = xterm((n - 40) as u8),
            100..=107 => pen.bg = xterm((n - 100 + 8) as u8),
            49 => pen.bg = DEFAULT_BG,
            38 => {
                if let Some(c) = extended(&mut i) {
                    pen.fg = c;
                }
            }
            48 => {
                if let Some(c) = extended(&mut i) {
                    pen.bg = c;
                }
            }
            _ => {}
        }
        i += 1;
    }
}

/// The cells of a ratatui buffer (what the TUI drew into a `TestBackend`).
fn cells_of(buf: &ratatui::buffer::Buffer) -> Vec<Vec<Cell>> {
    use ratatui::style::{Color, Modifier};
    let rgb = |c: Color, default: Rgb| match c {
        Color::Reset => default,
        Color::Black => xterm(0),
        Color::Red => xterm(1),
        Color::Green => xterm(2),
        Color::Yellow => xterm(3),
        Color::Blue => xterm(4),
        Color::Magenta => xterm(5),
        Color::Cyan => xterm(6),
        Color::Gray => xterm(7),
        Color::DarkGray => xterm(8),
        Color::LightRed => xterm(9),
        Color::LightGreen => xterm(10),
        Color::LightYellow => xterm(11),
        Color::LightBlue => xterm(12),
        Color::LightMagenta => xterm(13),
        Color::LightCyan => xterm(14),
        Color::White => xterm(15),
        Color::Indexed(n) => xterm(n),
        Color::Rgb(r, g, b) => [r, g, b],
    };
    (0..buf.area.height)
        .map(|y| {
            (0..buf.area.width)
                .map(|x| {
                    let c = &buf[(x, y)];
                    let (mut fg, mut bg) = (rgb(c.fg, DEFAULT_FG), rgb(c.bg, DEFAULT_BG));
                    if c.modifier.contains(Modifier::REVERSED) {
                        std::mem::swap(&mut fg, &mut bg);
                    }
                    Cell {
                        text: c.symbol().to_string(),
                        fg,
                        bg,
                        bold: c.modifier.contains(Modifier::BOLD),
                    }
                })
                .collect()
        })
        .collect()
}

struct Fonts {
    regular: fontdue::Font,
    bold: fontdue::Font,
    px: f32,
}

/// The monospace font: `KINGEST_SCREENSHOT_FONT` (and its `-Bold` sibling), else DejaVu Sans
/// Mono; `None` (after SKIP) when there is none.
fn fonts() -> Option<Fonts> {
    let regular = std::env::var_os("KINGEST_SCREENSHOT_FONT")
        .map(PathBuf::from)
        .unwrap_or_else(|| "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf".into());
    let Ok(bytes) = std::fs::read(&regular) else {
        println!("SKIP screenshots: no font at {}", regular.display());
        return None;
    };
    let load = |b: &[u8]| fontdue::Font::from_bytes(b, fontdue::FontSettings::default()).unwrap();
    let bold_path = regular.with_file_name(
        regular
            .file_stem()
            .map(|s| format!("{}-Bold.ttf", s.to_string_lossy()))
            .unwrap_or_default(),
    );
    let bold = std::fs::read(bold_path)
        .map(|b| load(&b))
        .unwrap_or_else(|_| load(&bytes));
    Some(Fonts {
        regular: load(&bytes),
        bold,
        px: 15.0,
    })
}

/// Light (1) and heavy (2) strokes of a box-drawing character: left, right, up, down. Drawn
/// as lines so borders join across cells, which font glyphs do not always do.
fn strokes(c: &str) -> Option<[u8; 4]> {
    Some(match c {
        "─" => [1, 1, 0, 0],
        "━" => [2, 2, 0, 0],
        "│" => [0, 0, 1, 1],
        "┃" => [0, 0, 2, 2],
        "┌" => [0, 1, 0, 1],
        "┐" => [1, 0, 0, 1],
        "└" => [0, 1, 1, 0],
        "┘" => [1, 0, 1, 0],
        "┏" => [0, 2, 0, 2],
        "┓" => [2, 0, 0, 2],
        "┗" => [0, 2, 2, 0],
        "┛" => [2, 0, 2, 0],
        "├" => [0, 1, 1, 1],
        "┤" => [1, 0, 1, 1],
        "┬" => [1, 1, 0, 1],
        "┴" => [1, 1, 1, 0],
        "┼" => [1, 1, 1, 1],
        _ => return None,
    })
}

struct Image {
    width: usize,
    height: usize,
    rgb: Vec<u8>,
}

/// The cells as pixels: each cell's background, then its glyph blended in its foreground.
fn rasterise(grid: &[Vec<Cell>], fonts: &Fonts) -> Image {
    let lm = fonts.regular.horizontal_line_metrics(fonts.px).unwrap();
    let cw = fonts.regular.metrics('M', fonts.px).advance_width.ceil() as usize;
    let ch = (lm.ascent - lm.descent + lm.line_gap).ceil() as usize + 1;
    let cols = grid.first().map_or(0, Vec::len);
    let (width, height) = (cols * cw, grid.len() * ch);
    let mut rgb = vec![0u8; width * height * 3];
    let mut put = |x: usize, y: usize, c: Rgb, a: f32| {
        if x < width && y < height {
            let i = (y * width + x) * 3;
            for k in 0..3 {
                let old = rgb[i + k] as f32;
                rgb[i + k] = (old + (c[k] as f32 - old) * a).round() as u8;
            }
        }
    };
    for (row, line) in grid.iter().enumerate() {
        for (col, cell) in line.iter().enumerate() {
            let (x0, y0) = (col * cw, row * ch);
            for y in 0..ch {
                for x in 0..cw {
                    put(x0 + x, y0 + y, cell.bg, 1.0);
                }
            }
            if let Some([l, r, u, d]) = strokes(&cell.text) {
                let (mx, my) = (x0 + cw / 2, y0 + ch / 2);
                let mut line = |from: (usize, usize), to: (usize, usize), weight: u8| {
                    if weight == 0 {
                        return;
                    }
                    let t = weight as usize;
                    for y in from.1..=to.1 {
                        for x in from.0..=to.0 {
                            for k in 0..t {
                                if from.1 == to.1 {
                                    put(x, y + k, cell.fg, 1.0);
                                } else {
                                    put(x + k, y, cell.fg, 1.0);
                                }
                            }
                        }
                    }
                };
                line((x0, my), (mx, my), l);
                line((mx, my), (x0 + cw - 1, my), r);
                line((mx, y0), (mx, my), u);
                line((mx, my), (mx, y0 + ch - 1), d);
                continue;
            }
            let Some(c) = cell.text.chars().next().filter(|c| !c.is_whitespace()) else {
                continue;
            };
            let font = if cell.bold {
                &fonts.bold
            } else {
                &fonts.regular
            };
            let (m, coverage) = font.rasterize(c, fonts.px);
            let base = y0 as i64 + lm.ascent.round() as i64;
            for gy in 0..m.height {
                for gx in 0..m.width {
                    let a = coverage[gy * m.width + gx] as f32 / 255.0;
                    let x = x0 as i64 + m.xmin as i64 + gx as i64;
                    let y = base - (m.height as i64 + m.ymin as i64) + gy as i64;
                    if a > 0.0 && x >= 0 && y >= 0 {
                        put(x as usize, y as usize, cell.fg, a);
                    }
                }
            }
        }
    }
    Image { width, height, rgb }
}

fn write_png(img: &Image, path: &Path) {
    let file = std::fs::File::create(path).unwrap();
    let mut enc = png::Encoder::new(
        std::io::BufWriter::new(file),
        img.width as u32,
        img.height as u32,
    );
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    enc.write_header()
        .unwrap()
        .write_image_data(&img.rgb)
        .unwrap();
}

#[test]
fn a_real_tui_buffer_renders_to_a_png_that_decodes_back() {
    let Some(fonts) = fonts() else {
        return;
    };
    let state = kingest::app::fixtures::sample_state();
    let mut term = ratatui::Terminal::new(ratatui::backend::TestBackend::new(100, 30)).unwrap();
    term.draw(|f| kingest::ui::draw(f, &state)).unwrap();
    let grid = cells_of(term.backend().buffer());
    let img = rasterise(&grid, &fonts);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shot.png");
    write_png(&img, &path);

    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(
        (info.width as usize, info.height as usize),
        (img.width, img.height)
    );
    assert_eq!(img.width % 100, 0, "whole cells across");
    assert_eq!(
        &buf[..info.buffer_size()],
        &img.rgb[..],
        "decodes to what was drawn"
    );
    // Text became pixels: a row holding "Submissions" has foreground-coloured pixels, a
    // blank cell only its background.
    let (y, x) = grid
        .iter()
        .enumerate()
        .find_map(|(y, l)| {
            let line: String = l.iter().map(|c| c.text.as_str()).collect();
            line.find("Submissions")
                .map(|b| (y, line[..b].chars().count()))
        })
        .expect("the submissions pane's title");
    let (cw, ch) = (img.width / 100, img.height / 30);
    let cell_pixels = |cx: usize, cy: usize| -> Vec<Rgb> {
        (0..ch)
            .flat_map(|py| (0..cw).map(move |px| (px, py)))
            .map(|(px, py)| {
                let i = ((cy * ch + py) * img.width + cx * cw + px) * 3;
                [img.rgb[i], img.rgb[i + 1], img.rgb[i + 2]]
            })
            .collect()
    };
    let s = cell_pixels(x, y);
    assert!(s.iter().any(|p| *p != grid[y][x].bg), "the S is drawn");
    let (bx, by) = grid
        .iter()
        .enumerate()
        .find_map(|(y, l)| l.iter().position(|c| c.text == " ").map(|x| (x, y)))
        .unwrap();
    assert!(cell_pixels(bx, by).iter().all(|p| *p == grid[by][bx].bg));
}

#[test]
fn sgr_colours_and_wide_characters_become_cells() {
    let grid = parse_ansi("\x1b[1;38;5;196mA\x1b[0m界\x1b[7mz\x1b[48;2;1;2;3m\n", 6, 2);
    assert_eq!(grid[0][0].text, "A");
    assert!(grid[0][0].bold);
    assert_eq!(grid[0][0].fg, xterm(196));
    assert_eq!(
        (grid[0][1].text.as_str(), grid[0][2].text.as_str()),
        ("界", "")
    );
    assert_eq!(
        (grid[0][3].fg, grid[0][3].bg),
        (DEFAULT_BG, DEFAULT_FG),
        "reversed"
    );
    assert_eq!(
        grid[0][5].bg, DEFAULT_FG,
        "the rest of a line keeps the pen"
    );
    assert_eq!(grid[1][0], Cell::blank());
}

/// The fonts, when screenshots are asked for (`KINGEST_SCREENSHOTS=1`) and tmux is here.
fn shooting() -> Option<Fonts> {
    if std::env::var("KINGEST_SCREENSHOTS").as_deref() != Ok("1") {
        println!("SKIP screenshots: KINGEST_SCREENSHOTS=1 writes them");
        return None;
    }
    let fonts = fonts()?;
    tmux_available().then_some(fonts)
}

/// Writes `assets/NAME.png` from the tmux session's screen.
fn shoot(s: &Session, fonts: &Fonts, name: &str, cols: usize, rows: usize) {
    let grid = parse_ansi(&s.screen_ansi(), cols, rows);
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("assets/{name}.png"));
    write_png(&rasterise(&grid, fonts), &path);
    println!("wrote {}", path.display());
}

#[test]
#[ignore = "writes assets/*.png: KINGEST_SCREENSHOTS=1 cargo test --test screenshots -- --ignored"]
fn readme_screenshots_from_the_demo() {
    let Some(fonts) = shooting() else {
        return;
    };
    let (cols, rows) = (120, 40);
    let home = tempfile::tempdir().unwrap();
    let cmd = format!(
        "env HOME={h} XDG_DATA_HOME={h}/data XDG_CONFIG_HOME={h}/config TERM=xterm-256color COLORTERM= {bin} demo",
        h = home.path().display(),
        bin = env!("CARGO_BIN_EXE_kingest"),
    );
    let s = Session::start(cols, rows, &cmd);
    let long = Duration::from_secs(90);
    // The main screen once the demo's traffic shows both outcomes in every pane.
    s.wait_for("demo rows and both streams", long, |t| {
        let row = |a: &str, b: &str| t.lines().any(|l| l.contains(a) && l.contains(b));
        row("bad-wrong", "Failed")
            && row("metrics.j", "Succeeded")
            && t.contains("Stream_WrongNumberOf")
            && t.contains("BadRequest_EmptyBlob")
            && t.contains("readyforaggregation")
    });
    shoot(&s, &fonts, "screenshot", cols as usize, rows as usize);

    // A failure's detail view: focus the failures stream, freeze it, open the selected one.
    s.focus("Failures");
    s.press(&["f"], "the frozen badge", |t| t.contains("FROZEN"));
    s.press(&["Enter"], "the detail view", |t| t.contains("What to do"));
    shoot(&s, &fonts, "failure-detail", cols as usize, rows as usize);
    // Each key waits for the screen before the next: ESC and a key arriving together read as
    // Alt+key.
    s.press(&["Escape"], "the detail view to close", |t| {
        !t.contains("What to do")
    });

    s.press(&["s"], "the submit dialog", |t| {
        t.contains("demo/files-") && t.contains("Report method")
    });
    s.press(&["-l", "events.csv"], "the typed path", |t| {
        t.lines()
            .any(|l| l.contains("demo/files-") && l.contains("events.csv"))
    });
    shoot(&s, &fonts, "submit-dialog", cols as usize, rows as usize);
    s.press(&["Escape"], "the dialog to close", |t| {
        !t.contains("Report method")
    });

    s.press(&["?"], "the help overlay", |t| {
        t.contains("Keys (Esc closes")
    });
    shoot(&s, &fonts, "help", cols as usize, rows as usize);
    s.keys(&["Escape", "q"]);
}

/// `assets/inbox-history.png`: `failures scan` and `history --group-by code,table` in a
/// shell, against an in-process emulator whose failure queue holds 48 notifications.
#[test]
#[ignore = "writes assets/inbox-history.png: KINGEST_SCREENSHOTS=1 cargo test --test screenshots -- --ignored inbox"]
fn readme_screenshot_of_the_inbox_cli() {
    let Some(fonts) = shooting() else {
        return;
    };
    use kingest::client::ResourceKind;
    use kingest::client::wire::Notification;
    let rt = tokio::runtime::Runtime::new().unwrap();
    let env = rt.block_on(common::Env::start());
    rt.block_on(async {
        let res = env.client.resources().await.unwrap();
        let queue = res
            .of_kind(ResourceKind::FailedIngestionsQueue)
            .next()
            .cloned()
            .unwrap();
        let add = common::resign(&queue, "a");
        let kinds = [
            (25, "BadRequest_EmptyBlob", "Events", "the blob is empty"),
            (
                15,
                "BadRequest_TableNotExist",
                "Missing",
                "table 'Missing' does not exist",
            ),
            (
                8,
                "Stream_WrongNumberOfFields",
                "Logs",
                "row 3 has 4 fields, not 5",
            ),
        ];
        for (n, code, table, details) in kinds {
            for _ in 0..n {
                let note = Notification {
                    database: Some("demo".into()),
                    table: Some(table.into()),
                    ingestion_source_id: Some(uuid::Uuid::new_v4().to_string()),
                    error_code: Some(code.into()),
                    failure_status: Some("Permanent".into()),
                    details: Some(details.into()),
                    ..Default::default()
                };
                env.client
                    .storage()
                    .put_message(&add, &note.to_queue_text(), None, None)
                    .await
                    .unwrap();
            }
        }
    });
    let (cols, rows) = (120, 24);
    let cmd = format!(
        "env HOME={h} XDG_DATA_HOME={h}/data XDG_CONFIG_HOME={h}/config KINGEST_INGEST_URL={url} \
         TERM=xterm-256color sh -c '{bin} failures scan --yes; echo; {bin} failures history \
         --group-by code,table; sleep 600'",
        h = env.dir.path().join("home").display(),
        url = env.emulator.url(),
        bin = env!("CARGO_BIN_EXE_kingest"),
    );
    let s = Session::start(cols, rows, &cmd);
    s.wait_for("the grouped history", Duration::from_secs(60), |t| {
        t.contains("in 3 group(s)") && t.contains("Stream_WrongNumberOfFields")
    });
    shoot(&s, &fonts, "inbox-history", cols as usize, rows as usize);
    drop(rt);
}

#[test]
#[ignore = "writes assets/resubmit-confirm.png: KINGEST_SCREENSHOTS=1 cargo test --test screenshots -- --ignored readme_screenshot_resubmit"]
fn readme_screenshot_resubmit_confirm() {
    let Some(fonts) = shooting() else {
        return;
    };
    let (cols, rows) = (120, 40);
    let home = tempfile::tempdir().unwrap();
    let cmd = format!(
        "env HOME={h} XDG_DATA_HOME={h}/data XDG_CONFIG_HOME={h}/config TERM=xterm-256color COLORTERM= {bin} demo",
        h = home.path().display(),
        bin = env!("CARGO_BIN_EXE_kingest"),
    );
    let s = Session::start(cols, rows, &cmd);
    s.wait_for("a Succeeded demo source", Duration::from_secs(90), |t| {
        t.lines()
            .any(|l| l.contains("metrics.j") && l.contains("Succeeded"))
    });
    s.focus("Submissions");
    // Only the Succeeded sources listed: `R` on the first one is refused without a yes.
    s.press(&["/"], "the filter line", |t| t.contains("Enter apply"));
    s.press(&["-l", "Succeeded"], "the typed filter", |t| {
        t.contains("/ Succeeded")
    });
    s.press(&["Enter"], "the filter applied", |t| {
        !t.contains("Enter apply")
    });
    s.press(&["R"], "the resubmit confirmation", |t| {
        t.contains("Resubmit anyway?") && t.contains("may land twice")
    });
    shoot(&s, &fonts, "resubmit-confirm", cols as usize, rows as usize);
    s.press(&["n"], "the dialog to close", |t| {
        !t.contains("Resubmit anyway?")
    });
    s.keys(&["q"]);
}

/// The status-table view (`T`): the demo's sources, every client's, counts per state.
#[test]
#[ignore = "writes assets/status-table.png; run with KINGEST_SCREENSHOTS=1 -- --ignored"]
fn readme_screenshot_of_the_status_table_view() {
    let Some(fonts) = shooting() else {
        return;
    };
    let (cols, rows) = (120, 40);
    let home = tempfile::tempdir().unwrap();
    let cmd = format!(
        "env HOME={h} XDG_DATA_HOME={h}/data XDG_CONFIG_HOME={h}/config TERM=xterm-256color COLORTERM= {bin} demo",
        h = home.path().display(),
        bin = env!("CARGO_BIN_EXE_kingest"),
    );
    let s = Session::start(cols, rows, &cmd);
    s.wait_for("the demo's outcomes", Duration::from_secs(90), |t| {
        let row = |a: &str, b: &str| t.lines().any(|l| l.contains(a) && l.contains(b));
        row("bad-wrong", "Failed") && row("metrics.j", "Succeeded")
    });
    s.press(&["T"], "the scan's confirmation", |t| {
        t.contains("WHOLE table")
    });
    s.press(&["y"], "the scan's result", |t| {
        t.contains("every matching entity read") && t.contains("Failed")
    });
    shoot(&s, &fonts, "status-table", cols as usize, rows as usize);
    s.press(&["Escape"], "the view to close", |t| {
        !t.contains("every client's sources")
    });
    s.keys(&["q"]);
}

/// The TUI's grouped failures (ErrorCode × Table × FailureStatus) with the per-minute
/// sparkline, from a real `kingest demo` run: focus the failures, group them, shoot.
#[test]
#[ignore = "renders assets/tui-grouped.png (KINGEST_SCREENSHOTS=1)"]
fn readme_screenshot_of_the_grouped_failures_with_sparkline() {
    let Some(fonts) = shooting() else {
        return;
    };
    // Wider than the others: the grouped pane needs room for its 60-minute sparkline.
    let (cols, rows) = (160, 40);
    let home = tempfile::tempdir().unwrap();
    let cmd = format!(
        "env HOME={h} XDG_DATA_HOME={h}/data XDG_CONFIG_HOME={h}/config TERM=xterm-256color COLORTERM= {bin} demo",
        h = home.path().display(),
        bin = env!("CARGO_BIN_EXE_kingest"),
    );
    let s = Session::start(cols, rows, &cmd);
    s.wait_for("failures of two codes", Duration::from_secs(90), |t| {
        t.contains("Stream_WrongNumberOf") && t.contains("BadRequest_EmptyBlob")
    });
    s.focus("Failures");
    s.press(&["z"], "the grouped view", |t| {
        t.contains("BY ErrorCode × Table × FailureStatus") && t.contains("→ now")
    });
    shoot(&s, &fonts, "tui-grouped", cols as usize, rows as usize);
    s.keys(&["q"]);
}

/// `assets/timeline.png`: a demo submission's Timeline tab (`t` in its detail view).
#[test]
#[ignore]
fn readme_screenshot_of_a_timeline() {
    let Some(fonts) = shooting() else {
        return;
    };
    let (cols, rows) = (120, 40);
    let home = tempfile::tempdir().unwrap();
    let cmd = format!(
        "env HOME={h} XDG_DATA_HOME={h}/data XDG_CONFIG_HOME={h}/config TERM=xterm-256color COLORTERM= {bin} demo",
        h = home.path().display(),
        bin = env!("CARGO_BIN_EXE_kingest"),
    );
    let s = Session::start(cols, rows, &cmd);
    s.wait_for("demo rows with outcomes", Duration::from_secs(90), |t| {
        t.lines()
            .any(|l| l.contains("bad-wrong") && l.contains("Failed"))
    });
    s.focus("Submissions");
    s.press(&["Enter"], "a submission's detail", |t| {
        t.contains("t timeline, Esc back")
    });
    s.press(&["t"], "its timeline", |t| {
        t.contains("timeline (t details") && t.contains("request_id=")
    });
    shoot(&s, &fonts, "timeline", cols as usize, rows as usize);
    s.keys(&["Escape", "q"]);
}

/// The README's forensics screenshot: in the demo, the failure of `bad-wrong-fields.csv` opened,
/// its Forensics section showing the bad record with its neighbours, why, and the fix.
#[test]
#[ignore]
fn readme_screenshot_of_forensics() {
    let Some(fonts) = shooting() else {
        return;
    };
    let (cols, rows) = (140, 56);
    let home = tempfile::tempdir().unwrap();
    let cmd = format!(
        "env HOME={h} XDG_DATA_HOME={h}/data XDG_CONFIG_HOME={h}/config TERM=xterm-256color COLORTERM= {bin} demo",
        h = home.path().display(),
        bin = env!("CARGO_BIN_EXE_kingest"),
    );
    let s = Session::start(cols, rows, &cmd);
    s.wait_for("the wrong-fields failure", Duration::from_secs(90), |t| {
        t.contains("Stream_WrongNumberOf")
    });
    s.focus("Failures");
    s.press(&["f"], "the frozen badge", |t| t.contains("FROZEN"));
    s.press(&["/"], "the filter prompt", |t| t.contains("filter"));
    s.press(&["-l", "WrongNumber"], "the typed filter", |t| {
        t.contains("WrongNumber")
    });
    s.press(&["Enter"], "the filter applied", |t| {
        t.contains("Stream_WrongNumberOf")
    });
    s.press(&["Enter"], "the forensics of the bad record", |t| {
        t.contains("Forensics") && t.contains("missing duration column") && t.contains("fix:")
    });
    shoot(&s, &fonts, "forensics", cols as usize, rows as usize);
    s.keys(&["Escape", "q"]);
}

/// A `kingest demo` session in tmux at `cols`×`rows`, waiting until the demo's traffic shows
/// a failure and a success.
fn demo_session(cols: u16, rows: u16, home: &Path) -> Session {
    let cmd = format!(
        "env HOME={h} XDG_DATA_HOME={h}/data XDG_CONFIG_HOME={h}/config TERM=xterm-256color COLORTERM= {bin} demo",
        h = home.display(),
        bin = env!("CARGO_BIN_EXE_kingest"),
    );
    let s = Session::start(cols, rows, &cmd);
    s.wait_for("the demo's outcomes", Duration::from_secs(90), |t| {
        let row = |a: &str, b: &str| t.lines().any(|l| l.contains(a) && l.contains(b));
        row("bad-wrong", "Failed") && row("metrics.j", "Succeeded")
    });
    s
}

/// `assets/preflight.png`: Ctrl-K in the submit dialog on the demo's bad-wrong-fields.csv.
#[test]
#[ignore = "writes assets/preflight.png: KINGEST_SCREENSHOTS=1 cargo test --test screenshots -- --ignored preflight"]
fn readme_screenshot_of_the_preflight_check_in_the_submit_dialog() {
    let Some(fonts) = shooting() else {
        return;
    };
    let home = tempfile::tempdir().unwrap();
    let s = demo_session(120, 40, home.path());
    s.press(&["s"], "the submit dialog", |t| {
        t.contains("demo/files-") && t.contains("Report method")
    });
    s.press(&["-l", "bad-wrong-fields.csv"], "the typed path", |t| {
        t.contains("bad-wrong-fields.csv")
    });
    s.press(&["C-k"], "the prediction", |t| t.contains("predicted:"));
    shoot(&s, &fonts, "preflight", 120, 40);
    s.keys(&["Escape"]);
    s.keys(&["q"]);
}

/// `assets/copy-chooser.png`: `y` on a failure of the demo.
#[test]
#[ignore = "writes assets/copy-chooser.png: KINGEST_SCREENSHOTS=1 cargo test --test screenshots -- --ignored copy"]
fn readme_screenshot_of_the_copy_chooser() {
    let Some(fonts) = shooting() else {
        return;
    };
    let home = tempfile::tempdir().unwrap();
    let s = demo_session(120, 40, home.path());
    s.focus("Failures");
    s.press(&["f"], "the frozen badge", |t| t.contains("FROZEN"));
    s.press(&["y"], "the copy chooser", |t| {
        t.contains(".show ingestion failures")
    });
    shoot(&s, &fonts, "copy-chooser", 120, 40);
    s.keys(&["Escape"]);
    s.keys(&["q"]);
}
