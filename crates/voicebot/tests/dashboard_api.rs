//! The API the dashboard stands on (issue 17), end to end against the real binary: empty variables
//! refused, the default country for local numbers (normalised and dialed), batch names, the batch
//! overview, calls searched and sorted, validation without storing, a call's attempt timeline and
//! the audio it actually played, whole-call workflow previews, settings.

mod common;

use std::time::Duration;

use common::phone::*;
use common::*;
use serde_json::{Value, json};

fn row(phone: &str, name: &str) -> Value {
    json!({"phone_number": phone, "workflow_variables": {"name": name}})
}

fn body(rows: Vec<Value>) -> Value {
    json!({"workflow_id": SEED_WORKFLOW_ID, "tts_voice_accent": "yoruba", "workflow_params": rows})
}

fn wav_seconds(bytes: &[u8]) -> f64 {
    assert!(bytes.len() > 44 && &bytes[..4] == b"RIFF", "not a WAV");
    (bytes.len() - 44) as f64 / 16_000.0
}

fn get_wav(server: &Server, key: &str, path: &str) -> (u16, Vec<u8>) {
    let resp = client().get(format!("{}{path}", server.url)).bearer_auth(key).send().expect("request");
    (resp.status().as_u16(), resp.bytes().expect("body").to_vec())
}

#[test]
fn empty_or_blank_variables_are_missing_variables() {
    let server = Server::start();
    let a = server.create_integrator("A");
    server.put_seed_workflow(&a.key);
    let rows = vec![
        row("+2348030000001", "Ada"),
        row("+2348030000002", ""),
        row("+2348030000003", " \t "),
        json!({"phone_number": "+2348030000004"}),
        row("+2348030000005", "0"),
    ];
    let (code, e) = server.post(&a.key, "/voicebot/v1/call", &body(rows));
    assert_eq!(code, 422, "{e}");
    let errors: Vec<(String, String)> = e["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["field"].as_str().unwrap().to_string(), x["message"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(
        errors,
        [
            (
                "workflow_params[1].workflow_variables.name".into(),
                "variable 'name' used by the workflow is empty".into()
            ),
            (
                "workflow_params[2].workflow_variables.name".into(),
                "variable 'name' used by the workflow is empty".into()
            ),
            (
                "workflow_params[3].workflow_variables.name".into(),
                "missing variable 'name' used by the workflow".into()
            ),
        ]
    );
    assert_eq!(server.count("batches"), 0, "all or nothing");
}

#[test]
fn local_numbers_are_normalised_with_the_default_country_and_dialed() {
    let phone =
        Phone::start(json!({"default": {"answer_after_ms": 100, "press": "1", "press_after_ms": 800}}));
    let server = Server::start_with(&phone.trunk_toml(""));
    let a = server.create_integrator("Lagos Clinic");
    server.put_seed_workflow(&a.key);
    let local = body(vec![
        row("0800 000 0201", "Ada"),
        json!({"phone_number": "8000000202", "workflow_variables": {"name": "Bola"}}),
    ]);

    // Without a default country a local number is refused, with the fix in the message.
    let (code, e) = server.post(&a.key, "/voicebot/v1/call", &local);
    assert_eq!(code, 422, "{e}");
    let why = e["errors"][0]["message"].as_str().unwrap();
    assert!(why.contains("+234 803 123 4567") && why.contains("default country"), "{why}");

    // The operator sets it (`integrators update`), the integrator sees it in its settings.
    let printed: Value = serde_json::from_str(
        server.cli(&["integrators", "update", "--integrator", &a.id, "--default-country", "ng"]).trim(),
    )
    .unwrap();
    assert_eq!(printed["default_country"], "NG");
    let (_, settings) = server.get(&a.key, "/voicebot/v1/settings");
    assert_eq!(settings["data"]["default_country"], "NG");

    let (code, v) = server.post(&a.key, "/voicebot/v1/call", &local);
    assert_eq!(code, 200, "{v}");
    let batch_id = v["data"]["batch_id"].as_str().unwrap();
    let report = wait_final(&server, &a.key, batch_id, Duration::from_secs(60));
    let stored: Vec<&str> = report["request_calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["phone_number"].as_str().unwrap())
        .collect();
    assert_eq!(stored, ["+2348000000201", "+2348000000202"]);
    assert_eq!(report["stats"]["completed_calls"], 2, "{report}");
    let mut dialed: Vec<String> = phone.handle.records().iter().map(|r| r.number.clone()).collect();
    dialed.sort();
    assert_eq!(dialed, ["+2348000000201", "+2348000000202"], "the phone was dialed in E.164");

    // A number written with + is E.164 whatever the default; a wrong local one names the country.
    let (code, e) = server.post(&a.key, "/voicebot/v1/call", &body(vec![row("0803 12", "Ada")]));
    assert_eq!(code, 422);
    assert!(e["errors"][0]["message"].as_str().unwrap().contains("NG"), "{e}");
    // The do-not-call list reads local numbers the same way.
    let (code, v) = server.post(&a.key, "/voicebot/v1/dnc", &json!({"phone_number": "0803 123 4567"}));
    assert_eq!((code, v["data"]["phone_number"].as_str()), (200, Some("+2348031234567")), "{v}");
    // Clearing it (settings API) makes local numbers invalid again.
    let resp = client()
        .patch(format!("{}/voicebot/v1/settings", server.url))
        .bearer_auth(&a.key)
        .json(&json!({"default_country": null}))
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(server.post(&a.key, "/voicebot/v1/call/validate", &local).0, 422);
}

#[test]
fn settings_refuse_unknown_countries() {
    let server = Server::start();
    let a = server.create_integrator("A");
    for bad in [json!({"default_country": "XX"}), json!({"default_country": "Nigeria"})] {
        let resp = client()
            .patch(format!("{}/voicebot/v1/settings", server.url))
            .bearer_auth(&a.key)
            .json(&bad)
            .send()
            .unwrap();
        assert_eq!(resp.status().as_u16(), 422, "{bad}");
    }
    let resp = client()
        .patch(format!("{}/voicebot/v1/settings", server.url))
        .bearer_auth(&a.key)
        .json(&json!({"default_country": 7}))
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let out = std::process::Command::new(bin())
        .args(["--config", server.config.to_str().unwrap(), "integrators", "update", "--integrator", &a.id])
        .args(["--default-country", "XX"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "CLI accepted XX");
}

#[test]
fn validate_checks_everything_and_stores_nothing() {
    let server = Server::start_with("[dialing]\nwindow_start = \"08:00\"\nwindow_end = \"20:00\"\n");
    let a = server.create_integrator("A");
    server.put_seed_workflow(&a.key);
    server.cli(&["integrators", "update", "--integrator", &a.id, "--default-country", "NG"]);
    let mut ok = body(vec![row("0803 000 0001", "Ada"), row("+2348030000002", "Bola")]);
    ok["name"] = json!("Tuesday clinic");
    let (code, v) = server.post(&a.key, "/voicebot/v1/call/validate", &ok);
    assert_eq!(code, 200, "{v}");
    let d = &v["data"];
    assert_eq!(d["calls"], 2);
    assert_eq!(d["phone_numbers"], json!(["+2348030000001", "+2348030000002"]));
    assert_eq!(d["calling_window"], json!({"start": "08:00", "end": "20:00"}));
    assert_eq!(
        (d["tts_voice_accent"].as_str(), d["name"].as_str()),
        (Some("yoruba"), Some("Tuesday clinic"))
    );
    assert_eq!(
        (d["workflow_name"].as_str(), d["max_attempts"].as_u64()),
        (Some("Appointment reminder"), Some(3))
    );
    assert_eq!(server.count("batches"), 0, "validation stores nothing");

    // 40 bad rows: 40 errors, each naming its row.
    let mut rows = vec![row("+2348030000009", "Good")];
    for i in 0..40 {
        rows.push(if i % 2 == 0 {
            row(&format!("0803 {i}"), "Bad phone")
        } else {
            row(&format!("+23480310000{i:02}"), "")
        });
    }
    let (code, e) = server.post(&a.key, "/voicebot/v1/call/validate", &body(rows));
    assert_eq!(code, 422, "{e}");
    let fields: Vec<&str> =
        e["errors"].as_array().unwrap().iter().map(|x| x["field"].as_str().unwrap()).collect();
    assert_eq!(fields.len(), 40, "{fields:?}");
    for (i, f) in fields.iter().enumerate() {
        let want = if i % 2 == 0 { "phone_number" } else { "workflow_variables.name" };
        assert_eq!(*f, format!("workflow_params[{}].{want}", i + 1));
    }
    assert_eq!(e["message"], "invalid request: 40 problems");
}

#[test]
fn batch_names_overview_and_calls_found_by_search_filter_and_sort() {
    let server = Server::start_with("[dialing]\nwindow_start = \"08:00\"\nwindow_end = \"20:00\"\n");
    let a = server.create_integrator("A");
    let b = server.create_integrator("B");
    server.put_seed_workflow(&a.key);
    // A seed client's body and response stay exactly the seed's.
    let (code, seed) = server.post(&a.key, "/voicebot/v1/call", &seed_batch());
    assert_eq!(code, 200);
    assert_eq!(seed["message"], "batch request created successfully");
    assert_eq!(seed.as_object().unwrap().len(), 3);

    let mut named = body(vec![
        json!({"phone_number": "+2348030000011", "workflow_variables": {"name": "Ada"}, "user_tag_identifiers": {"mrn": "M-77"}}),
        row("+2348030000012", "bola"),
        row("+2348030000013", "Chidi"),
    ]);
    named["name"] = json!("  Antenatal, week 3  ");
    named["schedule"] = json!({"not_before": "2099-01-01T09:00:00Z"});
    let (code, v) = server.post(&a.key, "/voicebot/v1/call", &named);
    assert_eq!(code, 200, "{v}");
    let id = v["data"]["batch_id"].as_str().unwrap().to_string();
    let (_, list) = server.get(&a.key, "/voicebot/v1/batches");
    let listed = &list["data"]["batches"][0];
    assert_eq!(
        (listed["batch_id"].as_str(), listed["name"].as_str()),
        (Some(id.as_str()), Some("Antenatal, week 3"))
    );
    assert_eq!(listed["next_attempt_at"], "2099-01-01T09:00:00.000000");
    assert_eq!(list["data"]["batches"][1]["name"], Value::Null);

    let (code, o) = server.get(&a.key, &format!("/voicebot/v1/batches/{id}"));
    assert_eq!(code, 200, "{o}");
    let o = &o["data"];
    assert_eq!(
        (o["status"].as_str(), o["not_before"].as_str()),
        (Some("PENDING"), Some("2099-01-01T09:00:00.000000"))
    );
    assert_eq!(o["calling_window"], json!({"start": "08:00", "end": "20:00"}));
    assert_eq!(o["options"], json!({"1": "Press 1 to confirm", "2": "Press 2 to reschedule"}));
    assert_eq!((o["variables"].clone(), o["max_attempts"].as_u64()), (json!(["name"]), Some(3)));
    assert_eq!(
        server.get(&b.key, &format!("/voicebot/v1/batches/{id}")).0,
        404,
        "another integrator's batch"
    );
    let (code, e) = server.post(
        &a.key,
        "/voicebot/v1/call",
        &json!({"name": "x".repeat(201), "workflow_id": SEED_WORKFLOW_ID,
        "workflow_params": [row("+2348030000019", "A")]}),
    );
    assert_eq!((code, e["errors"][0]["field"].as_str()), (422, Some("name")));

    let who = |q: &str| -> Vec<String> {
        let (code, v) = server.get(&a.key, &format!("/voicebot/v1/batch/{id}/calls?{q}"));
        assert_eq!(code, 200, "{q}: {v}");
        v["data"]["calls"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["workflow_variables"]["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(who("q=ADA"), ["Ada"]);
    assert_eq!(who("q=m-77"), ["Ada"], "tags are searched");
    assert_eq!(who("q=0000013"), ["Chidi"], "numbers are searched");
    assert_eq!(who("sort=variable:name"), ["Ada", "bola", "Chidi"], "case-insensitive order");
    assert_eq!(who("sort=variable:name&order=desc"), ["Chidi", "bola", "Ada"]);
    assert_eq!(who("status=queued&sort=phone_number&order=desc"), ["Chidi", "bola", "Ada"]);
    assert!(who("status=COMPLETED").is_empty());
    // Pages of a sorted list continue where they stopped.
    let (_, p1) = server.get(&a.key, &format!("/voicebot/v1/batch/{id}/calls?sort=variable:name&limit=2"));
    let cursor = p1["data"]["next_cursor"].as_str().expect("more");
    assert_eq!(who(&format!("sort=variable:name&limit=2&cursor={cursor}")), ["Chidi"]);
    let call = &p1["data"]["calls"][0];
    assert_eq!(
        (call["row"].as_u64(), call["next_attempt_at"].as_str()),
        (Some(0), Some("2099-01-01T09:00:00.000000"))
    );
    for bad in [
        "sort=colour",
        "sort=variable:a;b",
        "order=up",
        "cursor=o-1&sort=status",
        &format!("q={}", "x".repeat(101)),
    ] {
        let (code, e) = server.get(&a.key, &format!("/voicebot/v1/batch/{id}/calls?{bad}"));
        assert_eq!((code, e["status"].as_str()), (422, Some("Error")), "{bad}: {e}");
    }
}

#[test]
fn call_timeline_and_the_audio_the_call_played() {
    let phone = Phone::start(json!({
        "default": {"answer_after_ms": 100, "press": "2", "press_after_ms": 2500},
        "numbers": {"+2348000000302": {"reject": 486}}
    }));
    let server = Server::start_with(&phone.trunk_toml(""));
    let a = server.create_integrator("A");
    server.put_seed_workflow(&a.key);
    let mut req = body(vec![row("+2348000000301", "Ada"), row("+2348000000302", "Bola")]);
    req["retry"] = json!({"max_attempts": 2, "backoff_seconds": 0});
    let (_, v) = server.post(&a.key, "/voicebot/v1/call", &req);
    let batch_id = v["data"]["batch_id"].as_str().unwrap();
    wait_final(&server, &a.key, batch_id, Duration::from_secs(60));
    let (_, calls) = server.get(&a.key, &format!("/voicebot/v1/batch/{batch_id}/calls"));
    let id = |i: usize| calls["data"]["calls"][i]["id"].as_str().unwrap().to_string();

    let (code, t) = server.get(&a.key, &format!("/voicebot/v1/call/{}/attempts", id(0)));
    assert_eq!(code, 200, "{t}");
    let t = &t["data"];
    assert_eq!(t["call"]["workflow_variables"]["name"], "Ada");
    assert_eq!(t["options"]["2"], "Press 2 to reschedule");
    assert_eq!(t["audio_available"], true);
    let attempt = &t["attempts"][0];
    assert_eq!((attempt["outcome"].as_str(), attempt["sip_code"].as_u64()), (Some("ANSWERED"), Some(200)));
    assert_eq!((attempt["digits"].as_str(), attempt["state"].as_str()), (Some("2"), Some("ENDED")));
    assert!(attempt["answered_at"].is_string() && attempt["ended_at"].is_string(), "{attempt}");
    // At least the message and the options were played before the phone pressed 2.
    assert!(attempt["prompts_played"].as_u64().unwrap() >= 2, "{attempt}");

    let (code, t) = server.get(&a.key, &format!("/voicebot/v1/call/{}/attempts", id(1)));
    assert_eq!(code, 200);
    let busy: Vec<(String, u64)> = t["data"]["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["outcome"].as_str().unwrap().to_string(), a["sip_code"].as_u64().unwrap()))
        .collect();
    assert_eq!(busy, [("BUSY".to_string(), 486), ("BUSY".to_string(), 486)]);
    assert_eq!(t["data"]["audio_available"], false);
    assert_eq!(
        get_wav(&server, &a.key, &format!("/voicebot/v1/call/{}/audio", id(1))).0,
        404,
        "never answered"
    );

    // The answered call's audio is read back from the render cache by the keys its attempt
    // recorded: remove the cache and it is gone (410), not rendered anew.
    let (code, wav) = get_wav(&server, &a.key, &format!("/voicebot/v1/call/{}/audio", id(0)));
    assert_eq!(code, 200);
    let heard = phone.handle.records().into_iter().find(|r| r.number == "+2348000000301").unwrap();
    let secs = wav_seconds(&wav);
    assert!(secs > 3.0, "{secs} s");
    let recorded = std::fs::metadata(heard.wav.expect("phone recording")).unwrap().len() as f64 / 16_000.0;
    assert!(secs < recorded + 2.0, "played {secs} s but the phone heard only {recorded} s");
    std::fs::remove_dir_all(server.dir.path().join("data/prompts")).unwrap();
    let (code, e) = server.get(&a.key, &format!("/voicebot/v1/call/{}/audio", id(0)));
    assert_eq!((code, e["status"].as_str()), (410, Some("Error")), "{e}");
    let other = server.create_integrator("B");
    assert_eq!(server.get(&other.key, &format!("/voicebot/v1/call/{}/attempts", id(0))).0, 404);
}

#[test]
fn workflow_preview_speaks_the_whole_call() {
    let server = Server::start();
    let a = server.create_integrator("A");
    let wf = seed_workflow();
    let (code, v) = server.post(
        &a.key,
        "/voicebot/v1/workflows/preview",
        &json!({"workflow": wf, "variables": {}, "format": "text"}),
    );
    assert_eq!(code, 200, "{v}");
    assert_eq!(
        v["data"]["prompts"],
        json!([
            {"say": "Hello [name], your appointment is tomorrow."},
            {"say": "Press 1 to confirm. Press 2 to reschedule"},
            {"say": "Thank you for your response. Goodbye."}
        ])
    );
    assert_eq!(v["data"]["variables"], json!(["name"]));
    let resp = client()
        .post(format!("{}/voicebot/v1/workflows/preview", server.url))
        .bearer_auth(&a.key)
        .json(&json!({"workflow": wf, "variables": {"name": "Ada"}, "accent": "hausa", "gender": "male"}))
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let whole = wav_seconds(&resp.bytes().unwrap());
    let (_, message_only) = get_wav(
        &server,
        &a.key,
        "/voicebot/v1/voices/preview?accent=hausa&gender=male&text=Hello%20Ada%2C%20your%20appointment%20is%20tomorrow.",
    );
    assert!(
        whole > wav_seconds(&message_only) + 2.0,
        "whole call {whole} s vs message {} s",
        wav_seconds(&message_only)
    );
    for (req, field) in [
        (json!({"workflow": wf, "variables": {}}), "variables.name"),
        (json!({"workflow": wf, "variables": {"name": "A"}, "accent": "klingon"}), "accent"),
        (json!({"workflow": {"name": "x"}, "variables": {}}), "message"),
    ] {
        let (code, e) = server.post(&a.key, "/voicebot/v1/workflows/preview", &req);
        assert_eq!((code, e["errors"][0]["field"].as_str()), (422, Some(field)), "{req}: {e}");
    }
    assert!(server.count("workflows") == 0, "a preview saves nothing");
}
