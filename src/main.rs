use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = docsync::cli::Cli::parse();
    // The one place the process environment is read. Variables that are not
    // valid UTF-8 cannot hold anything docsync reads, so they are passed over.
    let vars =
        std::env::vars_os().filter_map(|(key, value)| Some((key.into_string().ok()?, value.into_string().ok()?)));
    docsync::run::run(cli, vars).into()
}
