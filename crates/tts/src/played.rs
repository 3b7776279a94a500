//! How an attempt's record names a prompt it played, so the dashboard plays what the call played
//! (the same cached rendering or recording) rather than a fresh rendering, which could differ once
//! the voice table or an engine changed.
//!
//! A spoken prompt is named by the render-cache keys of its sentences (`tts:<key>+<key>`), a recorded
//! one by its id (`audio:<id>`). Both are content addresses: the audio behind a name never changes, it
//! can only leave the cache.

use std::fmt;
use std::str::FromStr;

use crate::cache::{AudioId, CacheKey};

/// A prompt as it was played.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlayedPrompt {
    /// Speech: the cache keys of its sentences, in order ([`crate::Renderer::keys`]).
    Speech(Vec<CacheKey>),
    /// An uploaded recording.
    Recording(AudioId),
}

/// Text that names no played prompt.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a played prompt reference (tts:<key>+… or audio:<id>)")]
#[non_exhaustive]
pub struct InvalidPlayedPrompt;

impl fmt::Display for PlayedPrompt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlayedPrompt::Speech(keys) => {
                f.write_str("tts:")?;
                for (i, key) in keys.iter().enumerate() {
                    if i > 0 {
                        f.write_str("+")?;
                    }
                    f.write_str(&key.to_hex())?;
                }
                Ok(())
            }
            PlayedPrompt::Recording(id) => write!(f, "audio:{id}"),
        }
    }
}

impl FromStr for PlayedPrompt {
    type Err = InvalidPlayedPrompt;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(keys) = s.strip_prefix("tts:") {
            let keys = keys.split('+').map(|k| k.parse().map_err(|_| InvalidPlayedPrompt));
            return Ok(PlayedPrompt::Speech(keys.collect::<Result<_, _>>()?));
        }
        let id = s.strip_prefix("audio:").ok_or(InvalidPlayedPrompt)?;
        Ok(PlayedPrompt::Recording(id.parse().map_err(|_| InvalidPlayedPrompt)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::voices::VoiceTable;

    #[test]
    fn names_round_trip_and_garbage_is_refused() {
        let voice = VoiceTable::default().resolve("english", crate::Gender::Female).unwrap();
        let keys = vec![CacheKey::new("fp", &voice, "Hello Ada."), CacheKey::new("fp", &voice, "Press 1.")];
        for played in [PlayedPrompt::Speech(keys), PlayedPrompt::Recording("abc_DEF-1".parse().unwrap())] {
            assert_eq!(played.to_string().parse::<PlayedPrompt>(), Ok(played.clone()));
        }
        for bad in ["", "tts:", "tts:zz", "audio:", "audio:a/b", "file:/etc/passwd", "tts:00+"] {
            assert!(bad.parse::<PlayedPrompt>().is_err(), "{bad}");
        }
    }
}
