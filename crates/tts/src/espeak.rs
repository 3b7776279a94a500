//! The espeak-ng engine, the default voice of every accent.
//!
//! **CLI, not the library.** We run `espeak-ng -v FILE+VARIANT -s RATE -p PITCH --stdin --stdout` per
//! utterance, because:
//! - libespeak-ng keeps one global synthesiser per process (not thread-safe), so the library would
//!   serialise all rendering on one core, while separate processes use both cores;
//! - binding it needs `unsafe` FFI and a link-time dependency on the -dev package, where the CLI needs only
//!   the Debian package `espeak-ng`; a crash in espeak cannot take the server down;
//! - the measured cost is small: most of a run is process start-up (~9 ms, see BENCHMARKS.md), and we halve
//!   it by naming the voice *file* (`gmw/en+f3`) instead of the language (`en`), which spares espeak-ng a
//!   scan of its ~370 voice files. Rendered prompts are cached, so each distinct sentence is paid once.
//!
//! **Batches.** For pre-rendering, [`Engine::render_batch`] speaks up to [`MAX_BATCH`] sentences in one run
//! (SSML mode, `-m`, texts escaped and separated by `<break time="1000ms"/>`) and cuts the output at those
//! long digital silences, which removes the start-up cost from all but one sentence: a 10 000-recipient batch
//! with a name variable pre-renders in under a minute on 2 cores. If the cut does not yield exactly one clip
//! per text, the batch is rendered one text per run instead.
//!
//! Text goes in on stdin (never argv, so a leading `-` cannot become an option) with `[[`…`]]` phoneme
//! escapes defused. Output is 22.05 kHz WAV, resampled to 8 kHz and normalised by the private `dsp` module.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use async_trait::async_trait;
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use crate::decode;
use crate::dsp;
use crate::engine::{Engine, PIPELINE_VERSION};
use crate::error::TtsError;
use crate::pcm::Pcm16;
use crate::voices::VoiceSpec;

/// Engine id used in the voice table.
pub const ESPEAK_ID: &str = "espeak-ng";

/// How long one utterance may take before the process is killed.
const RENDER_TIMEOUT: Duration = Duration::from_secs(30);

/// Speaks through the `espeak-ng` program.
#[derive(Debug, Clone)]
pub struct EspeakEngine {
    program: PathBuf,
    fingerprint: String,
    /// Language code or voice file name (lowercase) → voice file relative to espeak-ng-data/voices.
    voice_files: HashMap<String, String>,
    variants: Vec<String>,
}

impl EspeakEngine {
    /// Finds `espeak-ng` on `PATH` and reads its version and voice list.
    pub async fn new() -> Result<Self, TtsError> {
        Self::with_program("espeak-ng").await
    }

    /// Like [`EspeakEngine::new`] with an explicit program path.
    pub async fn with_program(program: impl Into<PathBuf>) -> Result<Self, TtsError> {
        let program = program.into();
        let version = run(&program, &["--version"]).await?;
        let version = version.lines().next().unwrap_or_default().trim().to_owned();
        let voices = run(&program, &["--voices"]).await?;
        let variants = run(&program, &["--voices=variant"]).await?;
        Ok(Self {
            fingerprint: format!("{ESPEAK_ID}|{version}|{PIPELINE_VERSION}"),
            voice_files: parse_voice_files(&voices),
            variants: parse_variants(&variants),
            program,
        })
    }

    /// The `-v` argument for a table voice `lang[+variant]`, or `None` if espeak-ng lacks it.
    fn voice_arg(&self, voice: &str) -> Option<String> {
        let (lang, variant) = match voice.split_once('+') {
            Some((l, v)) => (l, Some(v)),
            None => (voice, None),
        };
        let file = self.voice_files.get(&lang.trim().to_ascii_lowercase())?;
        match variant {
            None => Some(file.clone()),
            Some(v) if self.variants.iter().any(|known| known == v) => Some(format!("{file}+{v}")),
            Some(_) => None,
        }
    }

    async fn synthesise(
        &self,
        voice_arg: &str,
        input: String,
        ssml: bool,
        spec: &VoiceSpec,
    ) -> Result<Vec<u8>, TtsError> {
        let mut child = Command::new(&self.program)
            .args(ssml.then_some("-m"))
            .args(["-v", voice_arg])
            .args(["-s", &spec.rate.clamp(80, 450).to_string()])
            .args(["-p", &spec.pitch.min(99).to_string()])
            .args(["--stdin", "--stdout"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| self.spawn_error(source))?;
        let mut stdin = child.stdin.take();
        let write = async move {
            if let Some(stdin) = stdin.as_mut() {
                // A write error shows up as a failed exit below.
                let _ = stdin.write_all(input.as_bytes()).await;
            }
            drop(stdin);
        };
        let (_, output) =
            tokio::time::timeout(RENDER_TIMEOUT, async { tokio::join!(write, child.wait_with_output()) })
                .await
                .map_err(|_| TtsError::Timeout { engine: ESPEAK_ID.to_owned(), attempts: 1 })?;
        let output = output.map_err(|source| self.spawn_error(source))?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            return Err(TtsError::EngineFailed {
                program: self.program.clone(),
                status: output.status.to_string(),
                stderr: stderr.chars().take(300).collect(),
            });
        }
        Ok(output.stdout)
    }

    fn resolve(&self, voice: &VoiceSpec) -> Result<String, TtsError> {
        self.voice_arg(&voice.voice).ok_or_else(|| TtsError::UnknownVoice {
            engine: ESPEAK_ID.to_owned(),
            voice: voice.voice.clone(),
        })
    }

    /// One espeak-ng run for all `texts`, separated by SSML breaks, split again at those silences.
    /// `None` when the split does not yield exactly one clip per text (then the caller renders singly).
    async fn render_joined(&self, texts: &[&str], voice: &VoiceSpec) -> Result<Option<Vec<Pcm16>>, TtsError> {
        let voice_arg = self.resolve(voice)?;
        let separator = format!("<break time=\"{BATCH_BREAK_MS}ms\"/>");
        let input =
            texts.iter().map(|t| ssml_escape(&defuse_phonemes(t))).collect::<Vec<_>>().join(&separator);
        let wav = self.synthesise(&voice_arg, input, true, voice).await?;
        let n = texts.len();
        tokio::task::spawn_blocking(move || {
            let decoded = decode::decode_wav(&wav)?;
            let Some(clips) = split_at_breaks(&decoded.samples, decoded.rate, n) else {
                return Ok(None);
            };
            let clips = clips
                .into_iter()
                .map(|clip| dsp::to_telephone(clip, decoded.rate, decoded.channels))
                .collect();
            Ok(Some(clips))
        })
        .await
        .map_err(|_| TtsError::TaskFailed)?
    }

    fn spawn_error(&self, source: std::io::Error) -> TtsError {
        TtsError::Spawn { program: self.program.clone(), source }
    }
}

#[async_trait]
impl Engine for EspeakEngine {
    fn id(&self) -> &str {
        ESPEAK_ID
    }

    fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    fn check_voice(&self, voice: &VoiceSpec) -> Result<(), TtsError> {
        self.voice_arg(&voice.voice).map(|_| ()).ok_or_else(|| TtsError::UnknownVoice {
            engine: ESPEAK_ID.to_owned(),
            voice: voice.voice.clone(),
        })
    }

    async fn render(&self, text: &str, voice: &VoiceSpec) -> Result<Pcm16, TtsError> {
        if text.trim().is_empty() {
            return Err(TtsError::EmptyText);
        }
        let voice_arg = self.resolve(voice)?;
        let wav = self.synthesise(&voice_arg, defuse_phonemes(text), false, voice).await?;
        let pcm = tokio::task::spawn_blocking(move || {
            let decoded = decode::decode_wav(&wav)?;
            Ok::<_, TtsError>(dsp::to_telephone(&decoded.samples, decoded.rate, decoded.channels))
        })
        .await
        .map_err(|_| TtsError::TaskFailed)??;
        Ok(pcm)
    }

    /// Up to [`MAX_BATCH`] texts per espeak-ng run, which saves the process start-up per text.
    async fn render_batch(&self, texts: &[String], voice: &VoiceSpec) -> Vec<Result<Pcm16, TtsError>> {
        let mut out: Vec<Option<Result<Pcm16, TtsError>>> = texts.iter().map(|_| None).collect();
        let speakable: Vec<usize> = (0..texts.len()).filter(|&i| !texts[i].trim().is_empty()).collect();
        for chunk in speakable.chunks(MAX_BATCH) {
            let chunk_texts: Vec<&str> = chunk.iter().map(|&i| texts[i].as_str()).collect();
            let joined =
                if chunk.len() > 1 { self.render_joined(&chunk_texts, voice).await } else { Ok(None) };
            match joined {
                Ok(Some(clips)) => {
                    for (&i, clip) in chunk.iter().zip(clips) {
                        out[i] = Some(Ok(clip));
                    }
                }
                Ok(None) => {
                    for &i in chunk {
                        out[i] = Some(self.render(&texts[i], voice).await);
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "batched espeak-ng run failed; rendering singly");
                    for &i in chunk {
                        out[i] = Some(self.render(&texts[i], voice).await);
                    }
                }
            }
        }
        out.into_iter().map(|r| r.unwrap_or(Err(TtsError::EmptyText))).collect()
    }
}

/// Pause put between texts in a batched run. espeak-ng renders it as ~0.6 s of digital silence at 135–300
/// words per minute; its own pauses inside a sentence stay under 0.1 s there (0.41 s at 80 wpm).
const BATCH_BREAK_MS: u32 = 1_000;
/// A digital silence at least this long (seconds) separates two texts of a batched run; espeak-ng's own
/// pauses inside a sentence are far shorter.
const MIN_BREAK_SECS: f64 = 0.45;
/// Texts per espeak-ng run.
pub const MAX_BATCH: usize = 32;

/// Cuts a batched run at its `n - 1` long silences; keeps 100 ms of silence after and 50 ms before each
/// clip, like a single run. `None` unless exactly `n - 1` such silences are found.
fn split_at_breaks(samples: &[f32], rate: u32, n: usize) -> Option<Vec<&[f32]>> {
    const QUIET: f32 = 3.0 / 32768.0;
    let min_run = (MIN_BREAK_SECS * f64::from(rate)) as usize;
    let (tail, lead) = (rate as usize / 10, rate as usize / 20);
    let mut cuts = Vec::new();
    let mut run_start = None;
    for (i, s) in samples.iter().enumerate() {
        match (s.abs() <= QUIET, run_start) {
            (true, None) => run_start = Some(i),
            (false, Some(start)) => {
                if start > 0 && i - start >= min_run {
                    cuts.push((start + tail, i.saturating_sub(lead)));
                }
                run_start = None;
            }
            _ => {}
        }
    }
    if cuts.len() + 1 != n {
        return None;
    }
    let mut clips = Vec::with_capacity(n);
    let mut begin = 0;
    for (end, next) in cuts {
        clips.push(&samples[begin..end]);
        begin = next;
    }
    clips.push(&samples[begin..]);
    Some(clips)
}

fn ssml_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Runs a short informational command and returns its stdout.
async fn run(program: &Path, args: &[&str]) -> Result<String, TtsError> {
    let output = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|source| TtsError::Spawn { program: program.to_owned(), source })?;
    if !output.status.success() {
        return Err(TtsError::EngineFailed {
            program: program.to_owned(),
            status: output.status.to_string(),
            stderr: String::from_utf8_lossy(&output.stderr).chars().take(300).collect(),
        });
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Parses `espeak-ng --voices`: `Pty Language Age/Gender VoiceName File Other-languages`.
/// Both the language code (`en-gb`) and the file's base name (`en`) map to the file (`gmw/en`).
fn parse_voice_files(listing: &str) -> HashMap<String, String> {
    let mut map = HashMap::new();
    for line in listing.lines().skip(1) {
        let cols: Vec<&str> = line.split_whitespace().collect();
        let (Some(lang), Some(file)) = (cols.get(1), cols.get(4)) else {
            continue;
        };
        let base = file.rsplit('/').next().unwrap_or(file).to_ascii_lowercase();
        map.entry(lang.to_ascii_lowercase()).or_insert_with(|| (*file).to_owned());
        map.entry(base).or_insert_with(|| (*file).to_owned());
    }
    map
}

/// Parses `espeak-ng --voices=variant`: the variant file names (`f3`, `m3`, ...) after `!v/`.
fn parse_variants(listing: &str) -> Vec<String> {
    listing
        .lines()
        .skip(1)
        .filter_map(|line| line.split_whitespace().nth(4))
        .filter_map(|file| file.strip_prefix("!v/"))
        .map(str::to_owned)
        .collect()
}

/// espeak-ng reads `[[...]]` as raw phoneme input; recipient text must not reach that mode.
fn defuse_phonemes(text: &str) -> String {
    text.replace("[[", "[ [").replace("]]", "] ]")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_listings() {
        let voices = "Pty Language       Age/Gender VoiceName          File                 Other Languages\n \
            5  en-gb           --/M      English_(Great_Britain) gmw/en               (en 2)\n \
            5  sw              --/M      Swahili            bnt/sw\n";
        let map = parse_voice_files(voices);
        assert_eq!(map.get("en").map(String::as_str), Some("gmw/en"));
        assert_eq!(map.get("en-gb").map(String::as_str), Some("gmw/en"));
        assert_eq!(map.get("sw").map(String::as_str), Some("bnt/sw"));
        let variants = "Pty Language Age/Gender VoiceName File Other\n 5 variant --/F Female3 !v/f3\n";
        assert_eq!(parse_variants(variants), vec!["f3".to_owned()]);
        assert_eq!(defuse_phonemes("a [[h@l'oU]] b"), "a [ [h@l'oU] ] b");
        assert_eq!(ssml_escape("a<b>&c"), "a&lt;b&gt;&amp;c");
    }

    #[test]
    fn splits_batched_runs_at_long_silences() {
        let rate = 1_000;
        let loud = |n| vec![0.5f32; n];
        let quiet = |n| vec![0.0f32; n];
        // lead silence, clip, short pause, clip, long break, clip, tail silence
        let samples =
            [quiet(50), loud(100), quiet(200), loud(100), quiet(800), loud(70), quiet(300)].concat();
        let clips = split_at_breaks(&samples, rate, 2).unwrap();
        assert_eq!(clips.len(), 2);
        assert_eq!(clips[0].len(), 50 + 100 + 200 + 100 + 100);
        assert_eq!(clips[1].len(), 50 + 70 + 300);
        assert!(split_at_breaks(&samples, rate, 3).is_none());
        assert_eq!(split_at_breaks(&samples, rate, 1), None);
    }
}
