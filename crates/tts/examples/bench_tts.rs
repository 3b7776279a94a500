//! Benchmark of the TTS path with the real espeak-ng; run by `scripts/bench-tts.sh`, which writes the
//! figures into BENCHMARKS.md. Not a test: nothing is asserted, numbers are printed as Markdown.
//!
//! Usage: `cargo run --release -p voicebot-tts --example bench_tts -- [WORKERS] [RECIPIENTS]`

use std::sync::Arc;
use std::time::{Duration, Instant};

use voicebot_tts::{Engine, EspeakEngine, Gender, RenderCache, Renderer, VoiceTable};

const FIRST: &[&str] = &[
    "Ada", "Adaeze", "Amina", "Bola", "Chidi", "Chioma", "Danjuma", "Emeka", "Efe", "Funke", "Garba",
    "Halima", "Ifeoma", "Ibrahim", "Jumoke", "Kelechi", "Kemi", "Lami", "Musa", "Ngozi", "Nkechi", "Obinna",
    "Olumide", "Patience", "Rukayat", "Sani", "Segun", "Tari", "Tunde", "Uche", "Usman", "Yetunde", "Zainab",
    "Aisha", "Blessing", "Comfort", "Dayo", "Ebere", "Femi", "Gift", "Hauwa", "Idris", "Joy", "Kunle",
    "Lola", "Mercy", "Nneka", "Ola", "Precious", "Rasheed",
];
const LAST: &[&str] = &[
    "Okafor",
    "Adeyemi",
    "Bello",
    "Chukwu",
    "Danladi",
    "Eze",
    "Fashola",
    "Garuba",
    "Hassan",
    "Ibe",
    "Jibril",
    "Kalu",
    "Lawal",
    "Mohammed",
    "Nwosu",
    "Obi",
    "Okeke",
    "Olawale",
    "Onyeka",
    "Peters",
    "Quadri",
    "Sule",
    "Taiwo",
    "Umar",
    "Uzor",
    "Yusuf",
    "Zubairu",
    "Abubakar",
    "Akande",
    "Balogun",
    "Dike",
    "Ekwueme",
    "Fagbemi",
    "Idowu",
    "Igwe",
    "Iroha",
    "Lamidi",
    "Mbah",
    "Ndukwe",
    "Nnamdi",
    "Ogunleye",
    "Ojo",
    "Okonkwo",
    "Onu",
    "Salami",
    "Tijani",
    "Udeh",
    "Usman",
    "Wada",
    "Yakubu",
    "Adamu",
    "Agbaje",
    "Alabi",
    "Amadi",
    "Anyanwu",
    "Babatunde",
    "Bassey",
    "Ekpo",
    "Etim",
    "Ibekwe",
    "Ikenna",
    "Nwachukwu",
    "Odili",
    "Ogbonna",
    "Okoro",
    "Olaniyan",
    "Oyelaran",
    "Soyinka",
    "Uba",
    "Ugwu",
    "Achebe",
    "Ndubuisi",
    "Obasi",
    "Ogundipe",
    "Oni",
    "Orji",
    "Akpan",
    "Essien",
    "Inyang",
    "Effiong",
    "Udo",
    "Asuquo",
    "Edet",
    "Ekong",
    "Okon",
    "Ita",
    "Nsikak",
    "Bamidele",
    "Ajayi",
    "Oladipo",
    "Adebayo",
    "Adewale",
    "Afolabi",
    "Akinola",
    "Ayodele",
    "Coker",
    "Durojaiye",
    "Fawole",
    "Gbadamosi",
    "Ilori",
    "Kolawole",
];

fn names(n: usize) -> Vec<String> {
    let mut out = Vec::with_capacity(n);
    'outer: for last in LAST {
        for first in FIRST {
            if out.len() == n {
                break 'outer;
            }
            out.push(format!("{first} {last}"));
        }
    }
    let mut i = 0;
    while out.len() < n {
        out.push(format!("{} {} {}", FIRST[i % FIRST.len()], LAST[i % LAST.len()], i));
        i += 1;
    }
    out
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let workers: usize = args.next().map_or(Ok(2), |a| a.parse())?;
    let recipients: usize = args.next().map_or(Ok(10_000), |a| a.parse())?;
    let dir = tempfile::tempdir()?;
    let espeak = Arc::new(EspeakEngine::new().await?);
    let renderer = Renderer::new(
        VoiceTable::default(),
        vec![espeak.clone() as Arc<dyn Engine>],
        RenderCache::open(dir.path())?,
        workers,
    )?;
    let voice = renderer.voice("english", Gender::Female)?;
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load = load.split_whitespace().take(3).collect::<Vec<_>>().join(" ");
    println!(
        "- Machine: {} CPUs shared with other work (load average at start: {load}), {workers} render workers, \
         `{}`",
        num_cpus(),
        espeak.fingerprint()
    );

    // 1. Distinct prompts per second (every one a cache miss).
    let distinct: Vec<String> = names(300)
        .iter()
        .enumerate()
        .map(|(i, n)| format!("Hello {n}, this is a reminder about your clinic visit number {i} next week."))
        .collect();
    let start = Instant::now();
    let report = renderer.prerender(&distinct, &voice).await;
    let elapsed = start.elapsed();
    let audio = renderer.render(&distinct[0], &voice).await?.duration();
    println!(
        "- Distinct prompts, pre-rendered (batched runs): {} one-sentence prompts (~{:.1} s of audio each) in {:.2} s = **{:.0} prompts/s** \
         ({} failed)",
        report.rendered,
        audio.as_secs_f64(),
        elapsed.as_secs_f64(),
        report.rendered as f64 / elapsed.as_secs_f64(),
        report.failures.len()
    );

    // 1b. On-demand render of an uncached one-sentence prompt (what a call would wait for on a miss).
    let mut lat = Vec::new();
    for (i, name) in names(40).iter().enumerate() {
        let text = format!("Good morning {name}, your test result number {i} is ready.");
        let t = Instant::now();
        renderer.render(&text, &voice).await?;
        lat.push(t.elapsed());
    }
    lat.sort();
    println!(
        "- Cache miss, one uncached sentence via `render()` (one espeak-ng run): median **{:.1} ms**, p90 {:.1} ms",
        percentile(&lat, 0.5).as_secs_f64() * 1e3,
        percentile(&lat, 0.9).as_secs_f64() * 1e3
    );

    // 2. Cache-hit latency: render() of a cached text, sequentially.
    let message = format!("{} Press 1 to confirm. Press 2 to speak to a nurse.", distinct[1]);
    renderer.prerender([&message], &voice).await;
    for (label, texts) in
        [("1-sentence prompt", distinct.clone()), ("3-sentence message", vec![message; 300])]
    {
        let mut lat = Vec::new();
        for text in &texts {
            let t = Instant::now();
            renderer.render(text, &voice).await?;
            lat.push(t.elapsed());
        }
        lat.sort();
        println!(
            "- Cache hit, {label}: median **{:.0} µs**, p99 {:.0} µs ({} renders, engine not called)",
            percentile(&lat, 0.5).as_secs_f64() * 1e6,
            percentile(&lat, 0.99).as_secs_f64() * 1e6,
            lat.len()
        );
    }

    // 3. A batch of per-recipient prompts with a name variable.
    let template = "Hello {name}. This is a reminder from Lagos General Hospital: your next antenatal visit is \
                    tomorrow morning. Press 1 to confirm, or press 2 to speak to a nurse.";
    let texts: Vec<String> = names(recipients).iter().map(|n| template.replace("{name}", n)).collect();
    let before = renderer.stats().engine_renders;
    let (start, cpu_start) = (Instant::now(), cpu_seconds());
    let report = renderer.prerender(&texts, &voice).await;
    let elapsed = start.elapsed();
    let cpu = cpu_seconds() - cpu_start;
    println!(
        "- Batch: {} recipients, template `{template}` → {} distinct sentences, {} engine renders, pre-rendered \
         in **{:.1} s** ({} failed); CPU used {cpu:.1} s (espeak-ng included), i.e. {:.1} s of wall time on 2 \
         otherwise idle cores",
        report.texts,
        report.sentences,
        renderer.stats().engine_renders - before,
        elapsed.as_secs_f64(),
        report.failed_texts().len(),
        cpu / 2.0
    );

    // 4. For comparison: whole messages rendered as one utterance each (no sentence split).
    let sample = 100;
    let start = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    let permits = Arc::new(tokio::sync::Semaphore::new(workers));
    for text in &texts[..sample.min(texts.len())] {
        let text = text.clone();
        let (engine, voice, permits) = (espeak.clone(), voice.clone(), permits.clone());
        set.spawn(async move {
            let _p = permits.acquire_owned().await;
            engine.render(&text, &voice).await.map(|p| p.duration())
        });
    }
    let mut secs = 0.0;
    while let Some(r) = set.join_next().await {
        secs += r??.as_secs_f64();
    }
    let per = start.elapsed().as_secs_f64() / sample as f64;
    println!(
        "- Without the sentence split (whole {:.1} s message per recipient, {sample} sampled): {:.1} ms each → \
         {:.0} s for {recipients} recipients",
        secs / sample as f64,
        per * 1e3,
        per * recipients as f64
    );
    Ok(())
}

/// CPU seconds used so far by this process and its waited-for children (espeak-ng runs).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_comm = stat.rsplit(')').next().unwrap_or_default();
    // Fields after the command name start at field 3; utime, stime, cutime, cstime are fields 14-17.
    let ticks: u64 =
        after_comm.split_whitespace().skip(11).take(4).filter_map(|f| f.parse::<u64>().ok()).sum();
    ticks as f64 / 100.0
}

fn num_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
