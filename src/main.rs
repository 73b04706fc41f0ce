use clap::Parser;

use kingest::cli::{self, Cli, Command, Failure, QueueAction};
use kingest::client::wire::NotificationKind;

fn main() {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::exit(cli::EXIT_SERVICE);
        }
    };
    let code = match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(f) => {
            eprintln!("error: {}", f.message);
            f.code
        }
    };
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    std::process::exit(code);
}

async fn run(cli: Cli) -> Result<i32, Failure> {
    let file_cfg =
        kingest::config::load(cli.config.as_deref()).map_err(|e| Failure::usage(e.to_string()))?;
    let json = cli.json;
    let headless_logs = || {
        // Headless commands log warnings to stderr; RUST_LOG raises the level.
        let filter =
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into());
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .try_init();
    };
    match cli.command {
        None => {
            let client = cli::client(&cli.conn, &file_cfg)?;
            kingest::demo::run_tui(client, &file_cfg, cli.read_only, None).await
        }
        Some(Command::Demo(args)) => kingest::demo::run(args, &file_cfg, cli.read_only).await,
        Some(Command::Emulator(args)) => {
            headless_logs();
            kingest::demo::run_emulator(args).await
        }
        Some(cmd) => {
            headless_logs();
            let client = cli::client(&cli.conn, &file_cfg)?;
            match cmd {
                Command::Resources => cli::resources(&client, json).await,
                Command::Submit(args) => cli::submit(&client, args, &file_cfg, json).await,
                Command::Status { source_id } => cli::status(&client, &source_id, json).await,
                Command::Failures { action } => {
                    queue_action(&client, NotificationKind::Failure, action, json).await
                }
                Command::Successes { action } => {
                    queue_action(&client, NotificationKind::Success, action, json).await
                }
                Command::Mgmt { csl, database } => cli::mgmt(&client, &database, &csl, json).await,
                Command::Emulator(_) | Command::Demo(_) => Ok(cli::EXIT_OK),
            }
        }
    }
}

async fn queue_action(
    client: &kingest::client::IngestClient,
    kind: NotificationKind,
    action: QueueAction,
    json: bool,
) -> Result<i32, Failure> {
    match action {
        QueueAction::Peek { n } => cli::peek(client, kind, n, json).await,
        QueueAction::Discard(args) => cli::discard(client, kind, args, json).await,
    }
}
