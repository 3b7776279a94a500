//! Renders one text to a WAV file with the shipped voice table and espeak-ng, through a cache in a data dir.
//!
//! Usage: `cargo run -p voicebot-tts --example say -- ACCENT GENDER "text" OUT.wav [DATA_DIR]`

use std::path::PathBuf;

use voicebot_tts::{Gender, Renderer, TtsConfig};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [accent, gender, text, out, rest @ ..] = args.as_slice() else {
        return Err("usage: say ACCENT GENDER TEXT OUT.wav [DATA_DIR]".into());
    };
    let data_dir = rest.first().map_or_else(|| std::env::temp_dir().join("voicebot-say"), PathBuf::from);
    let renderer = Renderer::from_config(&data_dir, &TtsConfig::default()).await?;
    let voice = renderer.voice(accent, gender.parse::<Gender>()?)?;
    let pcm = renderer.render(text, &voice).await?;
    std::fs::write(out, pcm.to_wav())?;
    println!(
        "{out}: {:.2} s, rms {:.0}, peak {}, voice {} ({}, native: {})",
        pcm.duration().as_secs_f64(),
        pcm.rms(),
        pcm.peak(),
        voice.voice,
        voice.engine,
        voice.native
    );
    Ok(())
}
