//! Smoke test of the benchmark binary: its `--quick` pass runs a couple of
//! workloads against every system in both placements and reports numbers.
//! Not a timed test: it checks that figures come out, never what they are.

use std::process::Command;

use serde_json::Value;

const SYSTEMS: [&str; 4] = ["rpc", "raw", "raw-naive", "jsonrpsee"];

fn quick(workloads: &[&str]) -> Value {
    let mut command = Command::new(env!("CARGO_BIN_EXE_rpc-bench"));
    command.args(["--quick", "--json"]);
    for workload in workloads {
        command.args(["--workload", workload]);
    }
    let output = command.output().expect("rpc-bench runs");
    assert!(
        output.status.success(),
        "rpc-bench failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("stdout is the JSON report")
}

#[test]
fn quick_pass_reports_every_system_in_both_placements_with_ratios_to_raw() {
    let report = quick(&["latency", "pipelined", "fanout"]);
    assert_eq!(report["setup"]["quick"], true);
    let placements = report["placements"].as_array().expect("placements");
    let names: Vec<&str> = placements
        .iter()
        .map(|p| p["placement"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["one-cpu", "two-workers"]);
    for placement in placements {
        let figures = placement["figures"].as_array().expect("figures");
        let metrics: Vec<(&str, &str)> = figures
            .iter()
            .map(|f| {
                (
                    f["workload"].as_str().unwrap(),
                    f["metric"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            metrics,
            [
                ("latency", "p50"),
                ("latency", "p99"),
                ("latency", "p99.9"),
                ("latency", "calls/s"),
                ("latency", "server CPU per call"),
                ("latency", "client CPU per call"),
                ("pipelined", "calls/s"),
                ("pipelined", "server CPU per call"),
                ("pipelined", "client CPU per call"),
                ("fanout", "10 sessions"),
                ("fanout", "50 sessions"),
            ]
        );
        for figure in figures {
            // A quick window is a few clock ticks long: CPU time may read 0.
            let cpu = figure["metric"].as_str().unwrap().contains("CPU");
            for system in SYSTEMS {
                let median = figure["systems"][system]["median"].as_f64();
                assert!(
                    median.is_some_and(|m| m.is_finite() && (m > 0.0 || cpu && m == 0.0)),
                    "{system} has no median in {figure}"
                );
            }
            if !cpu {
                assert_eq!(
                    figure["ratio_to_raw"]["raw"].as_f64(),
                    Some(1.0),
                    "{figure}"
                );
                assert!(figure["ratio_to_raw"]["rpc"].as_f64().is_some(), "{figure}");
            }
        }
    }
}
