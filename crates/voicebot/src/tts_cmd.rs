//! `voicebot tts …`: hear a voice, list the accent table.

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;

use crate::config::Config;

/// `voicebot tts …`
#[derive(Subcommand)]
pub enum TtsCommand {
    /// Render text in an accent and gender to a WAV file (8 kHz mono).
    Say {
        /// Accent name (see `voicebot tts voices`).
        #[arg(long, default_value = "english")]
        accent: String,
        /// male or female.
        #[arg(long, default_value = "female")]
        gender: String,
        /// Output WAV path.
        #[arg(short = 'o', long, default_value = "voicebot-say.wav")]
        output: PathBuf,
        /// What to say.
        text: String,
    },
    /// Print the accent table as JSON.
    Voices,
}

pub async fn run(config: &Config, cmd: TtsCommand) -> anyhow::Result<()> {
    match cmd {
        TtsCommand::Say { accent, gender, output, text } => {
            let renderer = config.renderer().await?;
            let gender: voicebot_tts::Gender =
                gender.parse().map_err(|e| anyhow::anyhow!("--gender: {e}"))?;
            let voice = renderer.voice(&accent, gender)?;
            let audio = renderer.render(&text, &voice).await?;
            std::fs::write(&output, audio.to_wav())
                .with_context(|| format!("writing {}", output.display()))?;
            println!(
                "{}",
                serde_json::json!({"wav": output, "seconds": audio.duration().as_secs_f64(),
                    "voice": voice.voice, "engine": voice.engine, "native": voice.native})
            );
        }
        TtsCommand::Voices => {
            println!("{}", serde_json::to_string_pretty(&config.voice_table()?.voices())?);
        }
    }
    Ok(())
}
