use kingest::cli;

fn main() {
    // Before anything can panic: a panic message is printed sanitised and redacted.
    kingest::sanitize::install_panic_hook();
    let cli = match cli::parse::parse(std::env::args_os()) {
        Ok(cli) => cli,
        // Help and version as clap prints them; a usage error quotes the arguments, which may
        // come from untrusted text (a file name in a script): sanitised like every error line.
        Err(e) if !e.use_stderr() => e.exit(),
        Err(e) => {
            eprint!(
                "{}",
                kingest::sanitize::sanitize_multiline(&e.render().to_string())
            );
            std::process::exit(e.exit_code());
        }
    };
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
    let code = match runtime.block_on(cli::run(cli)) {
        Ok(code) => code,
        Err(f) => {
            // Messages quote file names and service error bodies: untrusted text.
            eprintln!("error: {}", kingest::sanitize::sanitize(&f.message));
            f.code
        }
    };
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    std::process::exit(code);
}
