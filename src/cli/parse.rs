//! From the command line to a [`Cli`]: clap parses, then the connection and TUI flags given
//! before a command are carried to it (`kingest --cluster URL resources`), or refused when the
//! command takes none (`kingest --cluster URL emulator`).

use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory as _, FromArgMatches as _};

use crate::cli::args::{Cli, Command, Connection};

/// Parses `args` (the program name first) as `kingest` does.
pub fn parse<I, T>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let mut cmd = Cli::command();
    let matches = cmd.try_get_matches_from_mut(args)?;
    let mut cli = Cli::from_arg_matches(&matches).map_err(|e| e.format(&mut cmd))?;
    settle(&mut cli, &matches).map_err(|msg| {
        clap::Error::raw(clap::error::ErrorKind::ArgumentConflict, msg).format(&mut cmd)
    })?;
    Ok(cli)
}

/// The command's leaf matches: where its own flags were parsed.
fn leaf(m: &ArgMatches) -> &ArgMatches {
    m.subcommand().map_or(m, |(_, sub)| leaf(sub))
}

fn given(m: &ArgMatches, id: &str) -> bool {
    m.try_get_raw(id).is_ok_and(|v| v.is_some())
        && m.value_source(id) == Some(ValueSource::CommandLine)
}

fn settle(cli: &mut Cli, matches: &ArgMatches) -> Result<(), String> {
    let Some(command) = cli.command.as_mut() else {
        return Ok(());
    };
    let before = cli.conn.clone();
    let name = leaf_name(matches);
    if let Command::Demo(d) = command {
        d.tui = d.tui.or(cli.tui);
    } else if let Some(flag) = ["read_only", "mouse"]
        .into_iter()
        .find(|id| given(matches, id))
    {
        return Err(format!(
            "--{} opens no TUI here: it applies to `kingest` alone and `kingest demo`, not to `{name}`",
            flag.replace('_', "-")
        ));
    }
    match command.connection_mut() {
        Some(conn) => conn.overlay(&before, matches, leaf(matches)),
        None => {
            if let Some(id) = Connection::IDS.iter().find(|id| given(matches, id)) {
                return Err(format!(
                    "--{} does not apply to `{name}`: it talks to no cluster",
                    id.replace('_', "-")
                ));
            }
        }
    }
    Ok(())
}

/// `failures peek`, `emulator`, …
fn leaf_name(m: &ArgMatches) -> String {
    let mut names = Vec::new();
    let mut m = m;
    while let Some((n, sub)) = m.subcommand() {
        names.push(n);
        m = sub;
    }
    names.join(" ")
}

macro_rules! overlay_fields {
    ($($field:ident),* $(,)?) => {
        impl Connection {
            /// The argument ids of every connection flag.
            pub const IDS: &[&str] = &[$(stringify!($field)),*];

            /// Takes each flag given on the command line before the command (`before`, parsed
            /// into `before_m`) that the command's own flags (`own_m`) did not give: a flag
            /// after the command wins, and either beats the environment.
            pub fn overlay(&mut self, before: &Connection, before_m: &ArgMatches, own_m: &ArgMatches) {
                $(
                    if given(before_m, stringify!($field)) && !given(own_m, stringify!($field)) {
                        self.$field = before.$field.clone();
                    }
                )*
            }
        }
    };
}

overlay_fields!(
    context,
    ingest_url,
    cluster,
    auth,
    token,
    tenant_id,
    client_id,
    client_secret,
    timeout,
    discard_concurrency,
);

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Args as _;

    fn conn_of(args: &[&str]) -> Connection {
        let mut cli = parse(args.iter().copied()).unwrap();
        cli.command
            .as_mut()
            .unwrap()
            .connection_mut()
            .unwrap()
            .clone()
    }

    #[test]
    fn every_connection_flag_is_carried_over() {
        let cmd = Connection::augment_args(clap::Command::new("x"));
        let mut ids: Vec<_> = cmd.get_arguments().map(|a| a.get_id().as_str()).collect();
        let mut known = Connection::IDS.to_vec();
        ids.sort_unstable();
        known.sort_unstable();
        assert_eq!(
            ids, known,
            "a new Connection field must be listed in overlay_fields!"
        );
    }

    #[test]
    fn flags_before_the_command_count_and_flags_after_it_win() {
        let c = conn_of(&["kingest", "--ingest-url", "http://a", "resources"]);
        assert_eq!(c.ingest_url.as_deref(), Some("http://a"));
        let c = conn_of(&["kingest", "--ingest-url", "http://a", "failures", "peek"]);
        assert_eq!(c.ingest_url.as_deref(), Some("http://a"));
        let c = conn_of(&[
            "kingest",
            "--ingest-url",
            "http://a",
            "--timeout",
            "5",
            "bulk",
            "status",
            "OP",
            "--ingest-url",
            "http://b",
        ]);
        assert_eq!(c.ingest_url.as_deref(), Some("http://b"));
        assert_eq!(c.timeout, Some(5));
    }

    #[test]
    fn connection_and_tui_flags_are_refused_where_they_do_nothing() {
        for args in [
            &["kingest", "--cluster", "https://x", "emulator"][..],
            &["kingest", "--read-only", "resources"],
            &["kingest", "--mouse", "completions", "bash"],
        ] {
            let e = parse(args.iter().copied()).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{args:?}");
            let text = e.to_string();
            assert!(
                text.contains("does not apply to") || text.contains("opens no TUI here"),
                "{text}"
            );
        }
        let cli = parse(["kingest", "--read-only", "demo"]).unwrap();
        let Some(Command::Demo(d)) = cli.command else {
            panic!("not demo")
        };
        assert!(d.tui.read_only);
    }
}
