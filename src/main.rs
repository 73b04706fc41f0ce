use clap::Parser;

use kingest::cli::{self, Cli};

fn main() {
    // Before anything can panic: a panic message is printed sanitised and redacted.
    kingest::sanitize::install_panic_hook();
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
