//! `basalt quickstart` (the README's first command) runs end to end on a small dataset.

use std::process::Command;

#[test]
fn quickstart_runs_every_step_and_counts_the_deletes() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_basalt"))
        .arg("--root")
        .arg(dir.path())
        .args(["quickstart", "--rows", "3000", "--regions", "3"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "quickstart failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for step in [
        "bulk import the CSV",
        "SQL key lookup",
        "SQL key range",
        "SQL aggregate",
        "updates and deletes (SQL UPSERT and DELETE)",
        "rowcounter",
        "export to Parquet",
        "major compaction",
        "Summary",
    ] {
        assert!(stdout.contains(step), "missing step {step}: {stdout}");
    }
    // 3000 rows imported; the update script samples 100 rows and deletes every other one.
    assert!(stdout.contains("ROWS=3000"), "{stdout}");
    assert!(stdout.contains("2950 row(s)"), "{stdout}");
    // A second run starts from a clean table.
    let again = Command::new(env!("CARGO_BIN_EXE_basalt"))
        .arg("--root")
        .arg(dir.path())
        .args(["quickstart", "--rows", "3000", "--regions", "3"])
        .output()
        .unwrap();
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stdout).contains("2950 row(s)"));
}
