//! Running baresip (Debian `baresip-core`) as the far end: a softphone with its own SIP and SRTP stack
//! (libre), one process per test, in a temporary config directory, on 127.0.0.1 only.
//!
//! It auto-answers calls for one account (its user part is the dialed number), plays a WAV to the caller
//! (`aufile`) and records what it decodes from the caller (`sndfile`: `dump-<time>-dec.wav`, whose WAV
//! header is written only when the call closes). [`BaresipConfig::mediaenc`] picks its media encryption:
//! `srtp-mand` (SDES, `RTP/SAVP` only), `srtp` (best effort) or none. Reusable for later tests that put a
//! registrar or TLS in front of it: [`BaresipConfig::account_params`] adds account parameters, and
//! [`BaresipConfig::extra_config`] adds config lines.

use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::sipp::free_port;

/// How to set baresip up.
#[derive(Debug, Clone)]
pub struct BaresipConfig {
    /// The account's user part: calls to this number are answered.
    pub user: String,
    /// `mediaenc=` value (`srtp-mand`, `srtp`, …); `None`: plain RTP.
    pub mediaenc: Option<String>,
    /// 8 kHz 16-bit WAV baresip plays to the caller once the call is up.
    pub source_wav: PathBuf,
    /// More `;key=value` account parameters (e.g. a registrar's `auth_pass`).
    pub account_params: String,
    /// More config lines (e.g. TLS certificates).
    pub extra_config: String,
}

impl BaresipConfig {
    /// Auto-answers `user`, plays `source_wav`, no media encryption.
    pub fn new(user: &str, source_wav: &Path) -> BaresipConfig {
        BaresipConfig {
            user: user.to_string(),
            mediaenc: None,
            source_wav: source_wav.to_path_buf(),
            account_params: String::new(),
            extra_config: String::new(),
        }
    }
}

/// Fails the test with a clear message when baresip is missing.
pub fn require_baresip() {
    let found =
        Command::new("baresip").arg("-h").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok();
    assert!(
        found,
        "baresip is not installed: run `apt-get install -y baresip-core` (scripts/test.sh does it)"
    );
}

/// A running baresip; killed on drop.
pub struct Baresip {
    child: Child,
    /// Its SIP address (UDP).
    pub addr: SocketAddr,
    dir: tempfile::TempDir,
}

impl Baresip {
    /// Writes the config into a temporary directory and starts baresip on a free port.
    pub fn start(config: &BaresipConfig) -> Baresip {
        require_baresip();
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port(false);
        let record = dir.path().join("record");
        std::fs::create_dir_all(&record).expect("record dir");
        let conf = format!(
            "poll_method epoll\n\
             sip_listen 127.0.0.1:{port}\n\
             net_interface 127.0.0.1\n\
             audio_player aubridge,nowhere\n\
             audio_source aufile,{source}\n\
             audio_alert aubridge,nowhere\n\
             snd_path {record}\n\
             rtp_stats no\n\
             module_path /usr/lib/baresip/modules\n\
             module g711.so\n\
             module aufile.so\n\
             module aubridge.so\n\
             module sndfile.so\n\
             module srtp.so\n\
             module_tmp account.so\n\
             {extra}\n",
            source = config.source_wav.display(),
            record = record.display(),
            extra = config.extra_config,
        );
        std::fs::write(dir.path().join("config"), conf).expect("config");
        let mediaenc = config.mediaenc.as_deref().map(|m| format!(";mediaenc={m}")).unwrap_or_default();
        let account = format!(
            "<sip:{user}@127.0.0.1>;regint=0;answermode=auto;audio_codecs=PCMU,PCMA{mediaenc}{params}\n",
            user = config.user,
            params = config.account_params,
        );
        std::fs::write(dir.path().join("accounts"), account).expect("accounts");
        std::fs::write(dir.path().join("contacts"), "").expect("contacts");
        let log = std::fs::File::create(dir.path().join("baresip.log")).expect("log file");
        let child = Command::new("baresip")
            .arg("-f")
            .arg(dir.path())
            .arg("-v")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("spawn baresip");
        let mut baresip = Baresip { child, addr: SocketAddr::from(([127, 0, 0, 1], port)), dir };
        baresip.wait_listening();
        baresip
    }

    /// Waits until baresip's SIP port is bound (our bind of it fails); fails with its log if it exits.
    fn wait_listening(&mut self) {
        let until = Instant::now() + Duration::from_secs(20);
        while Instant::now() < until {
            if UdpSocket::bind(self.addr).is_err() {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("baresip exited at start ({status}):\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("baresip did not bind {} within 20 s:\n{}", self.addr, self.log());
    }

    /// What baresip printed (for assertion messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("baresip.log")).unwrap_or_default()
    }

    /// The recording of what baresip decoded from the caller, once the call closed and the WAV
    /// header was completed (libsndfile writes a zero-length header when the call starts; waits up
    /// to `limit`).
    pub fn recording(&self, limit: Duration) -> Option<PathBuf> {
        let until = Instant::now() + limit;
        loop {
            let found = std::fs::read_dir(self.dir.path().join("record")).ok().and_then(|entries| {
                entries.flatten().map(|e| e.path()).find(|p| {
                    p.to_string_lossy().ends_with("-dec.wav")
                        && hound::WavReader::open(p).is_ok_and(|w| w.duration() > 0)
                })
            });
            if found.is_some() || Instant::now() >= until {
                return found;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Baresip {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
