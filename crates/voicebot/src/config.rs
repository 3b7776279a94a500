//! Configuration: `voicebot.toml` (path from `--config` / `VOICEBOT_CONFIG`, else
//! `./voicebot.toml` if it exists), then environment overrides `VOICEBOT_LISTEN`,
//! `VOICEBOT_DATABASE_URL`, `VOICEBOT_DATA_DIR` (CONTRACT.md §8). Every subcommand reads
//! the same file so the CLI and the server always agree on the database.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// HTTP listen address.
    pub listen: String,
    /// `sqlite://path` (default) or `postgres://…` (a fleet).
    pub database_url: String,
    /// PostgreSQL connections per node (SQLite ignores it).
    pub database_pool_size: u32,
    /// Prompt cache, recordings.
    pub data_dir: PathBuf,
    /// API limits and defaults.
    pub api: ApiSection,
    /// Voices: table overrides, engines, render workers.
    pub tts: voicebot_tts::TtsConfig,
    /// Our SIP/RTP side.
    pub sip: SipSection,
    /// Where calls go out.
    pub trunks: Vec<TrunkSection>,
    /// Retries, calling windows, node name.
    pub dialing: crate::dialing::DialingSection,
    /// Completion-callback sender.
    pub callbacks: CallbacksSection,
}

/// `[callbacks]`: the completion-callback sender (CONTRACT.md §7).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CallbacksSection {
    /// Accept and call URLs on loopback/private/link-local hosts (tests, the demo).
    pub allow_private: bool,
    /// Whole-request timeout per attempt.
    pub timeout_seconds: f64,
    /// Delay before each attempt; the first is when the batch becomes final.
    pub schedule_seconds: Vec<f64>,
    /// Relative jitter of each delay (0.1 = ±10 %).
    pub jitter: f64,
    /// How often an idle sender looks for due deliveries.
    pub poll_interval_ms: u64,
}

impl Default for CallbacksSection {
    fn default() -> Self {
        let s = voicebot_callback::schedule::STANDARD_SCHEDULE_SECONDS;
        CallbacksSection {
            allow_private: false,
            timeout_seconds: 15.0,
            schedule_seconds: s.iter().map(|x| *x as f64).collect(),
            jitter: 0.1,
            poll_interval_ms: 250,
        }
    }
}

impl CallbacksSection {
    /// The sender's settings; `node` names this process in leases and attempt rows.
    pub fn sender_config(&self, node: &str) -> voicebot_callback::SenderConfig {
        voicebot_callback::SenderConfig {
            node: node.to_string(),
            timeout: std::time::Duration::from_secs_f64(self.timeout_seconds.max(0.001)),
            schedule: voicebot_callback::RetrySchedule::from_seconds(&self.schedule_seconds, self.jitter),
            allow_private: self.allow_private,
            poll_interval: std::time::Duration::from_millis(self.poll_interval_ms.max(10)),
            ..voicebot_callback::SenderConfig::default()
        }
    }
}

/// `[sip]`: our SIP and RTP sockets.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SipSection {
    /// SIP UDP bind address.
    pub bind: String,
    /// Address advertised in Via/Contact/SDP when `bind` is a wildcard.
    pub advertised_ip: Option<String>,
    /// RTP port range, e.g. `[20000, 29999]`.
    pub rtp_ports: Option<[u16; 2]>,
    /// `"per_call"` (default: one RTP port per call, media accepted from any source) or `"shared"` (one
    /// port for all calls, batched sends and reads: ~25 % less CPU per packet; peers must send from the
    /// address in their SDP).
    pub rtp_socket: String,
    /// Run the media clock SCHED_FIFO at this priority (1–99) so nothing else on the machine delays its
    /// packets; needs CAP_SYS_NICE. Unset: normal priority.
    pub media_priority: Option<u8>,
}

impl Default for SipSection {
    fn default() -> Self {
        SipSection {
            bind: "127.0.0.1:0".into(),
            advertised_ip: None,
            rtp_ports: None,
            rtp_socket: "per_call".into(),
            media_priority: None,
        }
    }
}

/// `[[trunks]]` (CONTRACT.md §8).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrunkSection {
    /// Name, for logs and attempts.
    pub name: String,
    /// `sip:host:port`.
    pub uri: String,
    /// Digest username.
    #[serde(default)]
    pub username: Option<String>,
    /// Digest password.
    #[serde(default)]
    pub password: Option<String>,
    /// Number presented as caller.
    #[serde(default = "default_caller_id")]
    pub caller_id: String,
    /// Call set-ups per second, across the fleet.
    #[serde(default = "default_cps")]
    pub cps: f64,
    /// Headroom of the INVITE spacing for jitter: 0.05 spaces INVITEs 5 % wider than `1/cps`,
    /// so up to 50 ms of bunching on the way never puts `cps + 1` in one second.
    #[serde(default = "default_cps_margin")]
    pub cps_margin: f64,
    /// Calls live at once, across the fleet.
    #[serde(default = "default_max_concurrent")]
    pub max_concurrent: u32,
    /// `PCMU`, `PCMA` in preference order.
    #[serde(default = "default_codecs")]
    pub codecs: Vec<String>,
    /// CANCEL after this long ringing.
    #[serde(default = "default_ring_timeout")]
    pub ring_timeout_seconds: u64,
    /// SRTP with SDES keys: `"off"` (default), `"optional"` (offer `RTP/AVP` with `a=crypto`, plain
    /// RTP if the answer has none) or `"mandatory"` (offer `RTP/SAVP`; no crypto in the answer ends the
    /// call).
    #[serde(default = "default_srtp")]
    pub srtp: String,
}

fn default_caller_id() -> String {
    "voicebot".into()
}
fn default_cps() -> f64 {
    10.0
}
fn default_cps_margin() -> f64 {
    voicebot_dialer::limiter::JITTER_MARGIN
}
fn default_max_concurrent() -> u32 {
    100
}
fn default_codecs() -> Vec<String> {
    vec!["PCMU".into(), "PCMA".into()]
}
fn default_ring_timeout() -> u64 {
    30
}
fn default_srtp() -> String {
    "off".into()
}

impl TrunkSection {
    /// The telephony crate's view of the trunk (resolves the host).
    pub fn telephony(&self) -> anyhow::Result<voicebot_telephony::TrunkConfig> {
        let hostport = self.uri.strip_prefix("sip:").unwrap_or(&self.uri);
        let addr = std::net::ToSocketAddrs::to_socket_addrs(hostport)
            .with_context(|| format!("trunk {}: resolving {hostport}", self.name))?
            .next()
            .with_context(|| format!("trunk {}: {hostport} has no address", self.name))?;
        let mut trunk = voicebot_telephony::TrunkConfig::new(addr, self.caller_id.clone());
        trunk.host = Some(hostport.to_string());
        trunk.username = self.username.clone();
        trunk.password = self.password.clone();
        trunk.ring_timeout = std::time::Duration::from_secs(self.ring_timeout_seconds);
        trunk.srtp = voicebot_telephony::SrtpPolicy::parse(&self.srtp).with_context(|| {
            format!(
                "trunk {}: srtp must be \"off\", \"optional\" or \"mandatory\", not {:?}",
                self.name, self.srtp
            )
        })?;
        trunk.codecs = self
            .codecs
            .iter()
            .map(|c| match c.to_ascii_uppercase().as_str() {
                "PCMU" => Ok(voicebot_telephony::Codec::Pcmu),
                "PCMA" => Ok(voicebot_telephony::Codec::Pcma),
                other => anyhow::bail!("trunk {}: unknown codec {other} (PCMU or PCMA)", self.name),
            })
            .collect::<anyhow::Result<_>>()?;
        trunk.check().with_context(|| format!("trunk {}", self.name))?;
        Ok(trunk)
    }
}

/// `[api]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiSection {
    /// Recipients per request.
    pub max_recipients: usize,
    /// Bytes per request body.
    pub max_body_bytes: usize,
    /// Accent when a request names none.
    pub default_accent: String,
    /// Gender when a request names none.
    pub default_gender: String,
    /// Attempts per call unless the batch says otherwise.
    pub max_attempts: u32,
    /// Bytes per uploaded recording.
    pub max_audio_bytes: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".into(),
            database_url: "sqlite://voicebot.db".into(),
            database_pool_size: voicebot_store::DEFAULT_POOL_SIZE,
            data_dir: PathBuf::from("./voicebot-data"),
            api: ApiSection::default(),
            tts: voicebot_tts::TtsConfig::default(),
            sip: SipSection::default(),
            trunks: vec![],
            dialing: crate::dialing::DialingSection::default(),
            callbacks: CallbacksSection::default(),
        }
    }
}

impl Default for ApiSection {
    fn default() -> Self {
        let d = voicebot_api::ApiConfig::default();
        ApiSection {
            max_recipients: d.max_recipients,
            max_body_bytes: d.max_body_bytes,
            default_accent: d.default_accent,
            default_gender: d.default_gender,
            max_attempts: d.default_max_attempts,
            max_audio_bytes: d.max_audio_bytes,
        }
    }
}

impl Config {
    /// Reads the file (if any) and applies environment overrides.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Self> {
        let default_path = Path::new("voicebot.toml");
        let path = path.or_else(|| default_path.exists().then_some(default_path));
        let mut config = match path {
            Some(p) => {
                let text = std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
                toml::from_str(&text).with_context(|| format!("parsing {}", p.display()))?
            }
            None => Config::default(),
        };
        if let Ok(v) = std::env::var("VOICEBOT_LISTEN") {
            config.listen = v;
        }
        if let Ok(v) = std::env::var("VOICEBOT_DATABASE_URL") {
            config.database_url = v;
        }
        if let Ok(v) = std::env::var("VOICEBOT_DATABASE_POOL_SIZE") {
            config.database_pool_size =
                v.parse().with_context(|| format!("VOICEBOT_DATABASE_POOL_SIZE={v}: not a number"))?;
        }
        if let Ok(v) = std::env::var("VOICEBOT_DATA_DIR") {
            config.data_dir = PathBuf::from(v);
        }
        Ok(config)
    }

    /// The API's part.
    pub fn api_config(&self) -> voicebot_api::ApiConfig {
        voicebot_api::ApiConfig {
            max_recipients: self.api.max_recipients,
            max_body_bytes: self.api.max_body_bytes,
            default_accent: self.api.default_accent.to_ascii_lowercase(),
            default_gender: self.api.default_gender.to_ascii_lowercase(),
            default_max_attempts: self.api.max_attempts,
            max_audio_bytes: self.api.max_audio_bytes,
            allow_private_callbacks: self.callbacks.allow_private,
            calling_window: Some(voicebot_api::CallingWindow {
                start: self.dialing.window_start.clone(),
                end: self.dialing.window_end.clone(),
            }),
        }
    }

    /// The telephony endpoint's settings.
    pub fn telephony(&self) -> anyhow::Result<voicebot_telephony::TelephonyConfig> {
        let mut t = voicebot_telephony::TelephonyConfig::default();
        t.sip_bind = self.sip.bind.parse().with_context(|| format!("[sip] bind {}", self.sip.bind))?;
        t.advertised_ip =
            self.sip.advertised_ip.as_deref().map(str::parse).transpose().context("[sip] advertised_ip")?;
        t.rtp_bind_ip = t.advertised_ip.unwrap_or_else(|| t.sip_bind.ip());
        t.rtp_ports = self.sip.rtp_ports.map(|[lo, hi]| lo..=hi);
        t.rtp_socket = voicebot_telephony::RtpSocket::parse(&self.sip.rtp_socket).with_context(|| {
            format!("[sip] rtp_socket must be \"per_call\" or \"shared\", not {:?}", self.sip.rtp_socket)
        })?;
        t.media_priority = self.sip.media_priority;
        Ok(t)
    }

    /// The accent table: the shipped one, merged with `tts.voices_file` if set.
    pub fn voice_table(&self) -> anyhow::Result<voicebot_tts::VoiceTable> {
        match &self.tts.voices_file {
            Some(p) => voicebot_tts::VoiceTable::load_with_overrides(p)
                .with_context(|| format!("loading voices from {}", p.display())),
            None => Ok(voicebot_tts::VoiceTable::default()),
        }
    }

    /// The TTS renderer over the data dir's cache.
    pub async fn renderer(&self) -> anyhow::Result<voicebot_tts::Renderer> {
        voicebot_tts::Renderer::from_config(&self.data_dir, &self.tts)
            .await
            .context("starting the TTS renderer")
    }

    /// Opens the configured store, migrated.
    pub async fn open_store(&self) -> anyhow::Result<std::sync::Arc<dyn voicebot_store::Store>> {
        voicebot_store::open_with_pool(&self.database_url, self.database_pool_size)
            .await
            .with_context(|| format!("opening database {}", self.database_url))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_values_are_read() {
        let c: Config = toml::from_str(
            "listen = \"127.0.0.1:9\"\n[api]\nmax_recipients = 5\ndefault_accent = \"Igbo\"\n",
        )
        .unwrap();
        assert_eq!(c.listen, "127.0.0.1:9");
        assert_eq!(c.api_config().max_recipients, 5);
        assert_eq!(c.api_config().default_accent, "igbo");
        assert_eq!(c.api.max_body_bytes, 5 * 1024 * 1024);
    }

    #[test]
    fn callbacks_section() {
        let d = Config::default().callbacks.sender_config("n");
        assert_eq!(d.timeout, std::time::Duration::from_secs(15));
        assert_eq!(d.schedule.delays.len(), 10);
        assert!(!d.allow_private && !Config::default().api_config().allow_private_callbacks);
        let c: Config = toml::from_str(
            "[callbacks]\nallow_private = true\ntimeout_seconds = 1.5\nschedule_seconds = [0, 0.5]\n",
        )
        .unwrap();
        let s = c.callbacks.sender_config("n");
        assert_eq!(s.timeout, std::time::Duration::from_millis(1500));
        assert_eq!(s.schedule.delays, [std::time::Duration::ZERO, std::time::Duration::from_millis(500)]);
        assert!(s.allow_private && c.api_config().allow_private_callbacks);
    }

    #[test]
    fn fleet_settings() {
        let d = Config::default();
        assert_eq!(d.database_pool_size, voicebot_store::DEFAULT_POOL_SIZE);
        let beats = d.dialing.heartbeats().unwrap();
        assert_eq!(beats, (std::time::Duration::from_secs(2), std::time::Duration::from_secs(20)));
        let c: Config = toml::from_str(
            "database_pool_size = 4\n[dialing]\nheartbeat_seconds = 0.25\ndead_after_seconds = 2\n",
        )
        .unwrap();
        assert_eq!(c.database_pool_size, 4);
        assert_eq!(c.dialing.heartbeats().unwrap().1, std::time::Duration::from_secs(2));
        let tight: Config =
            toml::from_str("[dialing]\nheartbeat_seconds = 1\ndead_after_seconds = 2\n").unwrap();
        assert!(tight.dialing.heartbeats().is_err(), "dead_after below three heartbeats");
    }

    #[test]
    fn sip_media_settings() {
        let d = Config::default().telephony().expect("defaults");
        assert_eq!((d.rtp_socket, d.media_priority), (voicebot_telephony::RtpSocket::PerCall, None));
        let c: Config =
            toml::from_str("[sip]\nrtp_socket = \"shared\"\nmedia_priority = 10\n").expect("parses");
        let t = c.telephony().expect("valid");
        assert_eq!((t.rtp_socket, t.media_priority), (voicebot_telephony::RtpSocket::Shared, Some(10)));
        let bad: Config = toml::from_str("[sip]\nrtp_socket = \"one\"\n").expect("parses");
        let err = bad.telephony().expect_err("refused").to_string();
        assert!(err.contains("rtp_socket"), "{err}");
    }

    #[test]
    fn trunk_srtp_policy() {
        let trunk = |extra: &str| {
            let c: Config =
                toml::from_str(&format!("[[trunks]]\nname = \"t\"\nuri = \"sip:127.0.0.1:5060\"\n{extra}"))
                    .expect("parses");
            c.trunks[0].telephony()
        };
        use voicebot_telephony::SrtpPolicy;
        assert_eq!(trunk("").expect("default").srtp, SrtpPolicy::Off);
        assert_eq!(trunk("srtp = \"optional\"").expect("valid").srtp, SrtpPolicy::Optional);
        assert_eq!(trunk("srtp = \"Mandatory\"").expect("valid").srtp, SrtpPolicy::Mandatory);
        let err = trunk("srtp = \"yes\"").expect_err("refused").to_string();
        assert!(err.contains("srtp must be"), "{err}");
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(toml::from_str::<Config>("lisen = \"x\"").is_err());
    }

    /// A trunk value that would inject SIP headers (or URI parts) stops start-up, not each call.
    #[test]
    fn trunk_values_that_would_break_an_invite_are_refused_at_start() {
        let trunk = |extra: &str| {
            let toml = format!("[[trunks]]\nname = \"t\"\nuri = \"sip:127.0.0.1:5060\"\n{extra}\n");
            toml::from_str::<Config>(&toml).expect("parse").trunks[0].telephony()
        };
        assert!(trunk("caller_id = \"+2341000000000\"\nusername = \"u\"").is_ok());
        for bad in [
            "caller_id = \"+2341000000000\\r\\nP-Asserted-Identity: <sip:evil@h>\"",
            "caller_id = \"+234@evil.example\"",
            "username = \"u\\r\\nX: y\"",
        ] {
            assert!(trunk(bad).is_err(), "{bad}");
        }
    }
}
