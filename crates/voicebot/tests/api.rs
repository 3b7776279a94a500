//! End-to-end API tests (issue 3): the real binary, real HTTP on 127.0.0.1, a real SQLite file.

mod common;

use std::process::Command;

use common::*;
use serde_json::{Value, json};

fn assert_seed_success(text: &str) {
    let v: Value = serde_json::from_str(text.trim()).unwrap_or_else(|_| panic!("not JSON: {text}"));
    let id = v["data"]["batch_id"].as_str().expect("batch_id");
    assert!(uuid::Uuid::parse_str(id).is_ok());
    let expected = format!(
        r#"{{"data":{{"batch_id":"{id}"}},"message":"batch request created successfully","status":"Ok"}}"#
    );
    assert_eq!(text.trim(), expected, "byte-exact seed success shape");
}

fn run_client(server: &Server, key: &str, program: &str, script: &str) -> String {
    let path = format!("{}/tests/clients/{script}", env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(program)
        .arg(&path)
        .env("VOICEBOT_URL", &server.url)
        .env("VOICEBOT_KEY", key)
        .output()
        .unwrap_or_else(|e| panic!("{program} not runnable ({e}); scripts/test.sh installs it"));
    assert!(out.status.success(), "{script}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf8")
}

#[test]
fn seed_clients_work_unchanged() {
    let server = Server::start();
    let a = server.create_integrator("Lagos Clinic");
    server.put_seed_workflow(&a.key);

    assert_seed_success(&run_client(&server, &a.key, "bash", "seed-curl.sh"));
    assert_seed_success(&run_client(&server, &a.key, "node", "seed-client.mjs"));
    // The Python example prints `status_code, response.json()` (a dict repr).
    let py = run_client(&server, &a.key, "python3", "seed-client.py");
    assert!(py.starts_with("200 {'data': {'batch_id': '"), "{py}");
    assert!(
        py.trim_end().ends_with("'message': 'batch request created successfully', 'status': 'Ok'}"),
        "{py}"
    );
    assert_eq!(server.count("batches"), 3);
    assert_eq!(server.count("calls"), 3);
}

#[test]
fn bad_input_gets_envelope_and_writes_nothing() {
    let server = Server::start_with("[api]\nmax_recipients = 10000\nmax_body_bytes = 5242880\n");
    let a = server.create_integrator("A");
    server.put_seed_workflow(&a.key);
    let with_rows = |rows: Value| {
        let mut b = seed_batch();
        b["workflow_params"] = rows;
        b
    };
    let row = |phone: Value, vars: Value| json!({"phone_number": phone, "workflow_variables": vars});
    let good = || row(json!("+2348076960623"), json!({"name": "James"}));
    let cases: Vec<(&str, Value, u16, Option<&str>)> = vec![
        ("missing params", json!({"workflow_id": SEED_WORKFLOW_ID}), 422, Some("workflow_params")),
        ("empty params", with_rows(json!([])), 422, Some("workflow_params")),
        ("params not array", with_rows(json!({"a": 1})), 400, Some("workflow_params")),
        (
            "missing phone",
            with_rows(json!([good(), {"workflow_variables": {"name": "x"}}])),
            422,
            Some("workflow_params[1].phone_number"),
        ),
        (
            "invalid phone",
            with_rows(json!([good(), row(json!("0803 123"), json!({"name": "x"}))])),
            422,
            Some("workflow_params[1].phone_number"),
        ),
        (
            "duplicate phone",
            with_rows(json!([good(), row(json!("+234 807 696 0623"), json!({"name": "x"}))])),
            422,
            Some("workflow_params[1].phone_number"),
        ),
        (
            "unknown workflow",
            {
                let mut b = seed_batch();
                b["workflow_id"] = json!("00000000-0000-4000-8000-000000000000");
                b
            },
            422,
            Some("workflow_id"),
        ),
        (
            "missing variable",
            with_rows(json!([good(), row(json!("+2348030000001"), json!({"nom": "x"}))])),
            422,
            Some("workflow_params[1].workflow_variables.name"),
        ),
        (
            "unknown accent",
            {
                let mut b = seed_batch();
                b["tts_voice_accent"] = json!("klingon");
                b
            },
            422,
            Some("tts_voice_accent"),
        ),
        (
            "bad gender",
            {
                let mut b = seed_batch();
                b["tts_voice_gender"] = json!("robot");
                b
            },
            422,
            Some("tts_voice_gender"),
        ),
    ];
    for (name, body, code, field) in cases {
        let (got, resp) = server.post(&a.key, "/voicebot/v1/call", &body);
        assert_eq!(got, code, "{name}: {resp}");
        assert_eq!(resp["status"], "Error", "{name}");
        assert!(resp["data"].is_null(), "{name}");
        assert!(resp["message"].as_str().is_some_and(|m| !m.is_empty()), "{name}");
        if let Some(f) = field {
            let fields: Vec<&str> =
                resp["errors"].as_array().unwrap().iter().filter_map(|e| e["field"].as_str()).collect();
            assert!(fields.contains(&f), "{name}: {fields:?}");
        }
    }
    // Every bad row is listed, not just the first, and every problem of a row (a bad number does
    // not hide the same row's missing variable).
    let rows = json!([row(json!("bad"), json!({"name": "a"})), good(), row(json!("+1"), json!({})), good()]);
    let (code, resp) = server.post(&a.key, "/voicebot/v1/call", &with_rows(rows));
    assert_eq!(code, 422);
    let fields: Vec<&str> =
        resp["errors"].as_array().unwrap().iter().filter_map(|e| e["field"].as_str()).collect();
    assert_eq!(
        fields,
        [
            "workflow_params[0].phone_number",
            "workflow_params[2].phone_number",
            "workflow_params[2].workflow_variables.name",
            "workflow_params[3].phone_number"
        ]
    );

    // Keys.
    let (code, resp) = send(client().post(format!("{}/voicebot/v1/call", server.url)).json(&seed_batch()));
    assert_eq!((code, resp["status"].as_str()), (401, Some("Error")));
    let (code, _) = server.post("vb_not_a_key", "/voicebot/v1/call", &seed_batch());
    assert_eq!(code, 401);
    // Malformed JSON.
    let (code, resp) = server.post_raw(&a.key, "/voicebot/v1/call", b"{\"workflow_id\": ".to_vec());
    assert_eq!(code, 400);
    assert!(resp["message"].as_str().unwrap().contains("malformed JSON"));
    // Body over 5 MiB.
    let big = format!("{{\"pad\": \"{}\"}}", "x".repeat(5 * 1024 * 1024 + 10));
    let (code, resp) = server.post_raw(&a.key, "/voicebot/v1/call", big.into_bytes());
    assert_eq!((code, resp["status"].as_str()), (413, Some("Error")));
    // 10,001 rows.
    let (code, resp) = server.post(&a.key, "/voicebot/v1/call", &batch_of(10_001));
    assert_eq!(code, 422, "{}", resp["message"]);
    assert!(resp["message"].as_str().unwrap().contains("10000"));

    assert_eq!(server.count("batches"), 0, "a rejected request wrote a batch");
    assert_eq!(server.count("calls"), 0, "a rejected request wrote calls");
    assert_eq!(server.count("idempotency_keys"), 0);
}

#[test]
fn batch_survives_kill_9() {
    let mut server = Server::start();
    let a = server.create_integrator("A");
    server.put_seed_workflow(&a.key);
    let (code, resp) = server.post(&a.key, "/voicebot/v1/call", &batch_of(2000));
    assert_eq!(code, 200, "{resp}");
    let batch_id = resp["data"]["batch_id"].as_str().unwrap().to_string();
    server.kill9_and_restart();

    let (code, report) = server.get(&a.key, &format!("/voicebot/v1/batch/{batch_id}"));
    assert_eq!(code, 200, "{report}");
    let calls = report["data"]["request_calls"].as_array().unwrap();
    assert_eq!(calls.len(), 2000);
    assert_eq!(report["data"]["stats"]["total_calls"], 2000);
    assert_eq!(calls[7]["user_tag_identifiers"], json!({"row": 7}));
    for c in calls {
        let (code, status) =
            server.get(&a.key, &format!("/voicebot/v1/status/{}", c["id"].as_str().unwrap()));
        assert_eq!(code, 200);
        assert_eq!(status["data"]["processing_status"], "VOICE_CALL_QUEUED");
        if c["id"] == calls[20]["id"] {
            break;
        }
    }
}

#[test]
fn integrators_cannot_see_each_other() {
    let server = Server::start();
    let a = server.create_integrator("A");
    let b = server.create_integrator("B");
    server.put_seed_workflow(&a.key);
    let (_, resp) = server.post(&a.key, "/voicebot/v1/call", &seed_batch());
    let batch_id = resp["data"]["batch_id"].as_str().unwrap().to_string();
    let (_, report) = server.get(&a.key, &format!("/voicebot/v1/batch/{batch_id}"));
    let call_id = report["data"]["request_calls"][0]["id"].as_str().unwrap().to_string();

    for path in [
        format!("/voicebot/v1/workflows/{SEED_WORKFLOW_ID}"),
        format!("/voicebot/v1/batch/{batch_id}"),
        format!("/voicebot/v1/batch/{batch_id}/calls"),
        format!("/voicebot/v1/status/{call_id}"),
        format!("/voicebot/v1/call/{call_id}"),
    ] {
        let (code, body) = server.get(&b.key, &path);
        assert_eq!(code, 404, "{path}: {body}");
        assert_eq!(body["status"], "Error");
        assert_eq!(server.get(&a.key, &path).0, 200, "{path}");
    }
    let (code, _) = server.post(&b.key, &format!("/voicebot/v1/batch/{batch_id}/cancel"), &json!({}));
    assert_eq!(code, 404);
    // B's batch naming A's workflow id is an unknown workflow for B...
    let (code, _) = server.post(&b.key, "/voicebot/v1/call", &seed_batch());
    assert_eq!(code, 422);
    // ...and B may use the same id for its own workflow without touching A's.
    let mut wf = seed_workflow();
    wf["message"] = json!("B's own text for [name]");
    assert_eq!(server.put(&b.key, &format!("/voicebot/v1/workflows/{SEED_WORKFLOW_ID}"), &wf).0, 200);
    let (_, a_wf) = server.get(&a.key, &format!("/voicebot/v1/workflows/{SEED_WORKFLOW_ID}"));
    assert_eq!(a_wf["data"]["message"], "Hello [name], your appointment is tomorrow.");
}

#[test]
fn idempotency_key_replays_and_conflicts() {
    let server = Server::start();
    let a = server.create_integrator("A");
    server.put_seed_workflow(&a.key);
    let post = |body: &Value, key: &str| {
        send(
            client()
                .post(format!("{}/voicebot/v1/call", server.url))
                .bearer_auth(&a.key)
                .header("Idempotency-Key", key)
                .json(body),
        )
    };
    let (c1, r1) = post(&seed_batch(), "order-42");
    let (c2, r2) = post(&seed_batch(), "order-42");
    assert_eq!((c1, c2), (200, 200));
    assert_eq!(r1["data"]["batch_id"], r2["data"]["batch_id"]);
    assert_eq!(server.count("batches"), 1);
    let mut other = seed_batch();
    other["workflow_params"][0]["workflow_variables"]["name"] = json!("Ada");
    let (c3, r3) = post(&other, "order-42");
    assert_eq!(c3, 409, "{r3}");
    assert_eq!(r3["status"], "Error");
    let (c4, r4) = post(&other, "order-43");
    assert_eq!(c4, 200);
    assert_ne!(r4["data"]["batch_id"], r1["data"]["batch_id"]);
    assert_eq!(server.count("batches"), 2);
}

#[test]
fn workflows_crud_and_batch_views() {
    let server = Server::start();
    let a = server.create_integrator("A");
    let (code, created) = server.post(
        &a.key,
        "/voicebot/v1/workflows",
        &json!({"name": "steps", "steps": [{"say": "Hi {{name}}"}, {"gather": {"prompt": "Press 1", "options": {"1": "yes"}}}]}),
    );
    assert_eq!(code, 200, "{created}");
    assert_eq!(created["message"], "workflow created successfully");
    let id = created["data"]["workflow_id"].as_str().unwrap().to_string();
    assert_eq!(created["data"]["variables"], json!(["name"]));
    let (code, list) = server.get(&a.key, "/voicebot/v1/workflows");
    assert_eq!((code, list["data"]["workflows"].as_array().unwrap().len()), (200, 1));
    let (code, replaced) = server.put(&a.key, &format!("/voicebot/v1/workflows/{id}"), &seed_workflow());
    assert_eq!((code, replaced["message"].as_str()), (200, Some("workflow updated successfully")));
    let (code, bad) = server.post(
        &a.key,
        "/voicebot/v1/workflows",
        &json!({"name": "c", "workflow_type": "CONVERSATION", "message": "x"}),
    );
    assert_eq!(code, 422, "{bad}");

    let mut batch = batch_of(3);
    batch["workflow_id"] = json!(id);
    let (code, resp) = server.post(&a.key, "/voicebot/v1/call", &batch);
    assert_eq!(code, 200, "{resp}");
    let batch_id = resp["data"]["batch_id"].as_str().unwrap();
    let (_, page) = server.get(&a.key, &format!("/voicebot/v1/batch/{batch_id}/calls?limit=2"));
    assert_eq!(page["data"]["calls"].as_array().unwrap().len(), 2);
    let cursor = page["data"]["next_cursor"].as_str().unwrap().to_string();
    let (_, page2) =
        server.get(&a.key, &format!("/voicebot/v1/batch/{batch_id}/calls?limit=2&cursor={cursor}"));
    assert_eq!(page2["data"]["calls"].as_array().unwrap().len(), 1);
    assert!(page2["data"]["next_cursor"].is_null());
    let csv = client()
        .get(format!("{}/voicebot/v1/batch/{batch_id}/calls.csv", server.url))
        .bearer_auth(&a.key)
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert_eq!(csv.lines().count(), 4);
    assert!(csv.contains("\"{\"\"row\"\":1}\""), "{csv}");

    let (code, cancelled) = server.post(&a.key, &format!("/voicebot/v1/batch/{batch_id}/cancel"), &json!({}));
    assert_eq!(code, 200);
    assert_eq!(cancelled["data"]["cancelled_calls"], 3);
    let (_, report) = server.get(&a.key, &format!("/voicebot/v1/batch/{batch_id}"));
    assert_eq!(report["data"]["status"], "CANCELLED");
    assert_eq!(report["data"]["request_calls"][0]["status"], "CANCELLED");

    let (code, _) =
        send(client().delete(format!("{}/voicebot/v1/workflows/{id}", server.url)).bearer_auth(&a.key));
    assert_eq!(code, 200);
    assert_eq!(server.get(&a.key, &format!("/voicebot/v1/workflows/{id}")).0, 404);
    // The batch kept its workflow snapshot.
    assert_eq!(server.get(&a.key, &format!("/voicebot/v1/batch/{batch_id}")).0, 200);
}

#[test]
fn service_routes() {
    let server = Server::start();
    let a = server.create_integrator("A");
    let (code, health) = send(client().get(format!("{}/healthz", server.url)));
    assert_eq!((code, health["status"].as_str()), (200, Some("Ok")));
    let (code, spec) = send(client().get(format!("{}/openapi.json", server.url)));
    assert_eq!(code, 200);
    assert_eq!(spec["openapi"], "3.1.0");
    let (code, voices) = server.get(&a.key, "/voicebot/v1/voices");
    assert_eq!(code, 200);
    let names: Vec<&str> =
        voices["data"]["voices"].as_array().unwrap().iter().filter_map(|v| v["accent"].as_str()).collect();
    assert!(names.contains(&"igbo") && names.contains(&"english") && names.len() >= 46);
    // Extractor rejections (here a repeated query field) still get the envelope.
    let (code, dup) = server.get(&a.key, "/voicebot/v1/batch/x/calls?status=a&status=b");
    assert_eq!((code, dup["status"].as_str()), (400, Some("Error")), "{dup}");
    let (code, nf) = server.get(&a.key, "/voicebot/v1/nope");
    assert_eq!((code, nf["status"].as_str()), (404, Some("Error")));
    let (code, na) = send(client().delete(format!("{}/voicebot/v1/call", server.url)).bearer_auth(&a.key));
    assert_eq!((code, na["status"].as_str()), (405, Some("Error")));
    // Key rotation: the new key works at once, the old one during the grace period.
    let rotated: Value =
        serde_json::from_str(server.cli(&["keys", "rotate", "--integrator", &a.id]).trim()).unwrap();
    let new_key = rotated["api_key"].as_str().unwrap();
    assert_eq!(server.get(new_key, "/voicebot/v1/voices").0, 200);
    assert_eq!(server.get(&a.key, "/voicebot/v1/voices").0, 200);
    assert_ne!(rotated["signing_secret"].as_str().unwrap(), a.secret);
    let list: Value = serde_json::from_str(&server.cli(&["integrators", "list"])).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
}
