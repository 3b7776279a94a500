//! Running sipp (Debian `sip-tester`) as the far end: one process per test, `-m 1`, on 127.0.0.1 ports
//! picked free, its trace files in a temporary directory.

use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Path of a scenario in tests/sipp/.
pub fn scenario(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/sipp").join(name)
}

/// Fails the test with a clear message when sipp is missing.
pub fn require_sipp() {
    let found = Command::new("sipp").arg("-v").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok();
    assert!(found, "sipp is not installed: run `apt-get install -y sip-tester` (scripts/test.sh does it)");
}

/// A free UDP port on 127.0.0.1 (`pair`: also port+2 free, for sipp's RTP echo).
pub fn free_port(pair: bool) -> u16 {
    for _ in 0..200 {
        let s = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let port = s.local_addr().expect("addr").port();
        if port % 2 == 1 || port > 65_000 {
            continue;
        }
        if !pair || UdpSocket::bind(("127.0.0.1", port + 2)).is_ok() {
            return port;
        }
    }
    panic!("no free UDP port pair");
}

/// A running sipp.
pub struct Sipp {
    child: Child,
    /// Its SIP address.
    pub addr: SocketAddr,
    /// Its RTP (echo) port.
    pub media_port: u16,
    dir: tempfile::TempDir,
}

impl Sipp {
    /// Starts a sipp UAS with `scenario` for one call, RTP echo on, plus `extra` arguments.
    pub fn uas(scenario_name: &str, extra: &[&str]) -> Sipp {
        Sipp::uas_on_port(scenario_name, free_port(false), &[], extra)
    }

    /// Like [`Sipp::uas`] on a given SIP port, with `@name@` placeholders of the scenario replaced (sipp
    /// reads status codes, pauses and regexps when it loads the file, before `-key` values apply).
    pub fn uas_on_port(scenario_name: &str, port: u16, vars: &[(&str, &str)], extra: &[&str]) -> Sipp {
        require_sipp();
        let dir = tempfile::tempdir().expect("tempdir");
        let media_port = free_port(true);
        let mut xml = std::fs::read_to_string(scenario(scenario_name)).expect("read scenario");
        for (name, value) in vars {
            xml = xml.replace(&format!("@{name}@"), value);
        }
        let sf = dir.path().join(scenario_name);
        std::fs::write(&sf, xml).expect("write scenario");
        let mut cmd = Command::new("sipp");
        cmd.current_dir(dir.path())
            .arg("-sf")
            .arg(&sf)
            .args(["-m", "1", "-i", "127.0.0.1", "-mi", "127.0.0.1", "-nostdin", "-rtp_echo"])
            .args(["-p", &port.to_string(), "-mp", &media_port.to_string()])
            .args(["-timeout", "60s", "-timeout_error", "-trace_err", "-trace_msg", "-trace_stat"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let child = cmd.spawn().expect("spawn sipp");
        let mut sipp = Sipp { child, addr: SocketAddr::from(([127, 0, 0, 1], port)), media_port, dir };
        sipp.wait_listening();
        sipp
    }

    /// Waits until sipp's SIP port is bound (our bind of it fails); fails with sipp's stderr if it exits.
    fn wait_listening(&mut self) {
        let until = Instant::now() + Duration::from_secs(20);
        while Instant::now() < until {
            if UdpSocket::bind(self.addr).is_err() {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                let mut err = String::new();
                if let Some(mut e) = self.child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut e, &mut err);
                }
                panic!("sipp exited at start ({status}): {err}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("sipp did not bind {} within 20 s", self.addr);
    }

    /// Waits for sipp to exit (it does after its one call) and returns its status; kills it after `limit`.
    pub async fn finish(mut self, limit: Duration) -> (ExitStatus, String) {
        let until = Instant::now() + limit;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return (status, self.logs());
            }
            if Instant::now() >= until {
                let _ = self.child.kill();
                let status = self.child.wait().expect("wait sipp");
                return (status, format!("KILLED after {limit:?}\n{}", self.logs()));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// sipp's error log and message trace, for assertion messages.
    fn logs(&self) -> String {
        let mut out = String::new();
        if let Ok(entries) = std::fs::read_dir(self.dir.path()) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().to_string();
                if name.ends_with("_errors.log") || name.ends_with("_messages.log") {
                    let text = std::fs::read_to_string(e.path()).unwrap_or_default();
                    let tail: String =
                        text.chars().rev().take(6000).collect::<Vec<_>>().into_iter().rev().collect();
                    out.push_str(&format!("--- {name}\n{tail}\n"));
                }
            }
        }
        out
    }
}

impl Drop for Sipp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
