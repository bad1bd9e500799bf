//! Data loading (`data::load`) of one year of seeded synthetic EURUSD M1 (2024: 377,280 bars per
//! side, the data `omega_v2 synth --start 2024-01-01 --end 2024-12-31 --timeframes M1` writes),
//! in both formats. Each load is complete: every row validated, bid and ask aligned, governance
//! counted and both files hashed for the manifest. Criterion prints MB/s of file bytes.
//!
//! Groups:
//! * `load_1y_pair`: the bid and ask files of the year (throughput over both files), and the
//!   same bars as in-memory frames (throughput over their canonical byte layout).
//! * `load_1y_one_file`: the bid file of the year against a one-bar ask file, so the figure is
//!   what one file costs (parse, validation, hash), comparable to a single-file reader.
//!
//! Every load writes ~15 MB of fresh columns per side. glibc returns freed memory to the kernel
//! between iterations, so each iteration page-faults its columns in again (as a single load in a
//! fresh process does); a pooling allocator, like pyarrow's, does not. To compare with such a
//! reader in a loop, keep glibc's memory:
//! `GLIBC_TUNABLES=glibc.malloc.trim_threshold=1073741824:glibc.malloc.mmap_threshold=33554432`.
//!
//! Run: `cargo bench --bench loading -- --warm-up-time 1 --measurement-time 5`.

use std::hint::black_box;
use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use omega_v2::data::synth::{self, SynthSpec};
use omega_v2::data::{self, DataSource, Format, LoadRequest, Side, SideArrays};
use omega_v2::market::{Bars, Ohlc, Timeframe};
use omega_v2::timefmt::parse_date;

const SYMBOL: &str = "EURUSD";

fn year() -> (i64, i64) {
    (parse_date("2024-01-01").unwrap(), parse_date("2025-01-01").unwrap())
}

fn request(source: DataSource<'_>) -> LoadRequest<'_> {
    let (start_ns, end_ns) = year();
    LoadRequest { source, symbol: SYMBOL, timeframe: Timeframe::M1, start_ns, end_ns, warmup_bars: 0, pip_size: 1e-4 }
}

fn file_bytes(root: &Path, side: Side) -> u64 {
    let path = data::data_file_path(root, SYMBOL, Timeframe::M1, side).unwrap();
    std::fs::metadata(path).unwrap().len()
}

/// Writes the year's bid file, plus either the year's ask file or one with only the first bar.
fn write_year(root: &Path, bars: &Bars, format: Format, full_ask: bool) {
    synth::write_dataset(root, SYMBOL, Timeframe::M1, bars, format).unwrap();
    if !full_ask {
        let mut first = Bars::default();
        first.time_ns.push(bars.time_ns[0]);
        let a = &bars.ask;
        first.ask.push(a.open[0], a.high[0], a.low[0], a.close[0]);
        first.bid = first.ask.clone();
        let ask_dir = tempfile::tempdir().unwrap();
        let written = synth::write_dataset(ask_dir.path(), SYMBOL, Timeframe::M1, &first, format).unwrap();
        std::fs::rename(&written[1], data::expected_path(root, SYMBOL, Timeframe::M1, Side::Ask, format)).unwrap();
    }
}

fn arrays<'a>(bars: &'a Bars, side: &'a Ohlc) -> SideArrays<'a> {
    SideArrays { time_ns: &bars.time_ns, open: &side.open, high: &side.high, low: &side.low, close: &side.close }
}

fn bench_loading(c: &mut Criterion) {
    let (start, end) = year();
    let bars = &synth::generate_m1(&SynthSpec::eurusd(start, end, 7));
    for (group_name, full_ask) in [("load_1y_pair", true), ("load_1y_one_file", false)] {
        let mut group = c.benchmark_group(group_name);
        group.sample_size(20);
        for format in [Format::Csv, Format::Parquet] {
            let dir = tempfile::tempdir().unwrap();
            write_year(dir.path(), bars, format, full_ask);
            let mut bytes = file_bytes(dir.path(), Side::Bid);
            if full_ask {
                bytes += file_bytes(dir.path(), Side::Ask);
            }
            let req = request(DataSource::Files { root: dir.path() });
            let loaded = data::load(&req).unwrap();
            assert_eq!(loaded.bars.len(), if full_ask { bars.len() } else { 1 });
            group.throughput(Throughput::BytesDecimal(bytes));
            group.bench_function(format.extension(), |b| b.iter(|| black_box(data::load(black_box(&req)).unwrap())));
        }
        if full_ask {
            let req = request(DataSource::Frames { bid: arrays(bars, &bars.bid), ask: arrays(bars, &bars.ask) });
            assert_eq!(data::load(&req).unwrap().bars.len(), bars.len());
            group.throughput(Throughput::BytesDecimal(2 * (26 + 40 * bars.len() as u64)));
            group.bench_function("frames", |b| b.iter(|| black_box(data::load(black_box(&req)).unwrap())));
        }
        group.finish();
    }
}

criterion_group!(benches, bench_loading);
criterion_main!(benches);
