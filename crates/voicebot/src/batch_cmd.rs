//! `voicebot batch submit FILE.csv --workflow ID` and `voicebot batch watch ID`: the API's
//! `POST /voicebot/v1/call` and `GET /voicebot/v1/batch/{id}` for people with a spreadsheet.
//!
//! The CLI is an HTTP client of a running server (any node of a fleet), authenticated with an
//! integrator's API key — exactly what an integrator's own code does, so it needs no database
//! access and works from any machine that can reach the API.
//!
//! CSV shape: a header row; `phone_number` (or `phone`) is required; columns named `tag.<name>`
//! become `user_tag_identifiers.<name>`; every other column becomes a workflow variable.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::progress::{Counts, Progress};

/// `voicebot batch …`
#[derive(Subcommand)]
pub enum BatchCommand {
    /// Submit a CSV of recipients as one batch, then watch it (unless --no-watch).
    Submit(SubmitArgs),
    /// Show a batch's progress until every call is final; prints the final report.
    Watch {
        /// Batch id (from `submit` or `POST /voicebot/v1/call`).
        batch_id: String,
        #[command(flatten)]
        server: ServerArgs,
    },
}

/// Where the API is and who is asking.
#[derive(Args)]
pub struct ServerArgs {
    /// API base URL (default: http://<listen> from the config).
    #[arg(long, env = "VOICEBOT_URL")]
    url: Option<String>,
    /// Integrator API key.
    #[arg(long, env = "VOICEBOT_API_KEY", hide_env_values = true)]
    api_key: String,
}

#[derive(Args)]
pub struct SubmitArgs {
    /// CSV file: header row with `phone_number`, `tag.<name>` columns and workflow variables.
    file: PathBuf,
    /// Workflow id.
    #[arg(long)]
    workflow: String,
    /// TTS accent (default: the server's).
    #[arg(long)]
    accent: Option<String>,
    /// TTS gender (`female` or `male`; default: the server's).
    #[arg(long)]
    gender: Option<String>,
    /// Completion callback URL for this batch.
    #[arg(long)]
    callback_url: Option<String>,
    /// Print the batch id and return without waiting.
    #[arg(long)]
    no_watch: bool,
    #[command(flatten)]
    server: ServerArgs,
}

pub async fn run(config: &crate::config::Config, cmd: BatchCommand) -> anyhow::Result<()> {
    match cmd {
        BatchCommand::Submit(args) => {
            let api = Api::new(&args.server, config)?;
            let body = batch_body(&args)?;
            let rows = body["workflow_params"].as_array().map_or(0, Vec::len);
            // Same file, same options → same key: re-running after a network error cannot
            // create the batch twice (the server keeps keys for a day).
            let key = hex::encode(Sha256::digest(serde_json::to_vec(&body)?));
            let created = api.post_batch(&body, &key).await?;
            let batch_id = created["data"]["batch_id"].as_str().context("no batch_id in the response")?;
            eprintln!("batch {batch_id}: {rows} calls queued");
            println!("{batch_id}");
            if !args.no_watch {
                watch(&api, batch_id).await?;
            }
            Ok(())
        }
        BatchCommand::Watch { batch_id, server } => watch(&Api::new(&server, config)?, &batch_id).await,
    }
}

/// The request body of `POST /voicebot/v1/call` for the CSV.
fn batch_body(args: &SubmitArgs) -> anyhow::Result<Value> {
    let params = read_csv(&args.file)?;
    let mut body = json!({"workflow_id": args.workflow, "workflow_params": params});
    let optional = [
        ("tts_voice_accent", &args.accent),
        ("tts_voice_gender", &args.gender),
        ("callback_url", &args.callback_url),
    ];
    for (field, value) in optional {
        if let Some(v) = value {
            body[field] = Value::from(v.as_str());
        }
    }
    Ok(body)
}

/// CSV rows → `workflow_params` entries.
fn read_csv(path: &Path) -> anyhow::Result<Vec<Value>> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(path)
        .with_context(|| format!("opening {}", path.display()))?;
    let headers: Vec<String> = reader
        .headers()
        .with_context(|| format!("reading the header of {}", path.display()))?
        .iter()
        // Spreadsheets often save UTF-8 CSV with a byte-order mark before the first header.
        .map(|h| h.trim_start_matches('\u{feff}').to_string())
        .collect();
    let Some(phone_col) = headers.iter().position(|h| h == "phone_number" || h == "phone") else {
        bail!("{}: the header row needs a `phone_number` column", path.display());
    };
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let record = record.with_context(|| format!("{}: line {line}", path.display()))?;
        let phone = record.get(phone_col).unwrap_or_default();
        if phone.is_empty() {
            bail!("{}: line {line}: empty phone_number", path.display());
        }
        let (mut tags, mut vars) = (Map::new(), Map::new());
        for (col, (header, value)) in headers.iter().zip(record.iter()).enumerate() {
            if col == phone_col {
                continue;
            }
            match header.strip_prefix("tag.") {
                Some(tag) => tags.insert(tag.to_string(), Value::from(value)),
                None => vars.insert(header.to_string(), Value::from(value)),
            };
        }
        rows.push(json!({"phone_number": phone, "user_tag_identifiers": tags, "workflow_variables": vars}));
    }
    if rows.is_empty() {
        bail!("{}: no rows below the header", path.display());
    }
    Ok(rows)
}

/// Polls the batch until it is COMPLETED, drawing progress; prints the final stats.
async fn watch(api: &Api, batch_id: &str) -> anyhow::Result<()> {
    let mut progress = Progress::new();
    let report = loop {
        let report = api.batch(batch_id).await?;
        progress.update(&Counts::of(&report));
        if report["status"] == "COMPLETED" {
            progress.finish();
            break report;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    println!("{}", serde_json::to_string_pretty(&report["stats"])?);
    Ok(())
}

/// A small client of our own API; errors show the server's envelope message.
struct Api {
    http: reqwest::Client,
    base: String,
    key: String,
}

impl Api {
    fn new(args: &ServerArgs, config: &crate::config::Config) -> anyhow::Result<Api> {
        let base = args.url.clone().unwrap_or_else(|| format!("http://{}", config.listen));
        let http = reqwest::Client::builder().timeout(Duration::from_secs(60)).build()?;
        Ok(Api { http, base: base.trim_end_matches('/').to_string(), key: args.api_key.clone() })
    }

    async fn post_batch(&self, body: &Value, idempotency_key: &str) -> anyhow::Result<Value> {
        let req = self
            .http
            .post(format!("{}/voicebot/v1/call", self.base))
            .bearer_auth(&self.key)
            .header("Idempotency-Key", idempotency_key)
            .json(body);
        read(req).await
    }

    async fn batch(&self, batch_id: &str) -> anyhow::Result<Value> {
        let req = self.http.get(format!("{}/voicebot/v1/batch/{batch_id}", self.base)).bearer_auth(&self.key);
        Ok(read(req).await?["data"].take())
    }
}

async fn read(req: reqwest::RequestBuilder) -> anyhow::Result<Value> {
    let resp = req.send().await.context("voicebot API unreachable")?;
    let status = resp.status();
    let body: Value = resp.json().await.with_context(|| format!("HTTP {status}: not JSON"))?;
    if !status.is_success() {
        let errors = body.get("errors").map(|e| format!(" {e}")).unwrap_or_default();
        bail!("HTTP {status}: {}{errors}", body["message"].as_str().unwrap_or("error"));
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::read_csv;

    #[test]
    fn rows_become_variables_and_tags_and_a_bom_is_ignored() {
        let dir = std::env::temp_dir().join(format!("voicebot-csv-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("patients.csv");
        std::fs::write(&path, "\u{feff}phone_number,name,tag.mrn\n+2348076960623, James ,MRN-1\n").unwrap();
        let rows = read_csv(&path).unwrap();
        assert_eq!(
            rows,
            vec![
                serde_json::json!({"phone_number": "+2348076960623", "user_tag_identifiers": {"mrn": "MRN-1"},
                                    "workflow_variables": {"name": "James"}})
            ]
        );
        std::fs::write(&path, "name\nJames\n").unwrap();
        assert!(read_csv(&path).unwrap_err().to_string().contains("phone_number"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
