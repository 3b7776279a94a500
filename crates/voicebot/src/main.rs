//! `voicebot`: one binary for the service and its operators (CONTRACT.md §8).
//!
//! This crate is the edge: configuration, the CLI, logging, and the tokio drivers that run
//! the library crates. Errors here are `anyhow`; everything below returns typed errors.

mod admin;
mod batch_cmd;
mod config;
mod demo;
mod dialing;
mod heap;
mod http_log;
mod metrics;
mod progress;
mod serve;
mod speech;
mod telephony_cmd;
mod tts_cmd;

use clap::{Parser, Subcommand};

use crate::config::Config;

#[global_allocator]
static ALLOCATOR: heap::Counting = heap::Counting;

#[derive(Parser)]
#[command(name = "voicebot", version, about = "Self-hosted outbound voice calls for health programmes")]
struct Cli {
    /// Configuration file (default: ./voicebot.toml if present).
    #[arg(long, global = true, env = "VOICEBOT_CONFIG")]
    config: Option<std::path::PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the API (and, as they land, the dialer and callback sender).
    Serve,
    /// Submit a CSV as a batch, watch a batch (HTTP client of a running server).
    #[command(subcommand)]
    Batch(batch_cmd::BatchCommand),
    /// Manage integrators (the organisations that hold API keys).
    #[command(subcommand)]
    Integrators(admin::IntegratorsCommand),
    /// Manage API keys and signing secrets.
    #[command(subcommand)]
    Keys(admin::KeysCommand),
    /// Everything on loopback: server, virtual phone, a sample batch; prints the results.
    Demo {
        /// Working directory (cleared first): database, prompt cache, recordings.
        #[arg(long, default_value = "voicebot-demo")]
        dir: std::path::PathBuf,
    },
    /// The virtual phone: answers calls per a script, records what it hears.
    Phone(telephony_cmd::PhoneArgs),
    /// Place one call on a trunk and play a WAV (manual checks).
    Dial(telephony_cmd::DialArgs),
    /// Text to speech: hear a voice, list the accent table.
    #[command(subcommand)]
    Tts(tts_cmd::TtsCommand),
}

fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let directives = std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into());
    // symphonia logs ERROR when probing an upload that is not audio; that is the client's bad
    // input (answered 422 with our own message), not a server error. Named targets still win.
    let quiet = if directives.contains("symphonia") { "" } else { ",symphonia=off" };
    let filter =
        EnvFilter::try_new(format!("{directives}{quiet}")).unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .json()
        .with_span_list(false)
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

fn main() -> anyhow::Result<()> {
    heap::cap_malloc_arenas();
    let cli = Cli::parse();
    init_logging();
    let config = Config::load(cli.config.as_deref())?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        match cli.command {
            Command::Serve => serve::run(config).await,
            Command::Batch(cmd) => batch_cmd::run(&config, cmd).await,
            Command::Integrators(cmd) => admin::integrators(&config, cmd).await,
            Command::Keys(cmd) => admin::keys(&config, cmd).await,
            Command::Tts(cmd) => tts_cmd::run(&config, cmd).await,
            Command::Demo { dir } => demo::run(dir).await,
            Command::Phone(args) => telephony_cmd::phone(args).await,
            Command::Dial(args) => telephony_cmd::dial(&config, args).await,
        }
    })
}
