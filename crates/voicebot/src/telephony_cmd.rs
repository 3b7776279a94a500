//! `voicebot phone` (the virtual phone of CONTRACT.md §8) and `voicebot dial` (one call on a
//! trunk, for manual checks). Both run until done or Ctrl-C.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use voicebot_telephony::phone::{PhoneConfig, Script};
use voicebot_telephony::{RtpSocket, SrtpPolicy};

use crate::config::Config;

/// `voicebot phone …`
#[derive(Args)]
pub struct PhoneArgs {
    /// SIP listen address.
    #[arg(long, default_value = "127.0.0.1:5070")]
    pub listen: SocketAddr,
    /// Behaviour per dialed number (JSON, CONTRACT.md §8); default: answer and press 1.
    #[arg(long)]
    pub script: Option<PathBuf>,
    /// Write one WAV per answered call (what the phone heard) here.
    #[arg(long)]
    pub record_dir: Option<PathBuf>,
    /// RTP sockets: `per_call` (one port per call) or `shared` (one port for all calls).
    #[arg(long, default_value = "per_call", value_parser = parse_rtp_socket)]
    pub rtp_socket: RtpSocket,
    /// Run the phone's media clock SCHED_FIFO at this priority (1–99; needs CAP_SYS_NICE).
    #[arg(long)]
    pub media_priority: Option<u8>,
    /// SRTP: `off`, `optional` (take it when offered) or `mandatory` (488 without it).
    #[arg(long, default_value = "off", value_parser = parse_srtp)]
    pub srtp: SrtpPolicy,
}

fn parse_srtp(s: &str) -> Result<SrtpPolicy, String> {
    SrtpPolicy::parse(s).ok_or_else(|| format!("{s:?}: expected off, optional or mandatory"))
}

fn parse_rtp_socket(s: &str) -> Result<RtpSocket, String> {
    RtpSocket::parse(s).ok_or_else(|| format!("{s:?}: expected per_call or shared"))
}

/// `voicebot dial …`
#[derive(Args)]
pub struct DialArgs {
    /// The number to call (E.164).
    pub number: String,
    /// Trunk name from the config, or a `sip:host:port` URI.
    #[arg(long)]
    pub trunk: String,
    /// An 8 kHz 16-bit mono WAV to play after the answer.
    #[arg(long)]
    pub wav: Option<PathBuf>,
    /// SRTP for a `sip:host:port` trunk (`off`, `optional`, `mandatory`); a configured trunk uses its
    /// own `srtp` key.
    #[arg(long, default_value = "off")]
    pub srtp: String,
}

pub fn load_script(path: Option<&std::path::Path>) -> anyhow::Result<Script> {
    match path {
        None => Ok(Script::default()),
        Some(p) => {
            let text = std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            Script::from_json(&text).with_context(|| format!("parsing {}", p.display()))
        }
    }
}

pub async fn phone(args: PhoneArgs) -> anyhow::Result<()> {
    let mut config = PhoneConfig::new(args.listen);
    config.script = load_script(args.script.as_deref())?;
    config.record_dir = args.record_dir;
    config.rtp_socket = args.rtp_socket;
    config.media_priority = args.media_priority;
    config.srtp = args.srtp;
    let phone = voicebot_telephony::phone::run(config).await?;
    tracing::info!(addr = %phone.local_addr(), "virtual phone listening");
    tokio::signal::ctrl_c().await?;
    phone.shutdown().await;
    Ok(())
}

pub async fn dial(config: &Config, args: DialArgs) -> anyhow::Result<()> {
    let section = match config.trunks.iter().find(|t| t.name == args.trunk) {
        Some(t) => t.clone(),
        None if args.trunk.starts_with("sip:") => crate::config::TrunkSection {
            name: "cli".into(),
            uri: args.trunk.clone(),
            username: None,
            password: None,
            caller_id: "voicebot".into(),
            cps: 1.0,
            cps_margin: voicebot_dialer::limiter::JITTER_MARGIN,
            max_concurrent: 1,
            codecs: vec!["PCMU".into(), "PCMA".into()],
            ring_timeout_seconds: 30,
            srtp: args.srtp.clone(),
        },
        None => anyhow::bail!("no trunk named {} in the config (or give sip:host:port)", args.trunk),
    };
    let mut dial = voicebot_telephony::dial::DialConfig::new(section.telephony()?, args.number);
    dial.wav = args.wav;
    let report = voicebot_telephony::dial::run(dial).await?;
    if report.outcome != "ANSWERED" {
        std::process::exit(3);
    }
    Ok(())
}
