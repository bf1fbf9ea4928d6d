use std::process::ExitCode;

use clap::Parser;

/// The static (musl) build replaces musl's `malloc` with mimalloc for the
/// whole process, libgit2 included (`override`, see docs/binary.md); other
/// builds keep the system's.
#[cfg(target_env = "musl")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = docsync::settings::flags::Cli::parse();
    // The one place the process environment is read. Variables that are not
    // valid UTF-8 cannot hold anything docsync reads, so they are passed over.
    let vars =
        std::env::vars_os().filter_map(|(key, value)| Some((key.into_string().ok()?, value.into_string().ok()?)));
    // One runtime for the whole run: a single thread is plenty for a handful
    // of concurrent HTTP exchanges, and keeps git2 work off worker threads.
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::from(docsync::error::Exit::LocalFailure as u8);
        }
    };
    docsync::commands::run(cli, vars, &runtime).into()
}
