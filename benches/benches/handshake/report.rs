//! The table and the ratios.

use crate::load::Sample;
use crate::servers::ServerUnderTest;

/// The median (mean of the middle two for an even count).
pub(crate) fn median(mut values: Vec<f64>) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(values[n / 2]),
        _ => Some((values[n / 2 - 1] + values[n / 2]) / 2.0),
    }
}

/// Median and range of per-round ratios.
struct Spread {
    median: f64,
    min: f64,
    max: f64,
}

impl Spread {
    fn of(values: impl Iterator<Item = f64>) -> Option<Self> {
        let values: Vec<f64> = values.collect();
        Some(Self {
            min: values.iter().copied().fold(f64::INFINITY, f64::min),
            max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            median: median(values)?,
        })
    }

    fn show(spread: Option<&Self>) -> String {
        spread.map_or_else(
            || "-".to_owned(),
            |s| format!("{:.3} ({:.2}..{:.2})", s.median, s.min, s.max),
        )
    }
}

struct Summary {
    label: String,
    per_second: f64,
    min: f64,
    max: f64,
    cpu_us: Option<f64>,
    cores: Option<f64>,
    errors: u64,
}

impl Summary {
    /// Handshakes per second of server CPU: one core's capacity.
    fn per_cpu_second(&self) -> Option<f64> {
        self.cpu_us.map(|us| 1e6 / us)
    }
}

fn summarize(server: &ServerUnderTest, samples: &[Sample]) -> Summary {
    let rates: Vec<f64> = samples.iter().map(Sample::per_second).collect();
    Summary {
        label: server.label.clone(),
        per_second: median(rates.clone()).unwrap_or(0.0),
        min: rates.iter().copied().fold(f64::INFINITY, f64::min),
        max: rates.iter().copied().fold(0.0, f64::max),
        cpu_us: median(
            samples
                .iter()
                .filter_map(Sample::cpu_per_handshake_us)
                .collect(),
        ),
        cores: median(samples.iter().filter_map(Sample::server_cores).collect()),
        errors: samples.iter().map(|s| s.errors).sum(),
    }
}

/// The table: per server, the medians over rounds.
pub(crate) fn table(servers: &[ServerUnderTest], samples: &[Vec<Sample>]) {
    let summaries: Vec<Summary> = servers
        .iter()
        .zip(samples)
        .map(|(server, samples)| summarize(server, samples))
        .collect();
    println!();
    println!(
        "{:<34} {:>12} {:>15} {:>10} {:>6} {:>14} {:>6}",
        "server (median of rounds)",
        "handshakes/s",
        "min .. max",
        "CPU µs/hs",
        "cores",
        "hs/CPU-second",
        "errors"
    );
    let opt = |value: Option<f64>, precision: usize| {
        value.map_or_else(|| "-".to_owned(), |v| format!("{v:.precision$}"))
    };
    for s in &summaries {
        println!(
            "{:<34} {:>12.0} {:>15} {:>10} {:>6} {:>14} {:>6}",
            s.label,
            s.per_second,
            format!("{:.0} .. {:.0}", s.min, s.max),
            opt(s.cpu_us, 1),
            opt(s.cores, 2),
            opt(s.per_cpu_second(), 0),
            s.errors
        );
    }
}

/// The heading of the [`ratio`] lines.
pub(crate) fn ratio_header() {
    println!();
    println!(
        "{:<40} {:>22} {:>22} {:>8}",
        "ratio (median of per-round ratios)", "handshakes/s", "per server CPU-second", "target"
    );
}

/// One ratio line, `num / den` in handshakes per wall-clock second and per
/// server CPU-second, each the median (and range) of per-round ratios, and
/// whether both medians reach `target`. Nothing when a side is missing.
pub(crate) fn ratio(name: &str, num: Option<&Vec<Sample>>, den: Option<&Vec<Sample>>, target: f64) {
    let (Some(num), Some(den)) = (num, den) else {
        return;
    };
    let pairs = || num.iter().zip(den);
    let wall = Spread::of(pairs().map(|(n, d)| n.per_second() / d.per_second()));
    let cpu = Spread::of(
        pairs().filter_map(|(n, d)| Some(d.cpu_per_handshake_us()? / n.cpu_per_handshake_us()?)),
    );
    let verdict = match (&wall, &cpu) {
        (Some(wall), Some(cpu)) if wall.median >= target && cpu.median >= target => "met",
        (Some(wall), None) if wall.median >= target => "met",
        _ => "NOT met",
    };
    println!(
        "{:<40} {:>22} {:>22} {:>8}  {verdict}",
        name,
        Spread::show(wall.as_ref()),
        Spread::show(cpu.as_ref()),
        format!(">= {target}"),
    );
}

/// The handshake bench's report: the table, the DESIGN.md §5 ratios and
/// the server CPU above the floor (d).
pub(crate) fn print(servers: &[ServerUnderTest], samples: &[Vec<Sample>]) {
    table(servers, samples);
    let find = |prefix: &str| {
        servers
            .iter()
            .position(|server| server.label.starts_with(prefix))
            .map(|index| &samples[index])
    };
    let (plain, ours, cold, nginx, floor) = (
        find("(a)"),
        find("(b)"),
        find("(b0)"),
        find("(c)"),
        find("(d)"),
    );
    ratio_header();
    ratio("(b) ours / (a) plain rustls", ours, plain, 0.97);
    ratio("(b0) ours, no cache / (a) plain rustls", cold, plain, 0.97);
    ratio("(b) ours / (c) nginx", ours, nginx, 1.5);
    ratio("(b0) ours, no cache / (c) nginx", cold, nginx, 1.5);
    ratio("(a) plain rustls / (c) nginx", plain, nginx, 1.5);

    println!(
        "\nwhere the time goes: server CPU µs per handshake above (d), the handshake alone \
         (median of per-round differences)"
    );
    let above_floor =
        |name: &str, server: Option<&Vec<Sample>>| {
            let (Some(server), Some(floor)) = (server, floor) else {
                return;
            };
            let extra =
                Spread::of(server.iter().zip(floor).filter_map(|(s, f)| {
                    Some(s.cpu_per_handshake_us()? - f.cpu_per_handshake_us()?)
                }));
            if let Some(extra) = extra {
                println!(
                    "  {name:<58} {:>+7.1} ({:+.0}..{:+.0})",
                    extra.median, extra.min, extra.max
                );
            }
        };
    above_floor("(a): chain verification inside the handshake", plain);
    above_floor("(b): MtlsAcceptor (first byte, timeout), cache hit", ours);
    above_floor("(b0): MtlsAcceptor, classify without cache", cold);
    println!(
        "\n`hs/CPU-second` = 1 / server CPU per handshake: one core's capacity, independent of \
         how much CPU the load generator takes on this machine. Ratios matter more than absolutes."
    );
}
