//! Replays the committed fuzz corpus (fuzz/corpus/<target>/) through the
//! same entry points the fuzz targets call, on stable Rust, so that every
//! input a fuzz run found interesting, and every crash it found and we
//! fixed, stays a regression test.

use std::{fs, panic, path::PathBuf};

fn replay(target: &str, run: fn(&[u8])) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let entries = fs::read_dir(&dir).unwrap_or_else(|err| panic!("{}: {err}", dir.display()));
    let mut replayed = 0;
    for entry in entries {
        let path = entry.expect("corpus entry").path();
        let input = fs::read(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
        let outcome = panic::catch_unwind(|| run(&input));
        assert!(
            outcome.is_ok(),
            "{} panicked (message above)",
            path.display()
        );
        replayed += 1;
    }
    assert!(replayed > 0, "no corpus in {}", dir.display());
}

#[test]
fn frame_corpus() {
    replay("frame", rpc_core::__fuzz::run_frame);
}

#[test]
fn handshake_corpus() {
    replay("handshake", rpc_core::__fuzz::run_handshake);
}

#[test]
fn reassembly_corpus() {
    replay("reassembly", rpc_core::__fuzz::run_reassembly);
}
