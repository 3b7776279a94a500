//! The sender: a tokio loop that claims due outbox rows under a lease, POSTs the signed
//! payload, and records every attempt with the delivery's next state.
//!
//! All delivery state lives in the store (outbox row + attempt rows), so a restart simply
//! resumes: a row whose sender died mid-request is claimed again when its lease expires, a
//! row waiting for a retry is claimed when it is due. Several senders (or nodes) can run:
//! the claim is one write transaction and the attempt is recorded only by the lease holder.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::Rng;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER};
use voicebot_store::report::batch_report;
use voicebot_store::{
    BatchRow, CallFilter, CallbackAttemptRecord, CallbackClaim, CallbackNext, CallbackState, Integrator,
    Store, StoreError, now_micros,
};
use voicebot_workflow::{Step, Workflow};

use crate::guard::{GuardedResolver, check_url};
use crate::schedule::{RetrySchedule, parse_retry_after};
use crate::signing::{Secret, SecretError, signature_header};

/// Why the sender could not work on a delivery (network failures are attempts, not errors).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SenderError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The HTTP client could not be built.
    #[error("building the HTTP client: {0}")]
    Client(#[source] reqwest::Error),
    /// The claimed row's batch or integrator is gone.
    #[error("{0} of a claimed callback is missing")]
    Missing(&'static str),
    /// The integrator's signing secret is unusable.
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// The payload could not be serialised.
    #[error("serialising the payload: {0}")]
    Payload(#[from] serde_json::Error),
}

/// How the sender behaves (`[callbacks]` in `voicebot.toml`).
#[derive(Debug, Clone)]
pub struct SenderConfig {
    /// Name of this sender in leases and attempt rows.
    pub node: String,
    /// Whole-request timeout (CONTRACT.md §7: 15 s).
    pub timeout: Duration,
    /// Retry schedule.
    pub schedule: RetrySchedule,
    /// Let callbacks reach loopback/private/link-local addresses (tests, demo).
    pub allow_private: bool,
    /// How often to look for due deliveries when idle.
    pub poll_interval: Duration,
    /// Deliveries claimed per round (all sent concurrently).
    pub batch_size: u32,
    /// Response bytes read at most (the rest is dropped with the connection).
    pub max_response_bytes: usize,
}

impl Default for SenderConfig {
    fn default() -> Self {
        SenderConfig {
            node: "voicebot".into(),
            timeout: Duration::from_secs(15),
            schedule: RetrySchedule::default(),
            allow_private: false,
            poll_interval: Duration::from_millis(250),
            batch_size: 64,
            max_response_bytes: 64 * 1024,
        }
    }
}

/// What one HTTP attempt gave.
struct Sent {
    status: Option<u16>,
    latency_ms: i64,
    error: Option<String>,
    retry_after: Option<Duration>,
}

/// The callback sender.
pub struct Sender {
    store: Arc<dyn Store>,
    client: reqwest::Client,
    config: SenderConfig,
}

/// Digits of the first gather of a batch's workflow snapshot (for `response_options_counts`).
fn result_options(batch: &BatchRow) -> Vec<String> {
    let Ok(wf) = serde_json::from_str::<Workflow>(&batch.workflow) else { return vec![] };
    match wf.result_gather().map(|i| &wf.steps[i]) {
        Some(Step::Gather(g)) => g.options.keys().cloned().collect(),
        _ => vec![],
    }
}

/// Target order (CONTRACT.md §7): batch, workflow snapshot, integrator default. Resolved
/// at send time so a corrected integrator default reaches retries and redeliveries.
pub fn resolve_target(batch: &BatchRow, integrator: &Integrator) -> Option<String> {
    let workflow_url = serde_json::from_str::<Workflow>(&batch.workflow).ok().and_then(|w| w.call_back_url);
    [batch.callback_url.clone(), workflow_url, integrator.callback_url.clone()]
        .into_iter()
        .flatten()
        .find(|u| !u.trim().is_empty())
}

/// Signing secrets in use at `now` (µs): the current one, plus the previous during its grace.
fn secrets(integrator: &Integrator, now: i64) -> Result<Vec<Secret>, SecretError> {
    let mut out = vec![Secret::parse(&integrator.signing_secret)?];
    if let (Some(prev), Some(until)) =
        (&integrator.previous_signing_secret, integrator.previous_secret_expires_at)
        && until > now
    {
        out.push(Secret::parse(prev)?);
    }
    Ok(out)
}

/// An error and its causes on one line (reqwest hides the useful part in the sources).
/// `voicebot_callback_deliveries_total{result}`: recorded delivery attempts by what they led to
/// (`DELIVERED`, `RETRY`, or the stored final state `EXHAUSTED` / `GONE` / `NO_TARGET`).
fn count_attempt(next: &CallbackNext) {
    let result = match next {
        CallbackNext::Delivered => CallbackState::Delivered.as_str(),
        CallbackNext::RetryAt(_) => "RETRY",
        CallbackNext::Stop(state) => state.as_str(),
    };
    metrics::counter!("voicebot_callback_deliveries_total", "result" => result).increment(1);
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

impl Sender {
    /// A sender over `store` with its own HTTP client (no redirects, no proxy, guarded DNS).
    pub fn new(store: Arc<dyn Store>, config: SenderConfig) -> Result<Self, SenderError> {
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver { allow_private: config.allow_private }))
            .user_agent(concat!("voicebot-callback/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(SenderError::Client)?;
        Ok(Sender { store, client, config })
    }

    /// Runs until `shutdown` resolves: claims due deliveries while fewer than `batch_size` are
    /// in flight, sends each in its own task (a slow receiver holds one slot, not the round),
    /// records it. On shutdown, waits up to one timeout for requests in flight; anything cut
    /// short is claimed again when its lease expires.
    pub async fn run(self: Arc<Self>, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        let slots = self.config.batch_size.max(1);
        let permits = Arc::new(tokio::sync::Semaphore::new(slots as usize));
        loop {
            let free = u32::try_from(permits.available_permits()).unwrap_or(slots);
            let claimed = if free == 0 { Ok(vec![]) } else { self.claim(free).await };
            let full = match claimed {
                Ok(claims) => {
                    let n = claims.len();
                    for claim in claims {
                        let Ok(permit) = Arc::clone(&permits).acquire_owned().await else { return };
                        let me = Arc::clone(&self);
                        tokio::spawn(async move {
                            me.deliver_logged(&claim).await;
                            drop(permit);
                        });
                    }
                    free > 0 && n == free as usize
                }
                Err(e) => {
                    tracing::warn!(error = %e, "claiming callbacks failed");
                    false
                }
            };
            let pause = if full { Duration::from_millis(1) } else { self.config.poll_interval };
            tokio::select! {
                _ = &mut shutdown => break,
                _ = tokio::time::sleep(pause) => {}
            }
        }
        let drain = permits.acquire_many(slots);
        let _ = tokio::time::timeout(self.config.timeout + Duration::from_secs(1), drain).await;
    }

    /// Claims up to `limit` due deliveries under a lease covering one request and its record.
    async fn claim(&self, limit: u32) -> Result<Vec<CallbackClaim>, SenderError> {
        let now = now_micros();
        let lease =
            i64::try_from((self.config.timeout + Duration::from_secs(60)).as_micros()).unwrap_or(i64::MAX);
        Ok(self.store.claim_callbacks(&self.config.node, now, now.saturating_add(lease), limit).await?)
    }

    /// One round, for tests and tools: claims due deliveries, sends them concurrently, waits
    /// for all; returns how many were claimed.
    pub async fn tick(self: &Arc<Self>) -> Result<usize, SenderError> {
        let claims = self.claim(self.config.batch_size).await?;
        let n = claims.len();
        let mut tasks = tokio::task::JoinSet::new();
        for claim in claims {
            let me = Arc::clone(self);
            tasks.spawn(async move { me.deliver_logged(&claim).await });
        }
        while tasks.join_next().await.is_some() {}
        Ok(n)
    }

    async fn deliver_logged(&self, claim: &CallbackClaim) {
        if let Err(e) = self.deliver(claim).await {
            tracing::warn!(webhook_id = %claim.id, error = %e, "callback delivery failed");
        }
    }

    /// One attempt for a claimed delivery, recorded.
    async fn deliver(&self, claim: &CallbackClaim) -> Result<(), SenderError> {
        let batch = self
            .store
            .get_batch(&claim.integrator_id, &claim.batch_id)
            .await?
            .ok_or(SenderError::Missing("batch"))?;
        let integrator = self
            .store
            .get_integrator(&claim.integrator_id)
            .await?
            .ok_or(SenderError::Missing("integrator"))?;
        let started_at = now_micros();
        let mut record = CallbackAttemptRecord {
            outbox_id: claim.id.clone(),
            node: self.config.node.clone(),
            url: None,
            started_at,
            http_status: None,
            latency_ms: None,
            error: None,
            next: CallbackNext::Stop(CallbackState::NoTarget),
            now: started_at,
        };
        let Some(url) = resolve_target(&batch, &integrator) else {
            record.error = Some("no callback URL on the batch, its workflow or the integrator".into());
            if self.store.record_callback_attempt(&record).await? {
                count_attempt(&record.next);
            }
            return Ok(());
        };
        let calls = self.store.batch_calls(&batch.id, &CallFilter::default()).await?;
        let body = serde_json::to_vec(&batch_report(&batch, &calls, &result_options(&batch)))?;
        let secrets = secrets(&integrator, started_at)?;
        let sent = self.post(&url, &claim.id, &secrets, body).await;
        record.url = Some(url);
        record.now = now_micros();
        record.http_status = sent.status;
        record.latency_ms = Some(sent.latency_ms);
        record.error = sent.error;
        record.next = self.next_step(claim, sent.status, sent.retry_after, record.now);
        tracing::info!(webhook_id = %claim.id, status = ?sent.status, next = ?record.next, "callback attempt");
        if self.store.record_callback_attempt(&record).await? {
            count_attempt(&record.next);
        }
        Ok(())
    }

    /// Delivered on 2xx, stopped on 410, else the next retry or exhausted.
    fn next_step(
        &self,
        claim: &CallbackClaim,
        status: Option<u16>,
        retry_after: Option<Duration>,
        now: i64,
    ) -> CallbackNext {
        match status {
            Some(s) if (200..300).contains(&s) => CallbackNext::Delivered,
            Some(410) => CallbackNext::Stop(CallbackState::Gone),
            _ => {
                let unit: f64 = rand::thread_rng().r#gen();
                match self.config.schedule.next_delay(claim.round_attempts + 1, unit, retry_after) {
                    Some(d) => CallbackNext::RetryAt(now + d.as_micros() as i64),
                    None => CallbackNext::Stop(CallbackState::Exhausted),
                }
            }
        }
    }

    /// POSTs the signed body; never fails — failures are described in [`Sent`].
    async fn post(&self, url: &str, webhook_id: &str, secrets: &[Secret], body: Vec<u8>) -> Sent {
        let started = Instant::now();
        let elapsed = |s: Instant| i64::try_from(s.elapsed().as_millis()).unwrap_or(i64::MAX);
        let failed = |error: String, s: Instant| Sent {
            status: None,
            latency_ms: elapsed(s),
            error: Some(error),
            retry_after: None,
        };
        let url = match check_url(url, self.config.allow_private) {
            Ok(u) => u,
            Err(e) => return failed(e.to_string(), started),
        };
        let timestamp = now_micros() / 1_000_000;
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let signature = signature_header(secrets, webhook_id, timestamp, &body);
        for (name, value) in [
            ("webhook-id", webhook_id.to_string()),
            ("webhook-timestamp", timestamp.to_string()),
            ("webhook-signature", signature),
        ] {
            match HeaderValue::from_str(&value) {
                Ok(v) => {
                    headers.insert(name, v);
                }
                Err(_) => return failed(format!("invalid {name} header"), started),
            }
        }
        let mut response = match self.client.post(url).headers(headers).body(body).send().await {
            Ok(r) => r,
            Err(e) => return failed(error_chain(&e), started),
        };
        let latency_ms = elapsed(started);
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, timestamp));
        let excerpt = self.read_capped(&mut response).await;
        let error = (!(200..300).contains(&status)).then(|| {
            let text = String::from_utf8_lossy(&excerpt);
            let text: String = text.chars().filter(|c| !c.is_control()).take(200).collect();
            if text.is_empty() { format!("HTTP {status}") } else { format!("HTTP {status}: {text}") }
        });
        Sent { status: Some(status), latency_ms, error, retry_after }
    }

    /// Reads at most `max_response_bytes` of the body; the rest is never read.
    async fn read_capped(&self, response: &mut reqwest::Response) -> Vec<u8> {
        let mut out = Vec::new();
        while out.len() < self.config.max_response_bytes {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    let room = self.config.max_response_bytes - out.len();
                    out.extend_from_slice(&chunk[..chunk.len().min(room)]);
                }
                _ => break,
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    async fn sender(allow_private: bool) -> Sender {
        let store = voicebot_store::open("sqlite::memory:").await.unwrap();
        let config =
            SenderConfig { allow_private, timeout: Duration::from_secs(5), ..SenderConfig::default() };
        Sender::new(store, config).unwrap()
    }

    fn secret() -> Vec<Secret> {
        vec![Secret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap()]
    }

    #[tokio::test]
    async fn response_body_is_capped() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut sock, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 65536];
            let _ = sock.read(&mut buf).await;
            let _ = sock.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 10000000000\r\n\r\n").await;
            let chunk = vec![b'x'; 1 << 20];
            while sock.write_all(&chunk).await.is_ok() {}
        });
        let started = Instant::now();
        let sent =
            sender(true).await.post(&format!("http://{addr}/"), "msg_1", &secret(), b"{}".to_vec()).await;
        assert_eq!(sent.status, Some(200));
        assert!(started.elapsed() < Duration::from_secs(3), "read a 10 GB body?");
    }

    #[tokio::test]
    async fn private_targets_are_refused_when_sending() {
        for url in ["http://127.0.0.1:9/", "http://localhost:9/"] {
            let sent = sender(false).await.post(url, "msg_1", &secret(), b"{}".to_vec()).await;
            assert_eq!(sent.status, None);
            assert!(sent.error.as_deref().unwrap_or_default().contains("refused"), "{url}: {:?}", sent.error);
        }
    }
}
