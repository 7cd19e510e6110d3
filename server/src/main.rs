use clap::Parser;
use server::auth;
use server::config::{Command, Config};
use server::store::{self, OpenedStore};
use std::process::ExitCode;

// Rendering a page allocates and frees many small strings; mimalloc does that
// markedly cheaper than the system allocator (see BENCHMARKS.md). Built without
// transparent huge pages (`no_thp` in Cargo.toml).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    server::logging::init();
    let config = Config::parse();
    match run(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            tracing::error!("{message}");
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(config: Config) -> Result<(), String> {
    // These must not open the store: a running server holds it.
    match &config.command {
        Some(Command::Healthcheck) => return server::healthcheck(config.listen).await,
        Some(Command::User(command)) => return auth::commands::user(&config.users_file, command),
        Some(Command::Token(command)) => return auth::commands::token(&config.users_file, command),
        _ => {}
    }
    let choice = config.store_choice()?;
    let command = config.command.as_ref().unwrap_or(&Command::Serve);
    let serving = match command {
        Command::Serve => Some(config.serving()?),
        _ => None,
    };
    let opened = store::open(&choice, command.name()).await?;
    match command {
        Command::Serve => {
            let serving = serving.expect("made for serve");
            server::serve(serving, opened.store, opened.sessions).await
        }
        Command::Import { file } => {
            let count = store::transfer::import(opened.store.as_ref(), file).await?;
            println!("imported {count} customers from {}", file.display());
            Ok(())
        }
        Command::Export { file } => {
            let count = store::transfer::export(opened.store.as_ref(), file).await?;
            println!("exported {count} customers to {}", file.display());
            Ok(())
        }
        Command::Healthcheck | Command::User(_) | Command::Token(_) => {
            unreachable!("answered before the store is opened")
        }
        Command::MigrateLegacy => {
            let OpenedStore {
                redis: Some(redis), ..
            } = opened
            else {
                return Err(
                    "migrate-legacy needs a Redis store: set REDIS_SENTINELS or REDIS_URL".into(),
                );
            };
            let report = redis.migrate_legacy().await.map_err(|e| e.to_string())?;
            println!("{report}");
            Ok(())
        }
    }
}
