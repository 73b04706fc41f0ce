//! `kingest completions SHELL`: clap_complete's script for the command tree as it is.

use clap::CommandFactory as _;

use crate::cli::EXIT_OK;
use crate::cli::args::Cli;

/// The script for `shell`, as text.
pub fn script(shell: clap_complete::Shell) -> Vec<u8> {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    // Into memory first: clap_complete panics when its writer fails (a closed pipe).
    clap_complete::generate(shell, &mut cmd, "kingest", &mut out);
    out
}

/// Prints the script on stdout.
pub fn run(shell: clap_complete::Shell) -> i32 {
    crate::cli::output::write_stdout(&script(shell));
    EXIT_OK
}
