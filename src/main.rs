use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    env_logger::Builder::from_env(
        env_logger::Env::default().default_filter_or("info,multipart=warn"),
    )
    .target(env_logger::Target::Stderr)
    .init();
    match dhanita::cli::run(dhanita::cli::Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("dhanita: {e}");
            ExitCode::FAILURE
        }
    }
}
