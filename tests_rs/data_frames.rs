//! In-memory frames as a data source: the same bars as files and as frames load identically
//! (bars, warmup, governance), every rejection names the frame, the 0-based row, its timestamp
//! and the column, and the manifest digest is the SHA-256 of the documented byte layout.

use std::path::Path;

use omega_v2::data::synth::{self, SynthSpec};
use omega_v2::data::{self, DataSource, Format, LoadRequest, LoadedData, SideArrays};
use omega_v2::error::EngineError;
use omega_v2::market::{Bars, Ohlc, Timeframe};
use omega_v2::timefmt::{parse_date, NANOS_PER_DAY, NANOS_PER_MINUTE};
use sha2::{Digest, Sha256};

const SYMBOL: &str = "EURUSD";
const PIP: f64 = 1e-4;
const MIN: i64 = NANOS_PER_MINUTE;

fn arrays<'a>(time_ns: &'a [i64], side: &'a Ohlc) -> SideArrays<'a> {
    SideArrays { time_ns, open: &side.open, high: &side.high, low: &side.low, close: &side.close }
}

fn request(source: DataSource<'_>, timeframe: Timeframe, start_ns: i64, end_ns: i64, warmup: usize) -> LoadRequest<'_> {
    LoadRequest { source, symbol: SYMBOL, timeframe, start_ns, end_ns, warmup_bars: warmup, pip_size: PIP }
}

/// One side of a pair whose sides may differ in their rows.
struct SideRows {
    time_ns: Vec<i64>,
    ohlc: Ohlc,
}

impl SideRows {
    fn of(bars: &Bars, ask: bool, keep: impl Fn(usize) -> bool) -> Self {
        let from = if ask { &bars.ask } else { &bars.bid };
        let mut out = SideRows { time_ns: Vec::new(), ohlc: Ohlc::default() };
        for i in (0..bars.len()).filter(|&i| keep(i)) {
            out.push(bars.time_ns[i], [from.open[i], from.high[i], from.low[i], from.close[i]]);
        }
        out
    }

    fn push(&mut self, ns: i64, [o, h, l, c]: [f64; 4]) {
        self.time_ns.push(ns);
        self.ohlc.push(o, h, l, c);
    }

    fn arrays(&self) -> SideArrays<'_> {
        arrays(&self.time_ns, &self.ohlc)
    }

    /// Writes this side as `{root}/EURUSD/EURUSD_{tf}_{BID|ASK}.{ext}`.
    fn write(&self, root: &Path, tf: Timeframe, side: data::Side, format: Format) {
        let path = data::expected_path(root, SYMBOL, tf, side, format);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let volume = vec![1.0; self.time_ns.len()];
        match format {
            Format::Csv => data::csv::write_side(&path, &self.time_ns, &self.ohlc, &volume).unwrap(),
            Format::Parquet => {
                data::parquet::write_side(&path, &self.time_ns, &self.ohlc, &volume, Default::default()).unwrap()
            }
        }
    }
}

fn bits(b: &Bars) -> Vec<Vec<u64>> {
    [&b.bid, &b.ask]
        .iter()
        .flat_map(|s| [&s.open, &s.high, &s.low, &s.close])
        .map(|c| c.iter().map(|x| x.to_bits()).collect())
        .collect()
}

#[track_caller]
fn assert_same_load(files: &LoadedData, frames: &LoadedData) {
    assert_eq!(files.bars.time_ns, frames.bars.time_ns);
    assert_eq!(bits(&files.bars), bits(&frames.bars));
    assert_eq!(files.first_trading_index, frames.first_trading_index);
    assert_eq!(files.governance, frames.governance);
}

#[test]
fn the_same_bars_as_files_and_as_frames_load_identically() {
    let start = parse_date("2025-03-03").unwrap();
    let m1 = synth::generate_m1(&SynthSpec::eurusd(start, start + 21 * NANOS_PER_DAY, 3));
    let (from, to) = (start + 7 * NANOS_PER_DAY, start + 14 * NANOS_PER_DAY);
    for tf in [Timeframe::M1, Timeframe::M5] {
        let bars = if tf == Timeframe::M1 { m1.clone() } else { synth::aggregate(&m1, tf) };
        let first = bars.time_ns.partition_point(|&t| t < from);
        // The ask lacks every 7th bar (bid-only rows) and two bars just before the start (so the
        // warmup needs a second pass); the bid repeats one bar identically in the range.
        let mut bid = SideRows::of(&bars, false, |_| true);
        let ask = SideRows::of(&bars, true, |i| i % 7 != 3 && !(first - 3..first - 1).contains(&i));
        let dup = first + 10;
        let row = [bid.ohlc.open[dup], bid.ohlc.high[dup], bid.ohlc.low[dup], bid.ohlc.close[dup]];
        bid.time_ns.insert(dup, bid.time_ns[dup]);
        for (column, value) in
            [&mut bid.ohlc.open, &mut bid.ohlc.high, &mut bid.ohlc.low, &mut bid.ohlc.close].into_iter().zip(row)
        {
            column.insert(dup, value);
        }
        let frames = DataSource::Frames { bid: bid.arrays(), ask: ask.arrays() };
        let from_frames = data::load(&request(frames, tf, from, to, 50)).unwrap();
        // Something happened: warmup taken, rows dropped, the duplicate counted.
        let g = &from_frames.governance;
        assert_eq!(from_frames.first_trading_index, 50, "{tf:?}");
        assert!(g.alignment.dropped_bid_only > 0 && g.alignment.dropped_ask_only == 0, "{g:?}");
        assert_eq!((g.duplicates_dropped.bid, g.duplicates_dropped.ask), (1, 0));
        assert_eq!(g.alignment.bid_rows, bars.time_ns.partition_point(|&t| t < to) - first);
        for format in [Format::Csv, Format::Parquet] {
            let dir = tempfile::tempdir().unwrap();
            bid.write(dir.path(), tf, data::Side::Bid, format);
            ask.write(dir.path(), tf, data::Side::Ask, format);
            let from_files = data::load(&request(DataSource::Files { root: dir.path() }, tf, from, to, 50)).unwrap();
            assert_same_load(&from_files, &from_frames);
        }
    }
}

/// The documented layout, built byte by byte.
fn layout(time_ns: &[i64], side: &Ohlc) -> Vec<u8> {
    let mut bytes = b"omega-v2 frame v1\n".to_vec();
    bytes.extend((time_ns.len() as u64).to_le_bytes());
    for t in time_ns {
        bytes.extend(t.to_le_bytes());
    }
    for column in [&side.open, &side.high, &side.low, &side.close] {
        for v in column.iter() {
            bytes.extend(v.to_le_bytes());
        }
    }
    bytes
}

#[test]
fn frame_digests_hash_the_documented_layout_of_all_rows() {
    // Three weeks of bars, more than one hashing chunk; the range loads only a few days of them.
    let start = parse_date("2025-03-03").unwrap();
    let bars = synth::generate_m1(&SynthSpec::eurusd(start, start + 21 * NANOS_PER_DAY, 9));
    let frames = DataSource::Frames { bid: arrays(&bars.time_ns, &bars.bid), ask: arrays(&bars.time_ns, &bars.ask) };
    let loaded =
        data::load(&request(frames, Timeframe::M1, start + 8 * NANOS_PER_DAY, start + 10 * NANOS_PER_DAY, 0)).unwrap();
    assert_eq!(loaded.bars.len(), 2 * 1440);
    for (digest, (side, name, path)) in loaded.files.iter().zip([
        (&bars.bid, "EURUSD_M1_BID.frame", "<in-memory bid frame>"),
        (&bars.ask, "EURUSD_M1_ASK.frame", "<in-memory ask frame>"),
    ]) {
        let bytes = layout(&bars.time_ns, side);
        assert_eq!(bytes.len(), 26 + 40 * bars.len());
        let expected: String = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!((digest.name.as_str(), digest.path.as_str()), (name, path));
        assert_eq!((digest.bytes, digest.sha256.as_str()), (bytes.len() as u64, expected.as_str()));
    }
    // One changed bit anywhere changes the digest.
    let mut close = bars.bid.close.clone();
    close[bars.len() - 1] = f64::from_bits(close[bars.len() - 1].to_bits() ^ 1);
    let bid = SideArrays { close: &close, ..arrays(&bars.time_ns, &bars.bid) };
    let frames = DataSource::Frames { bid, ask: arrays(&bars.time_ns, &bars.ask) };
    let changed =
        data::load(&request(frames, Timeframe::M1, start + 8 * NANOS_PER_DAY, start + 10 * NANOS_PER_DAY, 0)).unwrap();
    assert_ne!(changed.files[0].sha256, loaded.files[0].sha256);
    assert_eq!(changed.files[1], loaded.files[1]);
}

// ---- rejections ---------------------------------------------------------------------------

/// Monday 2024-01-01 00:00 UTC.
fn t0() -> i64 {
    parse_date("2024-01-01").unwrap()
}

/// `n` valid minute bars from `t0`; the ask is 2 pips above the bid.
fn valid(n: usize, ask: bool) -> SideRows {
    let mut rows = SideRows { time_ns: Vec::new(), ohlc: Ohlc::default() };
    for i in 0..n {
        let base = 1.1 + i as f64 * 1e-4 + if ask { 2e-4 } else { 0.0 };
        rows.push(t0() + i as i64 * MIN, [base, base + 5e-4, base - 5e-4, base + 1e-4]);
    }
    rows
}

fn load_frames(bid: &SideRows, ask: &SideRows, minutes: i64) -> Result<LoadedData, EngineError> {
    let frames = DataSource::Frames { bid: bid.arrays(), ask: ask.arrays() };
    data::load(&request(frames, Timeframe::M1, t0(), t0() + minutes * MIN, 0))
}

#[track_caller]
fn assert_frame_error(result: Result<LoadedData, EngineError>, code: &str, message: &str) -> EngineError {
    let err = result.expect_err("expected a data error");
    assert_eq!((err.code.as_str(), err.message.as_str()), (code, message));
    assert!(!err.context.contains_key("file") && !err.context.contains_key("line"), "{:?}", err.context);
    err
}

#[test]
fn row_errors_name_frame_row_timestamp_and_column() {
    let ask = valid(30, true);
    let mut bid = valid(30, false);
    bid.ohlc.open[17] = 1.2;
    bid.ohlc.high[17] = 1.1;
    bid.ohlc.low[17] = 1.0;
    bid.ohlc.close[17] = 1.15;
    let err = assert_frame_error(
        load_frames(&bid, &ask, 30),
        "data.ohlc_inconsistent",
        "bid frame, row 17 (2024-01-01T00:17:00Z), column `High`: High 1.1 is below max(Open, Close) = 1.2",
    );
    let context = |k: &str| err.context.get(k).map(String::as_str);
    assert_eq!((context("frame"), context("row"), context("column")), (Some("bid"), Some("17"), Some("High")));

    let mut ask = valid(30, true);
    ask.ohlc.close[0] = f64::NAN;
    assert_frame_error(
        load_frames(&valid(30, false), &ask, 30),
        "data.non_finite",
        "ask frame, row 0 (2024-01-01T00:00:00Z), column `Close`: NaN is not a finite price",
    );
}

#[test]
fn unsorted_frames_are_rejected_like_files() {
    let mut bid = valid(30, false);
    bid.time_ns.swap(4, 5);
    assert_frame_error(
        load_frames(&bid, &valid(30, true), 30),
        "data.not_increasing",
        "bid frame, row 5 (2024-01-01T00:04:00Z), column `UTC time`: timestamp 2024-01-01T00:04:00Z is earlier than the previous row's 2024-01-01T00:05:00Z; rows must be sorted by time, strictly increasing",
    );
    // A divergent repeat of a timestamp is an error too; an identical one is dropped and counted.
    let mut bid = valid(30, false);
    bid.time_ns[6] = bid.time_ns[5];
    let err = load_frames(&bid, &valid(30, true), 30).unwrap_err();
    assert_eq!((err.code.as_str(), err.context["row"].as_str()), ("data.duplicate_divergent", "6"));
}

#[test]
fn missing_timestamps_and_ragged_columns_are_rejected() {
    let mut bid = valid(10, false);
    bid.time_ns[3] = i64::MIN;
    assert_frame_error(
        load_frames(&bid, &valid(10, true), 10),
        "data.null_value",
        "bid frame, row 3 (NaT), column `UTC time`: missing timestamp (NaT); every row needs its bar's open time",
    );
    let mut ask = valid(10, true);
    ask.ohlc.low.pop();
    let err = assert_frame_error(
        load_frames(&valid(10, false), &ask, 10),
        "data.frame_shape",
        "ask frame: its columns differ in length (time 10, Open 10, High 10, Low 9, Close 10); every column needs one value per row",
    );
    assert_eq!(err.context["frame"], "ask");
    let empty = SideRows { time_ns: Vec::new(), ohlc: Ohlc::default() };
    let err = load_frames(&empty, &valid(10, true), 10).unwrap_err();
    assert_eq!(err.code.as_str(), "data.no_bars");
    assert!(
        err.message.starts_with("bid frame: no bars in the requested range") && err.message.contains("no data rows")
    );
}

#[test]
fn pair_errors_name_both_frames() {
    let mut bid = valid(10, false);
    bid.ohlc.close[4] = 2.0;
    bid.ohlc.high[4] = 2.0;
    let err = load_frames(&bid, &valid(10, true), 10).unwrap_err();
    assert_eq!(err.code.as_str(), "data.bid_above_ask");
    assert!(err.message.contains("bid 2 > ask 1.1007 (bid frame vs ask frame)"), "{}", err.message);
    assert_eq!((err.context["frame"].as_str(), err.context["ask_frame"].as_str()), ("bid", "ask"));
    // Rows are checked before the pair: an ask row error beats the bid's alignment problem. Both
    // sides bad: the bid side's error, every time, although the sides are read in parallel.
    let mut ask = valid(10, true);
    ask.ohlc.open[1] = -1.0;
    let mut bad_bid = valid(10, false);
    bad_bid.ohlc.open[8] = 0.0;
    for _ in 0..20 {
        let err = load_frames(&bid, &ask, 10).unwrap_err();
        assert_eq!(
            (err.code.as_str(), err.context["frame"].as_str(), err.context["row"].as_str()),
            ("data.non_positive", "ask", "1")
        );
        let err = load_frames(&bad_bid, &ask, 10).unwrap_err();
        assert_eq!(
            (err.code.as_str(), err.context["frame"].as_str(), err.context["row"].as_str()),
            ("data.non_positive", "bid", "8")
        );
    }
}

#[test]
fn frame_prices_must_match_the_pip_scale() {
    let mut bid = valid(10, false);
    for column in [&mut bid.ohlc.open, &mut bid.ohlc.high, &mut bid.ohlc.low, &mut bid.ohlc.close] {
        column.iter_mut().for_each(|v| *v *= 1e-300);
    }
    let err = load_frames(&bid, &valid(10, true), 10).unwrap_err();
    assert_eq!(err.code.as_str(), "data.price_scale");
    let prefix = "bid frame, row 0 (2024-01-01T00:00:00Z), column `Open`: price 1.1000000000000002e-300 is outside [0.0001, 100000]";
    assert!(err.message.starts_with(prefix), "{err}");
    assert_eq!(err.context["allowed"], "[0.0001, 100000]");
}
