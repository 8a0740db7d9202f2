//! Figures and how they are shown: per placement, a table of medians with
//! each system's ratio to `raw` (the batching loop), or the same as JSON
//! with every run's value.

use std::{collections::BTreeMap, fmt::Write as _};

use serde::Serialize;

use crate::{runtime::Placement, stats, systems::System};

/// Which way a figure improves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Better {
    /// More is better (throughput).
    Higher,
    /// Less is better (time, memory).
    Lower,
}

/// One measured quantity of a workload, with every run's value per system.
#[derive(Debug, Clone)]
pub struct Figure {
    /// The workload that measured it.
    pub workload: &'static str,
    /// What it is (`p50`, `calls/s`, ...).
    pub metric: String,
    /// Its unit.
    pub unit: &'static str,
    /// Which way it improves.
    pub better: Better,
    /// Every run's value, per system.
    pub runs: BTreeMap<System, Vec<f64>>,
}

impl Figure {
    /// A figure with no runs yet.
    pub fn new(
        workload: &'static str,
        metric: impl Into<String>,
        unit: &'static str,
        better: Better,
    ) -> Self {
        Self {
            workload,
            metric: metric.into(),
            unit,
            better,
            runs: BTreeMap::new(),
        }
    }

    /// Records one run's value for `system`.
    pub fn push(&mut self, system: System, value: f64) {
        self.runs.entry(system).or_default().push(value);
    }

    /// Median over `system`'s runs.
    pub fn median(&self, system: System) -> Option<f64> {
        self.runs.get(&system).and_then(|runs| stats::median(runs))
    }

    /// `system`'s median divided by `raw`'s.
    pub fn ratio(&self, system: System) -> Option<f64> {
        let raw = self.median(System::Raw)?;
        (raw != 0.0).then(|| self.median(system).map(|v| v / raw))?
    }
}

/// How the figures were measured.
#[derive(Debug, Clone, Serialize)]
pub struct Setup {
    /// Runs per figure.
    pub runs: usize,
    /// Measured seconds of each timed run.
    pub duration_s: f64,
    /// Whether this was the tiny smoke pass.
    pub quick: bool,
    /// Systems measured.
    pub systems: Vec<System>,
}

/// What was measured in one placement.
#[derive(Debug, Clone)]
pub struct Section {
    /// Where the processes ran.
    pub placement: Placement,
    /// What was measured.
    pub figures: Vec<Figure>,
}

/// Everything a run of the benchmark produced.
#[derive(Debug, Clone)]
pub struct Report {
    /// How it was measured.
    pub setup: Setup,
    /// One section per placement, in the order they ran.
    pub sections: Vec<Section>,
}

#[derive(Serialize)]
struct JsonSystem<'a> {
    median: Option<f64>,
    runs: &'a [f64],
}

#[derive(Serialize)]
struct JsonFigure<'a> {
    workload: &'static str,
    metric: &'a str,
    unit: &'static str,
    better: Better,
    systems: BTreeMap<&'static str, JsonSystem<'a>>,
    ratio_to_raw: BTreeMap<&'static str, f64>,
}

#[derive(Serialize)]
struct JsonSection<'a> {
    placement: Placement,
    runtime: String,
    figures: Vec<JsonFigure<'a>>,
}

#[derive(Serialize)]
struct JsonReport<'a> {
    setup: &'a Setup,
    placements: Vec<JsonSection<'a>>,
}

impl<'a> JsonFigure<'a> {
    fn new(figure: &'a Figure) -> Self {
        Self {
            workload: figure.workload,
            metric: &figure.metric,
            unit: figure.unit,
            better: figure.better,
            systems: figure
                .runs
                .iter()
                .map(|(system, runs)| {
                    let median = figure.median(*system);
                    (system.name(), JsonSystem { median, runs })
                })
                .collect(),
            ratio_to_raw: figure
                .runs
                .keys()
                .filter_map(|s| figure.ratio(*s).map(|r| (s.name(), r)))
                .collect(),
        }
    }
}

impl Report {
    /// The report as pretty-printed JSON.
    pub fn json(&self) -> String {
        let placements = self
            .sections
            .iter()
            .map(|section| JsonSection {
                placement: section.placement,
                runtime: section.placement.describe(),
                figures: section.figures.iter().map(JsonFigure::new).collect(),
            })
            .collect();
        serde_json::to_string_pretty(&JsonReport {
            setup: &self.setup,
            placements,
        })
        .unwrap_or_else(|err| format!("{{\"error\": \"{err}\"}}"))
    }

    /// The report as Markdown: a heading and a table per placement.
    pub fn table(&self) -> String {
        let mut out = format!(
            "{} run(s) per figure, median shown; {} s per timed run; ratio = system / raw (the batching loop){}\n",
            self.setup.runs,
            self.setup.duration_s,
            if self.setup.quick { "; QUICK PASS" } else { "" }
        );
        for section in &self.sections {
            let _ = write!(
                out,
                "\n### {}\n\n{}\n\n{}",
                section.placement.name(),
                section.placement.describe(),
                self.section_table(section)
            );
        }
        out
    }

    /// One placement's table: medians, then ratios to `raw`.
    fn section_table(&self, section: &Section) -> String {
        let systems = &self.setup.systems;
        let others: Vec<System> = systems
            .iter()
            .copied()
            .filter(|s| *s != System::Raw)
            .collect();
        let with_ratios = systems.contains(&System::Raw);
        let mut out = String::new();
        let mut header = String::from("| workload | figure | unit | better |");
        let mut rule = String::from("| --- | --- | --- | --- |");
        for system in systems {
            let _ = write!(header, " {} |", system.name());
            rule.push_str(" ---: |");
        }
        if with_ratios {
            for system in &others {
                let _ = write!(header, " {}/raw |", system.name());
                rule.push_str(" ---: |");
            }
        }
        let _ = writeln!(out, "{header}\n{rule}");
        for figure in &section.figures {
            let better = match figure.better {
                Better::Higher => "higher",
                Better::Lower => "lower",
            };
            let _ = write!(
                out,
                "| {} | {} | {} | {better} |",
                figure.workload, figure.metric, figure.unit
            );
            for system in systems {
                let _ = write!(
                    out,
                    " {} |",
                    figure.median(*system).map_or("-".into(), number)
                );
            }
            if with_ratios {
                for system in &others {
                    let ratio = figure
                        .ratio(*system)
                        .map_or("-".into(), |r| format!("{r:.2}x"));
                    let _ = write!(out, " {ratio} |");
                }
            }
            out.push('\n');
        }
        out
    }
}

/// A figure with about four significant digits, without exponent.
fn number(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude >= 1000.0 {
        format!("{value:.0}")
    } else if magnitude >= 100.0 {
        format!("{value:.1}")
    } else if magnitude >= 10.0 {
        format!("{value:.2}")
    } else {
        format!("{value:.3}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> Report {
        let mut figure = Figure::new("pipelined", "calls/s", "calls/s", Better::Higher);
        for (system, values) in [
            (System::Rpc, [90.0, 110.0, 100.0]),
            (System::Raw, [200.0, 200.0, 200.0]),
        ] {
            for value in values {
                figure.push(system, value);
            }
        }
        Report {
            setup: Setup {
                runs: 3,
                duration_s: 1.0,
                quick: false,
                systems: vec![System::Rpc, System::Raw],
            },
            sections: vec![Section {
                placement: Placement::OneCpu,
                figures: vec![figure],
            }],
        }
    }

    #[test]
    fn ratios_divide_medians_by_raw() {
        assert_eq!(
            report().sections[0].figures[0].ratio(System::Rpc),
            Some(0.5)
        );
        let table = report().table();
        assert!(table.contains("### one-cpu"), "{table}");
        assert!(
            table.contains("| pipelined | calls/s | calls/s | higher | 100.0 | 200.0 | 0.50x |"),
            "{table}"
        );
    }

    #[test]
    fn json_carries_medians_runs_and_ratios() {
        let json: serde_json::Value = serde_json::from_str(&report().json()).unwrap();
        assert_eq!(json["placements"][0]["placement"], "one-cpu");
        let figure = &json["placements"][0]["figures"][0];
        assert_eq!(figure["systems"]["rpc"]["median"], 100.0);
        assert_eq!(
            figure["systems"]["raw"]["runs"].as_array().unwrap().len(),
            3
        );
        assert_eq!(figure["ratio_to_raw"]["rpc"], 0.5);
    }
}
