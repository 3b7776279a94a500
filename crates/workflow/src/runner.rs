//! The per-call script runner: drives one answered call through its workflow's steps.
//!
//! Pure and clock-free in the style of quinn-proto: the dialer feeds it what happened
//! ([`Runner::answered`], [`Runner::playback_finished`], [`Runner::digit`],
//! [`Runner::handle_timeout`]) with the current time, then drains [`Runner::poll`] for what to
//! do ([`Action`]) and sleeps until [`Runner::poll_timeout`]. It owns the rules of CONTRACT.md
//! §3: say / play / gather / branch (`next`) / hang-up, barge-in (a digit stops the prompt),
//! re-prompts on silence and on unlisted digits up to `attempts`, the opt-out digit, and which
//! answer is the call's result (the first gather's).
//!
//! Every text is rendered when the runner is built, so a missing variable fails before the
//! call is dialed and the dialer can pre-render all prompts ([`Runner::prompts`]).
//!
//! ```
//! use std::time::{Duration, Instant};
//! use voicebot_workflow::{parse_workflow, Action, Prompt, Runner};
//! let wf = parse_workflow(&serde_json::json!({
//!     "name": "r", "message": "Hello [name].", "include_reply": true,
//!     "response_options": {"1": "Press 1 to confirm"}
//! })).unwrap();
//! let vars = [("name".to_string(), "Ada".to_string())].into_iter().collect();
//! let mut run = Runner::new(&wf, &vars, "english").unwrap();
//! let t0 = Instant::now();
//! run.answered(t0);
//! assert_eq!(run.poll(), Some(Action::Play(Prompt::Text("Hello Ada.".into()))));
//! run.digit(t0 + Duration::from_secs(1), '1'); // barge-in: answers the gather that follows
//! assert_eq!(run.poll(), Some(Action::StopPlayback));
//! assert_eq!(run.selection(), Some("1"));
//! ```

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::model::{Gather, Step, Workflow};
use crate::template::{MissingVariable, Template, Variables};

/// Something to play.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Prompt {
    /// Text to speak in the batch's voice (variables already substituted).
    Text(String),
    /// An uploaded recording by id.
    Audio(String),
}

/// What the runner asks the call to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Start playing a prompt; report [`Runner::playback_finished`] when it ends.
    Play(Prompt),
    /// Stop the prompt now playing (barge-in); no `playback_finished` is expected for it.
    StopPlayback,
    /// Hang up: the script is over.
    Hangup,
}

/// Where the script is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Not answered yet.
    Idle,
    /// Playing the prompt of step `step` (`try_no` counts gather prompts, 1-based).
    Playing { step: usize, try_no: u32 },
    /// Gather `step` waits for a digit until `deadline`.
    Waiting { step: usize, try_no: u32, deadline: Instant },
    /// Hung up (by the script or the callee).
    Done,
}

/// Runs one call's workflow. See the module docs for the driving loop.
#[derive(Debug, Clone)]
pub struct Runner {
    steps: Vec<Step>,
    /// Rendered prompt of each step (None for hang-up).
    prompts: Vec<Option<Prompt>>,
    result_gather: Option<usize>,
    opt_out_digit: Option<char>,
    state: State,
    actions: VecDeque<Action>,
    selection: Option<String>,
    opted_out: bool,
    answered_at: Option<Instant>,
}

/// The recording of a `play` step for an accent: the accent's, else `default`, else any.
fn audio_for(map: &std::collections::BTreeMap<String, String>, accent: &str) -> Option<String> {
    map.get(accent).or_else(|| map.get("default")).or_else(|| map.values().next()).cloned()
}

impl Runner {
    /// Prepares a runner, rendering every prompt with the recipient's variables.
    pub fn new(workflow: &Workflow, vars: &Variables, accent: &str) -> Result<Self, MissingVariable> {
        let prompts = workflow
            .steps
            .iter()
            .map(|s| {
                Ok(match s {
                    Step::Say(t) => Some(Prompt::Text(Template::parse(t).render(vars)?)),
                    Step::Gather(g) => Some(Prompt::Text(Template::parse(&g.prompt).render(vars)?)),
                    Step::Play(m) => audio_for(m, accent).map(Prompt::Audio),
                    Step::Hangup(_) => None,
                })
            })
            .collect::<Result<Vec<_>, MissingVariable>>()?;
        Ok(Runner {
            steps: workflow.steps.clone(),
            prompts,
            result_gather: workflow.result_gather(),
            opt_out_digit: workflow.opt_out_digit.as_deref().and_then(|d| d.chars().next()),
            state: State::Idle,
            actions: VecDeque::new(),
            selection: None,
            opted_out: false,
            answered_at: None,
        })
    }

    /// Every prompt the call may play, without repeats, in step order: render these before
    /// dialing so a TTS failure never becomes a silent call.
    pub fn prompts(&self) -> Vec<Prompt> {
        let mut out: Vec<Prompt> = Vec::new();
        for p in self.prompts.iter().flatten() {
            if !out.contains(p) {
                out.push(p.clone());
            }
        }
        out
    }

    /// The callee answered: the script starts with its first step.
    pub fn answered(&mut self, now: Instant) {
        if self.state == State::Idle {
            self.answered_at = Some(now);
            self.start_step(0);
        }
    }

    /// The prompt started by the last [`Action::Play`] finished playing.
    pub fn playback_finished(&mut self, now: Instant) {
        let State::Playing { step, try_no } = self.state else { return };
        match &self.steps[step] {
            Step::Gather(g) => {
                let deadline = now + Duration::from_secs(u64::from(g.timeout_seconds));
                self.state = State::Waiting { step, try_no, deadline };
            }
            _ => self.start_step(step + 1),
        }
    }

    /// The callee pressed a key (RFC 4733 or in-band). `now` is taken for symmetry with the
    /// other inputs; a digit never starts a timer by itself.
    pub fn digit(&mut self, _now: Instant, digit: char) {
        let (step, try_no, playing) = match self.state {
            State::Playing { step, try_no } => (step, try_no, true),
            State::Waiting { step, try_no, .. } => (step, try_no, false),
            State::Idle | State::Done => return,
        };
        if playing {
            self.actions.push_back(Action::StopPlayback);
        }
        if self.opt_out_digit == Some(digit) {
            self.opted_out = true;
            self.finish();
            return;
        }
        match &self.steps[step] {
            Step::Gather(_) => self.answer_gather(step, try_no, digit),
            // Barge-in on a say/play: the digit answers the gather right after it, if any.
            _ => match self.steps.get(step + 1) {
                Some(Step::Gather(_)) => self.answer_gather(step + 1, 1, digit),
                _ => self.start_step(step + 1),
            },
        }
    }

    /// Call when [`Runner::poll_timeout`] has passed: silence after a gather prompt.
    pub fn handle_timeout(&mut self, now: Instant) {
        let State::Waiting { step, try_no, deadline } = self.state else { return };
        if now < deadline {
            return;
        }
        self.retry_or_move_on(step, try_no);
    }

    /// The call ended (the callee hung up, or the line dropped): nothing more is asked.
    pub fn ended(&mut self) {
        self.state = State::Done;
    }

    /// The next thing to do, if any. Drain it after every input.
    #[must_use]
    pub fn poll(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// When to call [`Runner::handle_timeout`] next (a gather's no-input deadline).
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.state {
            State::Waiting { deadline, .. } => Some(deadline),
            _ => None,
        }
    }

    /// The digit chosen at the first gather (the call's result), once chosen.
    pub fn selection(&self) -> Option<&str> {
        self.selection.as_deref()
    }

    /// True if the callee pressed the opt-out digit.
    pub fn opted_out(&self) -> bool {
        self.opted_out
    }

    /// When [`Runner::answered`] was called (duration is counted from here).
    pub fn answered_at(&self) -> Option<Instant> {
        self.answered_at
    }

    /// True once the script hung up or the call ended.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    fn gather(&self, step: usize) -> &Gather {
        match &self.steps[step] {
            Step::Gather(g) => g,
            _ => unreachable!("answer_gather is only called on gather steps"),
        }
    }

    /// A digit for gather `step` (prompt `try_no`): a listed one selects and branches, an
    /// unlisted one re-prompts like silence does.
    fn answer_gather(&mut self, step: usize, try_no: u32, digit: char) {
        let key = digit.to_string();
        let g = self.gather(step);
        if !g.options.contains_key(&key) {
            self.retry_or_move_on(step, try_no);
            return;
        }
        let next = g.next.get(&key).copied().unwrap_or(step + 1);
        if self.result_gather == Some(step) && self.selection.is_none() {
            self.selection = Some(key);
        }
        self.start_step(next);
    }

    /// Re-prompts gather `step` if it has prompts left, else moves on with no selection.
    fn retry_or_move_on(&mut self, step: usize, try_no: u32) {
        if try_no < self.gather(step).attempts {
            self.play(step, try_no + 1);
        } else {
            self.start_step(step + 1);
        }
    }

    fn play(&mut self, step: usize, try_no: u32) {
        match self.prompts[step].clone() {
            Some(p) => {
                self.actions.push_back(Action::Play(p));
                self.state = State::Playing { step, try_no };
            }
            None => self.finish(),
        }
    }

    fn start_step(&mut self, step: usize) {
        match self.steps.get(step) {
            None | Some(Step::Hangup(_)) => self.finish(),
            // A play step with no recording at all is skipped rather than played silent.
            Some(Step::Play(_)) if self.prompts[step].is_none() => self.start_step(step + 1),
            Some(_) => self.play(step, 1),
        }
    }

    fn finish(&mut self) {
        self.actions.push_back(Action::Hangup);
        self.state = State::Done;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse_workflow;
    use serde_json::json;

    /// A virtual clock: `t(ms)` is `ms` after a fixed start.
    struct Clock(Instant);
    impl Clock {
        fn t(&self, ms: u64) -> Instant {
            self.0 + Duration::from_millis(ms)
        }
    }

    fn runner(body: serde_json::Value) -> Runner {
        let wf = parse_workflow(&body).unwrap();
        let vars = [("name".to_string(), "Ada".to_string())].into_iter().collect();
        Runner::new(&wf, &vars, "yoruba").unwrap()
    }

    fn drain(r: &mut Runner) -> Vec<Action> {
        std::iter::from_fn(|| r.poll()).collect()
    }

    fn text(s: &str) -> Action {
        Action::Play(Prompt::Text(s.into()))
    }

    fn reminder() -> Runner {
        runner(json!({"name": "r", "steps": [
            {"say": "Hello {{name}}."},
            {"gather": {"prompt": "Press 1 or 2.", "options": {"1": "a", "2": "b"},
                        "timeout_seconds": 5, "attempts": 2}},
            {"say": "Thank you."}
        ]}))
    }

    #[test]
    fn plays_steps_in_order_and_hangs_up() {
        let c = Clock(Instant::now());
        let mut r = reminder();
        assert!(drain(&mut r).is_empty(), "nothing before the answer");
        r.answered(c.t(0));
        assert_eq!(drain(&mut r), vec![text("Hello Ada.")]);
        r.playback_finished(c.t(1000));
        assert_eq!(drain(&mut r), vec![text("Press 1 or 2.")]);
        assert_eq!(r.poll_timeout(), None, "no-input timer starts after the prompt");
        r.playback_finished(c.t(2000));
        assert_eq!(r.poll_timeout(), Some(c.t(7000)));
        r.digit(c.t(3000), '2');
        assert_eq!(drain(&mut r), vec![text("Thank you.")]);
        assert_eq!(r.selection(), Some("2"));
        r.playback_finished(c.t(4000));
        assert_eq!(drain(&mut r), vec![Action::Hangup]);
        assert!(r.is_done());
        assert!(!r.opted_out());
    }

    #[test]
    fn digit_during_gather_prompt_barges_in() {
        let c = Clock(Instant::now());
        let mut r = reminder();
        r.answered(c.t(0));
        r.playback_finished(c.t(1000));
        drain(&mut r);
        r.digit(c.t(1200), '1');
        assert_eq!(drain(&mut r), vec![Action::StopPlayback, text("Thank you.")]);
        assert_eq!(r.selection(), Some("1"));
    }

    #[test]
    fn digit_during_say_answers_the_following_gather() {
        let c = Clock(Instant::now());
        let mut r = reminder();
        r.answered(c.t(0));
        drain(&mut r);
        r.digit(c.t(300), '1');
        assert_eq!(drain(&mut r), vec![Action::StopPlayback, text("Thank you.")]);
        assert_eq!(r.selection(), Some("1"));
    }

    #[test]
    fn silence_reprompts_then_moves_on_without_selection() {
        let c = Clock(Instant::now());
        let mut r = reminder();
        r.answered(c.t(0));
        r.playback_finished(c.t(1000));
        r.playback_finished(c.t(2000));
        drain(&mut r);
        r.handle_timeout(c.t(6999));
        assert!(drain(&mut r).is_empty(), "early timeout does nothing");
        r.handle_timeout(c.t(7000));
        assert_eq!(drain(&mut r), vec![text("Press 1 or 2.")], "second prompt");
        r.playback_finished(c.t(8000));
        assert_eq!(r.poll_timeout(), Some(c.t(13000)));
        r.handle_timeout(c.t(13000));
        assert_eq!(drain(&mut r), vec![text("Thank you.")], "attempts used: move on");
        assert_eq!(r.selection(), None);
    }

    #[test]
    fn invalid_digit_reprompts_up_to_attempts() {
        let c = Clock(Instant::now());
        let mut r = reminder();
        r.answered(c.t(0));
        r.playback_finished(c.t(1000));
        r.playback_finished(c.t(2000));
        drain(&mut r);
        r.digit(c.t(2500), '7');
        assert_eq!(drain(&mut r), vec![text("Press 1 or 2.")]);
        r.digit(c.t(2600), '9');
        assert_eq!(drain(&mut r), vec![Action::StopPlayback, text("Thank you.")]);
        assert_eq!(r.selection(), None);
    }

    #[test]
    fn next_branches_and_only_first_gather_is_the_result() {
        let c = Clock(Instant::now());
        let mut r = runner(json!({"name": "b", "steps": [
            {"gather": {"prompt": "One or two?", "options": {"1": "a", "2": "b"}, "next": {"2": 3}}},
            {"say": "You chose one."},
            {"hangup": true},
            {"gather": {"prompt": "Really?", "options": {"1": "yes", "2": "no"}}},
            {"say": "Noted."}
        ]}));
        r.answered(c.t(0));
        r.playback_finished(c.t(500));
        drain(&mut r);
        r.digit(c.t(600), '2');
        assert_eq!(drain(&mut r), vec![text("Really?")], "branch to step 3");
        r.playback_finished(c.t(900));
        r.digit(c.t(1000), '1');
        assert_eq!(drain(&mut r), vec![text("Noted.")]);
        assert_eq!(r.selection(), Some("2"), "the first gather's answer");
        r.playback_finished(c.t(1500));
        assert_eq!(drain(&mut r), vec![Action::Hangup]);
    }

    #[test]
    fn hangup_step_ends_the_script() {
        let c = Clock(Instant::now());
        let mut r = runner(json!({"name": "h", "steps": [
            {"gather": {"prompt": "Press 1", "options": {"1": "a", "2": "b"}}},
            {"say": "One."},
            {"hangup": true},
            {"say": "never"}
        ]}));
        r.answered(c.t(0));
        r.digit(c.t(10), '1');
        assert_eq!(drain(&mut r), vec![text("Press 1"), Action::StopPlayback, text("One.")]);
        r.playback_finished(c.t(500));
        assert_eq!(drain(&mut r), vec![Action::Hangup]);
    }

    #[test]
    fn opt_out_digit_stops_and_hangs_up() {
        let c = Clock(Instant::now());
        let mut r = runner(json!({"name": "o", "opt_out_digit": "9", "steps": [
            {"say": "Hello {{name}}."},
            {"gather": {"prompt": "Press 1", "options": {"1": "a"}}}
        ]}));
        r.answered(c.t(0));
        drain(&mut r);
        r.digit(c.t(100), '9');
        assert_eq!(drain(&mut r), vec![Action::StopPlayback, Action::Hangup]);
        assert!(r.opted_out());
        assert_eq!(r.selection(), None);
        r.digit(c.t(200), '1');
        assert!(drain(&mut r).is_empty(), "nothing after the end");
    }

    #[test]
    fn play_picks_the_accent_recording_and_prompts_are_listed() {
        let c = Clock(Instant::now());
        let mut r = runner(json!({"name": "p", "steps": [
            {"play": {"yoruba": "rec-yo", "default": "rec-en"}},
            {"say": "Bye {{name}}."},
            {"say": "Bye {{name}}."}
        ]}));
        assert_eq!(r.prompts(), vec![Prompt::Audio("rec-yo".into()), Prompt::Text("Bye Ada.".into())]);
        r.answered(c.t(0));
        assert_eq!(drain(&mut r), vec![Action::Play(Prompt::Audio("rec-yo".into()))]);
    }

    #[test]
    fn callee_hangup_stops_everything() {
        let c = Clock(Instant::now());
        let mut r = reminder();
        r.answered(c.t(0));
        drain(&mut r);
        r.ended();
        r.playback_finished(c.t(100));
        r.handle_timeout(c.t(100_000));
        assert!(drain(&mut r).is_empty());
        assert!(r.is_done());
        assert_eq!(r.poll_timeout(), None);
    }

    #[test]
    fn missing_variable_fails_up_front() {
        let wf = parse_workflow(&json!({"name": "m", "steps": [{"say": "Hi {{who}}"}]})).unwrap();
        assert_eq!(
            Runner::new(&wf, &Variables::new(), "english").unwrap_err(),
            MissingVariable("who".into())
        );
    }
}
