//! Audio on disk under the data dir: the content-addressed render cache (`prompts/`) and the store of
//! recorded prompts that integrators upload (`audio/`).
//!
//! Render cache: a [`CacheKey`] is the SHA-256 of the engine fingerprint, every voice parameter and the
//! text; the file is `<data_dir>/prompts/<first two hex>/<hash>.wav` (canonical 8 kHz mono WAV, so an
//! operator can listen to it). Writes go to a temporary file in the same directory and are renamed into
//! place, so a reader sees a whole file or none, and concurrent writers of the same key are harmless. Cache
//! files are not fsynced: after a power cut a damaged file is detected on read and simply rendered again.
//!
//! Recorded prompts are not reproducible, so [`AudioStore`] fsyncs them before the rename.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};

use crate::decode::decode_audio;
use crate::error::{DecodeError, TtsError};
use crate::pcm::Pcm16;
use crate::voices::VoiceSpec;

/// Identifies one rendering: engine fingerprint + voice + text.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CacheKey([u8; 32]);

impl CacheKey {
    /// Hashes every input that can change the audio. Fields are length-prefixed, so no two different
    /// inputs share a key by concatenation.
    pub fn new(fingerprint: &str, voice: &VoiceSpec, text: &str) -> Self {
        let mut h = Sha256::new();
        let rate = voice.rate.to_string();
        let pitch = voice.pitch.to_string();
        for part in [
            "voicebot-tts-cache-v1",
            fingerprint,
            &voice.engine,
            &voice.voice,
            &voice.accent,
            voice.gender.as_str(),
            &rate,
            &pitch,
            text,
        ] {
            h.update((part.len() as u64).to_le_bytes());
            h.update(part.as_bytes());
        }
        CacheKey(h.finalize().into())
    }

    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

/// Text that is not 64 hex digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid cache key (expected 64 hex digits)")]
#[non_exhaustive]
pub struct InvalidCacheKey;

impl FromStr for CacheKey {
    type Err = InvalidCacheKey;

    /// Reads [`CacheKey::to_hex`] back.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut key = [0u8; 32];
        hex::decode_to_slice(s, &mut key).map_err(|_| InvalidCacheKey)?;
        Ok(CacheKey(key))
    }
}

impl fmt::Display for CacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for CacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CacheKey({})", &self.to_hex()[..16])
    }
}

/// The render cache directory.
#[derive(Debug, Clone)]
pub struct RenderCache {
    root: PathBuf,
}

impl RenderCache {
    /// Opens (creating if needed) `<data_dir>/prompts`.
    pub fn open(data_dir: impl AsRef<Path>) -> Result<Self, TtsError> {
        let root = data_dir.as_ref().join("prompts");
        std::fs::create_dir_all(&root).map_err(|source| TtsError::Cache { path: root.clone(), source })?;
        Ok(Self { root })
    }

    /// Where `key` lives.
    pub fn path(&self, key: &CacheKey) -> PathBuf {
        let hex = key.to_hex();
        self.root.join(&hex[..2]).join(format!("{hex}.wav"))
    }

    /// True when `key` has a file (not read or checked).
    pub fn contains(&self, key: &CacheKey) -> bool {
        self.path(key).is_file()
    }

    /// Reads `key`. A missing file is `None`; so is a damaged one (logged and removed).
    pub async fn get(&self, key: &CacheKey) -> Result<Option<Pcm16>, TtsError> {
        let path = self.path(key);
        let bytes = match tokio::fs::read(&path).await {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(TtsError::Cache { path, source }),
        };
        match Pcm16::from_canonical_wav(&bytes) {
            Some(pcm) => Ok(Some(pcm)),
            None => {
                tracing::warn!(path = %path.display(), "damaged prompt cache file; rendering again");
                let _ = tokio::fs::remove_file(&path).await;
                Ok(None)
            }
        }
    }

    /// Stores `pcm` under `key` atomically.
    pub async fn put(&self, key: &CacheKey, pcm: &Pcm16) -> Result<(), TtsError> {
        write_atomic(&self.path(key), pcm.to_wav(), false).await
    }
}

/// Id of a recorded prompt: 1–64 characters of `[A-Za-z0-9_-]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AudioId(String);

/// An id with characters outside `[A-Za-z0-9_-]` or the wrong length.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid audio id (expected 1-64 characters of A-Z a-z 0-9 _ -)")]
#[non_exhaustive]
pub struct InvalidAudioId;

impl AudioId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for AudioId {
    type Err = InvalidAudioId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let ok = (1..=64).contains(&s.len())
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if ok { Ok(AudioId(s.to_owned())) } else { Err(InvalidAudioId) }
    }
}

impl fmt::Display for AudioId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Failure to import a recording: bad audio (a 422) or storage trouble (a 500).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// The upload is not audio we can decode.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// Writing it failed.
    #[error(transparent)]
    Store(#[from] TtsError),
}

/// Recorded prompts, converted to 8 kHz mono, under `<data_dir>/audio/<id>.wav`.
#[derive(Debug, Clone)]
pub struct AudioStore {
    root: PathBuf,
}

impl AudioStore {
    /// Opens (creating if needed) `<data_dir>/audio`.
    pub fn open(data_dir: impl AsRef<Path>) -> Result<Self, TtsError> {
        let root = data_dir.as_ref().join("audio");
        std::fs::create_dir_all(&root).map_err(|source| TtsError::Cache { path: root.clone(), source })?;
        Ok(Self { root })
    }

    fn path(&self, id: &AudioId) -> PathBuf {
        self.root.join(format!("{id}.wav"))
    }

    /// Decodes an uploaded WAV or MP3, stores it, and returns its content-derived id (the first 32 hex
    /// digits of the SHA-256 of the converted audio: the same recording uploaded twice gets one id).
    pub async fn import(&self, bytes: &[u8]) -> Result<AudioId, ImportError> {
        let owned = bytes.to_vec();
        let pcm = tokio::task::spawn_blocking(move || decode_audio(&owned))
            .await
            .map_err(|_| TtsError::TaskFailed)??;
        let wav = pcm.to_wav();
        let id = AudioId(hex::encode(&Sha256::digest(&wav)[..16]));
        if !self.path(&id).is_file() {
            write_atomic(&self.path(&id), wav, true).await?;
        }
        Ok(id)
    }

    /// Stores already converted audio under a caller-chosen id, replacing any previous one.
    pub async fn put(&self, id: &AudioId, pcm: &Pcm16) -> Result<(), TtsError> {
        write_atomic(&self.path(id), pcm.to_wav(), true).await
    }

    /// The recording with this id, or `None`.
    pub async fn get(&self, id: &AudioId) -> Result<Option<Pcm16>, TtsError> {
        let path = self.path(id);
        match tokio::fs::read(&path).await {
            Ok(bytes) => Ok(Pcm16::from_canonical_wav(&bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(TtsError::Cache { path, source }),
        }
    }

    /// True when a recording with this id exists.
    pub fn contains(&self, id: &AudioId) -> bool {
        self.path(id).is_file()
    }
}

/// Writes `bytes` to a unique temporary file next to `path`, then renames it over `path`.
async fn write_atomic(path: &Path, bytes: Vec<u8>, durable: bool) -> Result<(), TtsError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let err = |path: &Path| {
        let path = path.to_owned();
        move |source| TtsError::Cache { path, source }
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    tokio::fs::create_dir_all(dir).await.map_err(err(dir))?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("audio");
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let tmp = dir.join(format!(".{name}.{}.{n}.tmp", std::process::id()));
    let write = async {
        let mut file = tokio::fs::File::create(&tmp).await?;
        tokio::io::AsyncWriteExt::write_all(&mut file, &bytes).await?;
        if durable {
            file.sync_all().await?;
        }
        drop(file);
        tokio::fs::rename(&tmp, path).await
    };
    if let Err(source) = write.await {
        let _ = tokio::fs::remove_file(&tmp).await;
        return Err(TtsError::Cache { path: path.to_owned(), source });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::voices::VoiceTable;

    #[test]
    fn keys_depend_on_every_input() {
        let table = VoiceTable::default();
        let v = table.resolve("english", crate::Gender::Female).unwrap();
        let base = CacheKey::new("fp", &v, "hello");
        assert_eq!(base, CacheKey::new("fp", &v, "hello"));
        assert_ne!(base, CacheKey::new("fp2", &v, "hello"));
        assert_ne!(base, CacheKey::new("fp", &v, "hello!"));
        let mut faster = v.clone();
        faster.rate += 1;
        assert_ne!(base, CacheKey::new("fp", &faster, "hello"));
        let male = table.resolve("english", crate::Gender::Male).unwrap();
        assert_ne!(base, CacheKey::new("fp", &male, "hello"));
    }

    #[tokio::test]
    async fn cache_round_trip_and_damage() {
        let dir = tempfile::tempdir().unwrap();
        let cache = RenderCache::open(dir.path()).unwrap();
        let v = VoiceTable::default().resolve("swahili", crate::Gender::Male).unwrap();
        let key = CacheKey::new("fp", &v, "habari");
        assert_eq!(cache.get(&key).await.unwrap(), None);
        let pcm = Pcm16::new(vec![1, 2, 3]);
        cache.put(&key, &pcm).await.unwrap();
        assert!(cache.path(&key).starts_with(dir.path().join("prompts")));
        assert_eq!(cache.get(&key).await.unwrap(), Some(pcm));
        std::fs::write(cache.path(&key), b"RIFF junk").unwrap();
        assert_eq!(cache.get(&key).await.unwrap(), None);
        assert!(!cache.contains(&key));
        let leftovers = std::fs::read_dir(cache.path(&key).parent().unwrap()).unwrap().count();
        assert_eq!(leftovers, 0, "no temporary files left behind");
    }

    #[test]
    fn audio_ids_are_validated() {
        assert!("abc-DEF_123".parse::<AudioId>().is_ok());
        assert!("../etc/passwd".parse::<AudioId>().is_err());
        assert!("".parse::<AudioId>().is_err());
        assert!("x".repeat(65).parse::<AudioId>().is_err());
    }
}
