//! Operator commands: integrators and their keys (CONTRACT.md §2). `create` and `rotate`
//! print exactly one JSON object on stdout — scripts parse it — and the key is shown only
//! then; the store keeps its hash.

use clap::Subcommand;
use serde_json::json;
use voicebot_store::secrets::{hash_api_key, new_api_key, new_signing_secret};
use voicebot_store::{Integrator, KeyRotation, now_micros};

use crate::config::Config;

/// How long a rotated-out key and signing secret keep working.
const ROTATION_GRACE_MICROS: i64 = 24 * 3600 * 1_000_000;

/// `voicebot integrators …`
#[derive(Subcommand)]
pub enum IntegratorsCommand {
    /// Create an integrator; prints {"integrator_id", "api_key", "signing_secret"}.
    Create {
        /// Display name.
        #[arg(long)]
        name: String,
        /// Default completion callback URL.
        #[arg(long)]
        callback_url: Option<String>,
        /// ISO 3166 country (e.g. NG) whose local numbers (0803 123 4567) intake accepts.
        #[arg(long)]
        default_country: Option<String>,
    },
    /// List integrators as a JSON array.
    List,
    /// Change an integrator's settings; prints the integrator as JSON.
    Update {
        /// Integrator id.
        #[arg(long)]
        integrator: String,
        /// ISO 3166 country (e.g. NG) for local numbers; an empty value clears it.
        #[arg(long)]
        default_country: Option<String>,
    },
}

/// `voicebot keys …`
#[derive(Subcommand)]
pub enum KeysCommand {
    /// Issue a new API key and signing secret; the old ones work for 24 more hours.
    Rotate {
        /// Integrator id.
        #[arg(long)]
        integrator: String,
    },
}

pub async fn integrators(config: &Config, cmd: IntegratorsCommand) -> anyhow::Result<()> {
    let store = config.open_store().await?;
    match cmd {
        IntegratorsCommand::Create { name, callback_url, default_country } => {
            if let Some(url) = &callback_url {
                voicebot_workflow_check(url)?;
            }
            let default_country = default_country.as_deref().map(country).transpose()?.flatten();
            let api_key = new_api_key();
            let integrator = Integrator {
                id: uuid::Uuid::new_v4().to_string(),
                name,
                callback_url,
                signing_secret: new_signing_secret(),
                previous_signing_secret: None,
                previous_secret_expires_at: None,
                created_at: now_micros(),
                default_country,
            };
            store.create_integrator(&integrator, &hash_api_key(&api_key)).await?;
            println!(
                "{}",
                json!({"integrator_id": integrator.id, "api_key": api_key, "signing_secret": integrator.signing_secret})
            );
        }
        IntegratorsCommand::List => {
            let list = store.list_integrators().await?;
            let rows: Vec<_> = list.iter().map(integrator_json).collect();
            println!("{}", serde_json::to_string_pretty(&rows)?);
        }
        IntegratorsCommand::Update { integrator, default_country } => {
            if let Some(code) = default_country {
                let code = country(&code)?;
                if !store.set_default_country(&integrator, code.as_deref()).await? {
                    anyhow::bail!("no integrator {integrator}");
                }
            }
            let i = store.get_integrator(&integrator).await?;
            let i = i.ok_or_else(|| anyhow::anyhow!("no integrator {integrator}"))?;
            println!("{}", integrator_json(&i));
        }
    }
    Ok(())
}

fn integrator_json(i: &Integrator) -> serde_json::Value {
    json!({"integrator_id": i.id, "name": i.name, "callback_url": i.callback_url,
        "default_country": i.default_country,
        "created_at": voicebot_store::report::format_timestamp(i.created_at)})
}

/// `--default-country`: an ISO 3166 code the numbering plan knows, upper case; empty clears.
fn country(code: &str) -> anyhow::Result<Option<String>> {
    if code.trim().is_empty() {
        return Ok(None);
    }
    let id = voicebot_api::country_id(code)
        .ok_or_else(|| anyhow::anyhow!("--default-country {code}: not a two-letter ISO 3166 country code"))?;
    Ok(Some(id.as_ref().to_string()))
}

fn voicebot_workflow_check(url: &str) -> anyhow::Result<()> {
    voicebot_api::check_callback_url(url).map_err(|why| anyhow::anyhow!("--callback-url {why}"))
}

pub async fn keys(config: &Config, cmd: KeysCommand) -> anyhow::Result<()> {
    let store = config.open_store().await?;
    match cmd {
        KeysCommand::Rotate { integrator } => {
            let api_key = new_api_key();
            let now = now_micros();
            let rotation = KeyRotation {
                key_hash: hash_api_key(&api_key),
                signing_secret: new_signing_secret(),
                now,
                grace_until: now + ROTATION_GRACE_MICROS,
            };
            if !store.rotate_keys(&integrator, &rotation).await? {
                anyhow::bail!("no integrator {integrator}");
            }
            println!(
                "{}",
                json!({"integrator_id": integrator, "api_key": api_key, "signing_secret": rotation.signing_secret})
            );
        }
    }
    Ok(())
}
