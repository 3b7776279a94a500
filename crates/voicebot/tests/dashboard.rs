//! The dashboard (issue 9): a real browser drives it against the real server dialing the virtual
//! phone, plus the JSON routes it stands on (batch list, call audio, voice preview, docs page).
//!
//! The browser half runs `tests/browser/dashboard.mjs` with Node and headless Debian Chromium
//! (`playwright-core`, installed by `scripts/test.sh`). Missing tools fail the test with the
//! command that installs them: a skipped browser test would hide a broken dashboard.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::phone::*;
use common::*;
use serde_json::{Value, json};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repo root")
}

/// Node, Chromium and `tests/browser/node_modules`, or a panic saying how to get them.
fn browser_tools() -> (PathBuf, PathBuf) {
    let fix = "run scripts/test.sh once (it installs nodejs and chromium and runs `npm ci` in tests/browser)";
    let node = Command::new("node").arg("--version").output();
    assert!(
        node.as_ref().is_ok_and(|o| o.status.success()),
        "node is not installed: {fix}; error: {:?}",
        node.err()
    );
    let chromium = PathBuf::from(std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()));
    assert!(chromium.exists(), "{} not found: {fix} (or set CHROMIUM)", chromium.display());
    let dir = repo_root().join("tests/browser");
    assert!(
        dir.join("node_modules/playwright-core/package.json").exists(),
        "playwright-core is not installed in {}: {fix}",
        dir.display()
    );
    (dir, chromium)
}

/// Where screenshots go: under the target dir, so they survive the test as artifacts.
fn artifacts_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("artifacts dir");
    dir
}

/// The whole dashboard in Chromium against the real server dialing the virtual phone: settings,
/// workflow editor and previews, a CSV with 40 bad rows, an .xlsx of local numbers normalised and
/// called, the batch and call pages, waiting explained, do-not-call, callbacks, a 390 px phone
/// layout, accessibility checks, and the server stopped under the open page.
#[test]
fn browser_runs_a_clinic_batch_end_to_end() {
    let (browser_dir, chromium) = browser_tools();
    let phone = Phone::start(json!({
        "default": {"answer_after_ms": 200, "press": "1", "press_after_ms": 2000},
        "numbers": {
            "+2348000000102": {"press": "2"},
            "+2348000000103": {"reject": 486}
        }
    }));
    let server = Server::start_with(&phone.trunk_toml(""));
    let a = server.create_integrator("Lagos Clinic");
    let artifacts = artifacts_dir();
    let out = Command::new("node")
        .arg(browser_dir.join("dashboard.mjs"))
        .current_dir(&browser_dir)
        .env("VOICEBOT_URL", &server.url)
        .env("VOICEBOT_KEY", &a.key)
        .env("VOICEBOT_PID", server.pid().to_string())
        .env("DASH_ARTIFACTS", &artifacts)
        .env("CHROMIUM", &chromium)
        .output()
        .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "browser test failed\nstdout:\n{stdout}\nstderr:\n{stderr}\nserver log:\n{}",
        server.log()
    );
    let result: Value =
        serde_json::from_str(stdout.lines().last().unwrap_or_default()).expect("JSON result line");
    assert_eq!(result["ok"], true, "{result}");
    assert_eq!(result["bad_rows_listed"], 40, "{result}");
    for name in
        ["dashboard-batch", "bad-rows", "confirm", "call", "mobile-batch", "mobile-new-batch", "server-down"]
    {
        let png = artifacts.join(format!("{name}.png"));
        assert!(
            std::fs::metadata(&png).map(|m| m.len() > 5_000).unwrap_or(false),
            "no screenshot {}",
            png.display()
        );
    }
    println!("screenshots in {}", artifacts.display());

    // The .xlsx's local numbers (one written 0800 000 0101, one stored as the number 8000000102)
    // were normalised with the default country NG and dialed in E.164.
    let dialed: Vec<String> = phone.handle.records().iter().map(|r| r.number.clone()).collect();
    for number in ["+2348000000101", "+2348000000102", "+2348000000103"] {
        assert!(dialed.iter().any(|n| n == number), "{number} not dialed: {dialed:?}");
    }
    let batch_id = result["batch_id"].as_str().expect("batch_id");
    let rows = query_strings(
        &server.db_path(),
        &format!("SELECT phone_number, status FROM calls WHERE batch_id = '{batch_id}' ORDER BY seq"),
    );
    assert_eq!(
        rows,
        [["+2348000000101", "COMPLETED"], ["+2348000000102", "COMPLETED"], ["+2348000000103", "FAILED"]]
    );
}

/// RIFF/WAVE bytes → seconds of 8 kHz 16-bit mono.
fn wav_seconds(bytes: &[u8]) -> f64 {
    assert!(bytes.len() > 44 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WAVE", "not a WAV");
    assert_eq!(u32::from_le_bytes([bytes[24], bytes[25], bytes[26], bytes[27]]), 8000);
    (bytes.len() - 44) as f64 / 16_000.0
}

fn get_bytes(server: &Server, key: &str, path: &str) -> (u16, String, Vec<u8>) {
    let resp = client().get(format!("{}{path}", server.url)).bearer_auth(key).send().expect("request");
    let code = resp.status().as_u16();
    let ctype = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    (code, ctype, resp.bytes().expect("body").to_vec())
}

#[test]
fn batch_list_call_audio_and_voice_preview() {
    let server = Server::start();
    let a = server.create_integrator("A");
    let b = server.create_integrator("B");
    server.put_seed_workflow(&a.key);
    let mut ids = Vec::new();
    for n in [2, 3, 1] {
        let (code, v) = server.post(&a.key, "/voicebot/v1/call", &batch_of(n));
        assert_eq!(code, 200, "{v}");
        ids.push(v["data"]["batch_id"].as_str().unwrap().to_string());
    }
    server.post(&a.key, &format!("/voicebot/v1/batch/{}/cancel", ids[0]), &json!({}));

    // Newest first, two pages of two, then nothing; B sees none of A's.
    let (code, page1) = server.get(&a.key, "/voicebot/v1/batches?limit=2");
    assert_eq!(code, 200, "{page1}");
    let listed = |p: &Value| -> Vec<String> {
        p["data"]["batches"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["batch_id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(listed(&page1), [ids[2].clone(), ids[1].clone()]);
    let cursor = page1["data"]["next_cursor"].as_str().expect("a second page");
    let (_, page2) = server.get(&a.key, &format!("/voicebot/v1/batches?limit=2&cursor={cursor}"));
    assert_eq!(listed(&page2), [ids[0].clone()]);
    assert!(page2["data"]["next_cursor"].is_null());
    let cancelled = &page2["data"]["batches"][0];
    assert_eq!(cancelled["status"], "CANCELLED");
    assert_eq!(cancelled["workflow_name"], "Appointment reminder");
    assert_eq!(
        (cancelled["progress"]["cancelled"].as_u64(), cancelled["progress"]["finished"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(page1["data"]["batches"][1]["progress"]["queued"], 3);
    let (_, other) = server.get(&b.key, "/voicebot/v1/batches");
    assert_eq!(other["data"]["batches"], json!([]));
    for bad in ["limit=0", "limit=101", "cursor=nonsense"] {
        let (code, e) = server.get(&a.key, &format!("/voicebot/v1/batches?{bad}"));
        assert_eq!((code, e["status"].as_str()), (422, Some("Error")), "{bad}: {e}");
    }

    // A call never answered played nothing: no audio (the played audio is in dashboard_api.rs).
    let (_, calls) = server.get(&a.key, &format!("/voicebot/v1/batch/{}/calls", ids[2]));
    let call_id = calls["data"]["calls"][0]["id"].as_str().unwrap();
    let (code, e) = server.get(&a.key, &format!("/voicebot/v1/call/{call_id}/audio"));
    assert_eq!(
        (code, e["message"].as_str()),
        (404, Some("this call was not answered, so it played nothing"))
    );
    let (code, _, body) = get_bytes(&server, &b.key, &format!("/voicebot/v1/call/{call_id}/audio"));
    assert_eq!(code, 404, "another integrator's call: {}", String::from_utf8_lossy(&body));

    // Voice previews: bounded, validated, enveloped errors.
    let (code, ctype, wav) =
        get_bytes(&server, &a.key, "/voicebot/v1/voices/preview?accent=igbo&gender=male&text=Good%20morning");
    assert_eq!((code, ctype.as_str()), (200, "audio/wav"));
    assert!(wav_seconds(&wav) > 0.3);
    let long = "a".repeat(301);
    for (query, field) in
        [("accent=klingon", "accent"), (&*format!("text={long}"), "text"), ("text=%20%2E%2E", "text")]
    {
        let (code, e) = server.get(&a.key, &format!("/voicebot/v1/voices/preview?{query}"));
        assert_eq!((code, e["errors"][0]["field"].as_str()), (422, Some(field)), "{query}: {e}");
    }
    assert_eq!(server.get("vb_nope", "/voicebot/v1/voices/preview").0, 401);

    // The pages are public shells served from the binary, locked to same-origin assets.
    for (path, ctype) in [
        ("/", "text/html"),
        ("/docs", "text/html"),
        ("/ui/app.js", "text/javascript"),
        ("/ui/core.js", "text/javascript"),
        ("/ui/xlsx.js", "text/javascript"),
        ("/ui/docs.js", "text/javascript"),
        ("/ui/app.css", "text/css"),
    ] {
        let resp = client().get(format!("{}{path}", server.url)).send().unwrap();
        assert_eq!(resp.status().as_u16(), 200, "{path}");
        let h = resp.headers();
        assert!(h["content-type"].to_str().unwrap().starts_with(ctype), "{path}");
        assert!(h["content-security-policy"].to_str().unwrap().contains("default-src 'none'"), "{path}");
    }
}

#[test]
fn without_tts_audio_routes_answer_503_in_the_envelope() {
    // An API-only node (no trunks) whose TTS engine cannot start still serves everything else.
    let server = Server::start_with("[tts]\nespeak_program = \"/nonexistent/espeak-ng\"\n");
    let a = server.create_integrator("A");
    server.put_seed_workflow(&a.key);
    let (_, created) = server.post(&a.key, "/voicebot/v1/call", &seed_batch());
    let batch_id = created["data"]["batch_id"].as_str().unwrap();
    assert!(batch_id.len() == 36);
    let (code, e) = server.get(&a.key, "/voicebot/v1/voices/preview");
    assert_eq!((code, e["status"].as_str()), (503, Some("Error")), "{e}");
    let preview = json!({"workflow": seed_workflow(), "variables": {"name": "Ada"}});
    let (code, e) = server.post(&a.key, "/voicebot/v1/workflows/preview", &preview);
    assert_eq!((code, e["status"].as_str()), (503, Some("Error")), "{e}");
    assert_eq!(server.get(&a.key, "/voicebot/v1/batches").0, 200);
}
