//! Answering-machine detection: is the answer a person or a machine, and when may we speak?
//!
//! [`MachineDetector`] listens to the callee's audio from the answer, in 20 ms frames, with time
//! passed in (sans-IO like the rest of this crate), and reports [`AmdEvent`]s:
//! - a verdict: [`AmdEvent::Human`], [`AmdEvent::Machine`] or [`AmdEvent::Undecided`];
//! - for a machine, when its greeting is over: [`AmdEvent::BeepEnded`] (the tone that starts the
//!   recording) or [`AmdEvent::GreetingEnded`] (silence after the greeting, when no beep came).
//!
//! How it decides (timing rules in the spirit of Asterisk's app_amd, thresholds our own, tuned on
//! the labelled corpus of `scripts/amd-corpus.py`, see BENCHMARKS.md):
//! - **Speech or not**, per frame: energy above an adaptive noise floor. The floor is the median of
//!   the last 0.8 s while that is stationary (its 10th and 90th percentiles within 8 dB: line
//!   noise, comfort noise), else it follows the quiet tenth of it, falling at once and rising at
//!   2.5 dB/s (so a long greeting cannot lift it into the speech). Pure tones never count as
//!   speech. A run of voiced frames shorter than `min_word` (a click, a breath) is ignored.
//! - **People** answer briefly and then wait: a first utterance (pauses shorter than
//!   `after_greeting_silence` inside it) shorter than `greeting`, then that silence → `Human`.
//! - **Machines** talk on: an utterance reaching `greeting` → `Machine`; and any beep → `Machine`
//!   (also up to `late_beep` after a `Human`/`Undecided` verdict: a short greeting whose beep
//!   came late is still a machine).
//! - **Nothing said** for `initial_silence` (people who wait for the caller to speak), or no
//!   verdict by `total_analysis` → `Undecided`: the caller treats it as a person.
//! - **Beeps** ([`beep`]): one steady pure tone, 400–2,000 Hz, ≥ 150 ms.
//!
//! Time: each frame of audio advances the detector's clock by 20 ms; when audio stops arriving
//! (silence suppression, loss) [`MachineDetector::handle_timeout`] counts the gap as silence once
//! it is longer than [`GAP`], so decisions based on silence still come. Nothing allocates after
//! [`MachineDetector::new`].
//!
//! ```
//! use std::time::{Duration, Instant};
//! use voicebot_media::amd::{AmdConfig, AmdEvent, MachineDetector};
//!
//! let start = Instant::now(); // the answer
//! let mut amd = MachineDetector::new(AmdConfig::default(), start);
//! let mut now = start;
//! let mut verdict = None;
//! for _ in 0..200 {
//!     now += Duration::from_millis(20);
//!     amd.process(now, &[0i16; 160]); // a silent line, frame by frame
//!     while let Some(ev) = amd.poll_event() {
//!         verdict.get_or_insert(ev);
//!     }
//! }
//! assert!(matches!(verdict, Some(AmdEvent::Undecided { .. })));
//! ```

mod beep;
#[cfg(test)]
pub(crate) mod testsig;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use beep::{BeepDetector, BeepStep};

use crate::sender::{FRAME_DURATION, FRAME_SAMPLES};
use crate::tone::DBM0_PEAK;

/// Audio missing for longer than this counts as silence (see the module docs).
pub const GAP: Duration = Duration::from_millis(200);
/// Frames of energy history for the noise floor (0.8 s).
const FLOOR_FRAMES: usize = 40;
/// A window whose 10th and 90th percentiles are this close is stationary (noise, not speech).
const STATIONARY_DB: f32 = 8.0;
/// How fast the floor may rise outside stationary stretches, dB per frame (2.5 dB/s).
const FLOOR_RISE_DB: f32 = 0.05;
/// Listening stops this long after the answer whatever happened (bounds the work per call).
const MAX_LISTEN: Duration = Duration::from_secs(90);

/// Thresholds of the detector. [`Default`] holds the values tuned on the corpus.
#[derive(Debug, Clone, PartialEq)]
pub struct AmdConfig {
    /// No speech for this long after the answer: [`AmdEvent::Undecided`].
    pub initial_silence: Duration,
    /// A first utterance this long is a machine's greeting.
    pub greeting: Duration,
    /// Silence this long after a shorter first utterance: a person waiting for an answer.
    pub after_greeting_silence: Duration,
    /// Voiced runs shorter than this are not words (clicks, breaths).
    pub min_word: Duration,
    /// No verdict by then: [`AmdEvent::Undecided`].
    pub total_analysis: Duration,
    /// After a machine verdict, silence this long after speech ends its greeting
    /// ([`AmdEvent::GreetingEnded`]) when no beep came first.
    pub end_of_greeting_silence: Duration,
    /// A beep this long after a `Human`/`Undecided` verdict or a `GreetingEnded` still counts.
    pub late_beep: Duration,
    /// Speech is this much above the noise floor, dB.
    pub speech_above_floor_db: f32,
    /// Quietest frame that can be speech, dBm0.
    pub min_speech_dbm0: f32,
    /// Quietest beep, dBm0 (mean power of the tone).
    pub min_beep_dbm0: f32,
}

impl Default for AmdConfig {
    fn default() -> Self {
        AmdConfig {
            initial_silence: Duration::from_millis(2500),
            greeting: Duration::from_millis(2400),
            after_greeting_silence: Duration::from_millis(800),
            min_word: Duration::from_millis(100),
            total_analysis: Duration::from_millis(5000),
            end_of_greeting_silence: Duration::from_millis(1200),
            late_beep: Duration::from_millis(4000),
            speech_above_floor_db: 9.0,
            min_speech_dbm0: -45.0,
            min_beep_dbm0: -45.0,
        }
    }
}

/// What the detector found; `at` is the time since the answer at which it was decided.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum AmdEvent {
    /// A person: speak now.
    Human {
        /// When decided.
        at: Duration,
    },
    /// An answering machine (may follow a `Human` or `Undecided` verdict when a beep comes late).
    Machine {
        /// When decided.
        at: Duration,
    },
    /// No verdict from the audio (silence, or nothing conclusive in time).
    Undecided {
        /// When given up.
        at: Duration,
    },
    /// A machine's greeting ended in silence (no beep yet): it is probably recording.
    GreetingEnded {
        /// When decided.
        at: Duration,
    },
    /// The machine's beep ended: it is recording now.
    BeepEnded {
        /// When the end was seen.
        at: Duration,
        /// The beep's frequency, Hz.
        frequency_hz: f32,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Human,
    Machine,
    Undecided,
}

/// Thresholds in frames.
#[derive(Debug, Clone, Copy)]
struct Frames {
    initial_silence: u32,
    greeting: u32,
    after_greeting_silence: u32,
    min_word: u32,
    total_analysis: u32,
    end_of_greeting_silence: u32,
    late_beep: u32,
    max_listen: u32,
}

fn frames(d: Duration) -> u32 {
    d.as_micros().div_ceil(FRAME_DURATION.as_micros()) as u32
}

/// dB of a mean square in PCM units, and of 0 dBm0 on that scale.
fn db(mean_square: f32) -> f32 {
    10.0 * (mean_square + 1.0).log10()
}

fn dbm0_power(dbm0: f32) -> f32 {
    let a = DBM0_PEAK * 10f32.powf(dbm0 / 20.0);
    a * a / 2.0
}

/// Streaming answering-machine detector for one call. See the module docs.
#[derive(Debug, Clone)]
pub struct MachineDetector {
    limits: Frames,
    above_floor_db: f32,
    min_speech_db: f32,
    start: Instant,
    /// Frames analysed so far (the detector's clock).
    frame_no: u32,
    partial: [i16; FRAME_SAMPLES],
    partial_len: usize,
    energies: [f32; FLOOR_FRAMES],
    energies_len: usize,
    floor: f32,
    beep: BeepDetector,
    /// Current run of voiced frames.
    voiced_run: u32,
    /// First frame of the first word.
    utterance_start: Option<u32>,
    /// Last voiced frame of a word.
    last_voiced: Option<u32>,
    verdict: Option<(Verdict, u32)>,
    greeting_ended: Option<u32>,
    done: bool,
    events: VecDeque<AmdEvent>,
}

impl MachineDetector {
    /// A detector for a call answered at `start`.
    pub fn new(config: AmdConfig, start: Instant) -> MachineDetector {
        let limits = Frames {
            initial_silence: frames(config.initial_silence),
            greeting: frames(config.greeting),
            after_greeting_silence: frames(config.after_greeting_silence),
            min_word: frames(config.min_word).max(1),
            total_analysis: frames(config.total_analysis),
            end_of_greeting_silence: frames(config.end_of_greeting_silence),
            late_beep: frames(config.late_beep),
            max_listen: frames(MAX_LISTEN),
        };
        MachineDetector {
            limits,
            above_floor_db: config.speech_above_floor_db,
            min_speech_db: db(dbm0_power(config.min_speech_dbm0)),
            start,
            frame_no: 0,
            partial: [0; FRAME_SAMPLES],
            partial_len: 0,
            energies: [0.0; FLOOR_FRAMES],
            energies_len: 0,
            floor: 0.0,
            beep: BeepDetector::new(dbm0_power(config.min_beep_dbm0)),
            voiced_run: 0,
            utterance_start: None,
            last_voiced: None,
            verdict: None,
            greeting_ended: None,
            done: false,
            events: VecDeque::with_capacity(8),
        }
    }

    /// Audio received at `now` (8 kHz PCM16, any length; analysed in 20 ms frames).
    pub fn process(&mut self, now: Instant, pcm: &[i16]) {
        let incoming = FRAME_DURATION * (self.partial_len + pcm.len()) as u32 / FRAME_SAMPLES as u32;
        self.fill_silence(now.checked_sub(incoming).unwrap_or(self.start));
        for &s in pcm {
            self.partial[self.partial_len] = s;
            self.partial_len += 1;
            if self.partial_len == FRAME_SAMPLES {
                self.partial_len = 0;
                let frame: [f32; FRAME_SAMPLES] = std::array::from_fn(|i| f32::from(self.partial[i]));
                self.frame(&frame);
            }
        }
    }

    /// No audio came up to `now`: time past [`GAP`] is counted as silence. Call it regularly
    /// (every frame period is plenty) while the call lasts.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.fill_silence(now);
    }

    /// Counts the time past [`GAP`] before `until` without audio as silent frames.
    fn fill_silence(&mut self, until: Instant) {
        let behind = until.saturating_duration_since(self.start);
        while !self.done && behind > self.media_time() + GAP {
            self.frame(&[0.0; FRAME_SAMPLES]);
        }
    }

    /// The next finding, in order. Drain after each input.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<AmdEvent> {
        self.events.pop_front()
    }

    /// True once nothing more will be reported: the caller may drop the detector.
    pub fn is_finished(&self) -> bool {
        self.done && self.events.is_empty()
    }

    /// Audio time analysed so far (from the answer).
    pub fn media_time(&self) -> Duration {
        FRAME_DURATION * self.frame_no
    }

    fn frame(&mut self, frame: &[f32; FRAME_SAMPLES]) {
        if self.done {
            return;
        }
        let k = self.frame_no;
        self.frame_no += 1;
        let energy = db(frame.iter().map(|v| v * v).sum::<f32>() / FRAME_SAMPLES as f32);
        self.update_floor(energy);
        let step = self.beep.frame(frame);
        let tonal = self.beep.last_frame_tonal() || self.beep.in_beep();
        let voiced = !tonal && energy > self.floor + self.above_floor_db && energy > self.min_speech_db;
        self.count_speech(k, voiced);
        match step {
            BeepStep::Started { .. } => self.beep_started(k),
            BeepStep::Ended { frequency_hz } => self.beep_ended(k, frequency_hz),
            BeepStep::None => {}
        }
        if self.verdict.is_none() {
            self.decide(k);
        }
        self.after_verdict(k);
    }

    fn update_floor(&mut self, energy: f32) {
        if self.energies_len == FLOOR_FRAMES {
            self.energies.copy_within(1.., 0);
            self.energies[FLOOR_FRAMES - 1] = energy;
        } else {
            self.energies[self.energies_len] = energy;
            self.energies_len += 1;
        }
        let mut sorted = [0f32; FLOOR_FRAMES];
        let n = self.energies_len;
        sorted[..n].copy_from_slice(&self.energies[..n]);
        sorted[..n].sort_unstable_by(f32::total_cmp);
        let (p10, p50, p90) = (sorted[n / 10], sorted[n / 2], sorted[(n * 9 / 10).min(n - 1)]);
        self.floor = if n == 1 {
            energy
        } else if n == FLOOR_FRAMES && p90 - p10 < STATIONARY_DB {
            p50
        } else if p10 < self.floor {
            p10
        } else {
            (self.floor + FLOOR_RISE_DB).min(p10)
        };
    }

    fn count_speech(&mut self, k: u32, voiced: bool) {
        if !voiced {
            self.voiced_run = 0;
            return;
        }
        self.voiced_run += 1;
        if self.voiced_run >= self.limits.min_word {
            self.utterance_start.get_or_insert(k + 1 - self.voiced_run);
            self.last_voiced = Some(k);
        }
    }

    /// Frames since the end of the last word, if any word was heard.
    fn quiet_for(&self, k: u32) -> Option<u32> {
        self.last_voiced.map(|v| k - v)
    }

    fn decide(&mut self, k: u32) {
        let l = self.limits;
        let elapsed = k + 1;
        match (self.utterance_start, self.last_voiced) {
            (Some(start), Some(last)) => {
                if k - last >= l.after_greeting_silence {
                    self.set_verdict(Verdict::Human, k);
                } else if last + 1 - start >= l.greeting {
                    self.set_verdict(Verdict::Machine, k);
                }
            }
            _ if elapsed >= l.initial_silence => self.set_verdict(Verdict::Undecided, k),
            _ => {}
        }
        if self.verdict.is_none() && elapsed >= l.total_analysis {
            self.set_verdict(Verdict::Undecided, k);
        }
    }

    fn set_verdict(&mut self, verdict: Verdict, k: u32) {
        self.verdict = Some((verdict, k));
        let at = FRAME_DURATION * (k + 1);
        self.events.push_back(match verdict {
            Verdict::Human => AmdEvent::Human { at },
            Verdict::Machine => AmdEvent::Machine { at },
            Verdict::Undecided => AmdEvent::Undecided { at },
        });
    }

    fn beep_started(&mut self, k: u32) {
        match self.verdict {
            None => self.set_verdict(Verdict::Machine, k),
            Some((Verdict::Human | Verdict::Undecided, at)) if k - at <= self.limits.late_beep => {
                self.set_verdict(Verdict::Machine, k)
            }
            _ => {}
        }
    }

    fn beep_ended(&mut self, k: u32, frequency_hz: f32) {
        if matches!(self.verdict, Some((Verdict::Machine, _))) {
            let at = FRAME_DURATION * (k + 1);
            self.events.push_back(AmdEvent::BeepEnded { at, frequency_hz });
            self.done = true;
        }
    }

    /// Greeting end for machines, and when to stop listening.
    fn after_verdict(&mut self, k: u32) {
        let l = self.limits;
        let Some((verdict, decided)) = self.verdict.filter(|_| !self.done) else { return };
        if k + 1 >= l.max_listen {
            self.done = true;
            return;
        }
        match verdict {
            Verdict::Machine if self.greeting_ended.is_none() && !self.beep.in_beep() => {
                if self.quiet_for(k).is_some_and(|q| q >= l.end_of_greeting_silence) {
                    self.greeting_ended = Some(k);
                    self.events.push_back(AmdEvent::GreetingEnded { at: FRAME_DURATION * (k + 1) });
                }
            }
            Verdict::Machine => {
                if self.greeting_ended.is_some_and(|g| k - g > l.late_beep) && !self.beep.in_beep() {
                    self.done = true;
                }
            }
            Verdict::Human | Verdict::Undecided => {
                if k - decided > l.late_beep && !self.beep.in_beep() {
                    self.done = true;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
