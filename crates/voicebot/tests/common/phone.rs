//! The virtual phone in the test process, and waiting for batches to finish.

use std::time::{Duration, Instant};

use serde_json::Value;
use voicebot_telephony::phone::{PhoneConfig, PhoneHandle, Script};

use super::Server;

/// The virtual phone, in this test process, on its own runtime.
pub struct Phone {
    pub rt: tokio::runtime::Runtime,
    pub handle: PhoneHandle,
    pub record_dir: tempfile::TempDir,
}

impl Phone {
    pub fn start(script: Value) -> Phone {
        Phone::start_with(script, |_| {})
    }

    /// [`Phone::start`] with more settings (SRTP, socket mode, …) made by `tweak`.
    pub fn start_with(script: Value, tweak: impl FnOnce(&mut PhoneConfig)) -> Phone {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let record_dir = tempfile::tempdir().unwrap();
        let mut config = PhoneConfig::new("127.0.0.1:0".parse().unwrap());
        config.script = Script::from_json(&script.to_string()).unwrap();
        config.record_dir = Some(record_dir.path().to_path_buf());
        config.log_stdout = false;
        tweak(&mut config);
        let handle = rt.block_on(voicebot_telephony::phone::run(config)).expect("phone");
        Phone { rt, handle, record_dir }
    }

    pub fn trunk_toml(&self, extra: &str) -> String {
        format!(
            "[dialing]\nwindow_start = \"00:00\"\nwindow_end = \"00:00\"\nretry_busy_seconds = 1\nretry_no_answer_seconds = 1\nretry_failed_seconds = 1\npoll_interval_ms = 100\n\n[[trunks]]\nname = \"phone\"\nuri = \"sip:{}\"\nring_timeout_seconds = 3\n{extra}\n",
            self.handle.local_addr()
        )
    }
}

impl Drop for Phone {
    fn drop(&mut self) {
        self.rt.block_on(self.handle.shutdown());
    }
}

/// Polls the batch until it is COMPLETED; returns its report (`data`).
pub fn wait_final(server: &Server, key: &str, batch_id: &str, within: Duration) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let (code, report) = server.get(key, &format!("/voicebot/v1/batch/{batch_id}"));
        assert_eq!(code, 200, "{report}");
        if report["data"]["status"] == "COMPLETED" {
            return report["data"].clone();
        }
        assert!(Instant::now() < deadline, "batch not final in {within:?}: {report}\n{}", server.log());
        std::thread::sleep(Duration::from_millis(250));
    }
}
