//! `voicebot demo` runs to completion on a fresh directory (the README's first command).

mod common;

#[test]
fn demo_runs_to_completion() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(common::bin())
        .args(["demo", "--dir"])
        .arg(dir.path().join("demo"))
        .env("RUST_LOG", "warn")
        .output()
        .expect("run demo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "demo failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("signature verified: true"), "{stdout}");
    assert!(stdout.contains("\"status\": \"COMPLETED\""), "{stdout}");
    let wavs = stdout.lines().filter(|l| l.trim_end().ends_with(".wav")).count();
    assert_eq!(wavs, 3, "three answered calls, three recordings:\n{stdout}");
    for line in stdout.lines().filter(|l| l.trim_end().ends_with(".wav")) {
        let path = line.split_whitespace().last().unwrap();
        assert!(std::fs::metadata(path).unwrap().len() > 8000, "{path} is too short");
    }
}
