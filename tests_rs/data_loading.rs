//! Data layer: every rejection with its code and location, alignment, warmup, range
//! edges, gaps, format parity (CSV vs parquet, nullable, multi-row-group), the synthetic
//! generator, and robustness against corrupted bytes.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use omega_v2::data::parquet::ParquetLayout;
use omega_v2::data::synth::{self, SynthSpec};
use omega_v2::data::{self, DataSource, Format, LoadRequest, LoadedData, Side};
use omega_v2::error::EngineError;
use omega_v2::market::{Bars, Ohlc, Timeframe};
use omega_v2::timefmt::{format_iso, parse_date, NANOS_PER_DAY, NANOS_PER_MINUTE};
use parquet::basic::{LogicalType, Repetition, TimeUnit, Type as PhysicalType};
use parquet::data_type::{ByteArray, ByteArrayType, DataType, DoubleType, FloatType, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::{SerializedColumnWriter, SerializedFileWriter};
use parquet::schema::types::Type;
use proptest::prelude::*;

const SYMBOL: &str = "EURUSD";
const HEADER: &str = "UTC time,Open,High,Low,Close,Volume";
const MIN: i64 = NANOS_PER_MINUTE;

/// Monday 2025-01-06 00:00 UTC.
fn t0() -> i64 {
    parse_date("2025-01-06").unwrap()
}

/// EURUSD's pip size.
const PIP: f64 = 1e-4;

fn request(root: &Path, start_ns: i64, end_ns: i64, warmup_bars: usize) -> LoadRequest<'_> {
    let source = DataSource::Files { root };
    LoadRequest { source, symbol: SYMBOL, timeframe: Timeframe::M1, start_ns, end_ns, warmup_bars, pip_size: PIP }
}

/// Loads minute `from` to minute `to` (exclusive) after [`t0`].
fn load_minutes(root: &Path, from: i64, to: i64, warmup: usize) -> Result<LoadedData, EngineError> {
    data::load(&request(root, t0() + from * MIN, t0() + to * MIN, warmup))
}

fn path_of(root: &Path, side: Side, format: Format) -> PathBuf {
    data::expected_path(root, SYMBOL, Timeframe::M1, side, format)
}

/// A valid bar at minute `i` (prices vary a little so rows differ).
fn prices(i: i64, ask: bool) -> [f64; 4] {
    let base = 1.1 + i as f64 * 1e-4 + if ask { 2e-4 } else { 0.0 };
    [base, base + 5e-4, base - 5e-4, base + 1e-4]
}

fn csv_line(ns: i64, [o, h, l, c]: [f64; 4]) -> String {
    format!("{},{o},{h},{l},{c},10", format_iso(ns))
}

/// CSV data lines for the given minutes after [`t0`].
fn csv_lines(minutes: impl IntoIterator<Item = i64>, ask: bool) -> Vec<String> {
    minutes.into_iter().map(|i| csv_line(t0() + i * MIN, prices(i, ask))).collect()
}

fn write_csv(root: &Path, side: Side, lines: &[String]) -> PathBuf {
    let path = path_of(root, side, Format::Csv);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, format!("{HEADER}\n{}\n", lines.join("\n"))).unwrap();
    path
}

/// A valid ask file of minutes 0..n and a bid file of the given lines.
fn csv_pair(root: &Path, bid_lines: &[String], n: i64) -> PathBuf {
    write_csv(root, Side::Ask, &csv_lines(0..n, true));
    write_csv(root, Side::Bid, bid_lines)
}

fn bars_of(minutes: &[i64], ask: bool) -> (Vec<i64>, Ohlc) {
    let mut ohlc = Ohlc::default();
    for &i in minutes {
        let [o, h, l, c] = prices(i, ask);
        ohlc.push(o, h, l, c);
    }
    (minutes.iter().map(|i| t0() + i * MIN).collect(), ohlc)
}

fn write_parquet_side(root: &Path, side: Side, minutes: &[i64], layout: ParquetLayout) -> PathBuf {
    let path = path_of(root, side, Format::Parquet);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let (time, ohlc) = bars_of(minutes, side == Side::Ask);
    data::parquet::write_side(&path, &time, &ohlc, &vec![10.0; time.len()], layout).unwrap();
    path
}

/// Asserts the error code and that the message contains every needle (`SHOW_ERRORS=1` prints
/// each message, to review their wording).
#[track_caller]
fn assert_error(result: Result<LoadedData, EngineError>, code: &str, needles: &[&str]) -> EngineError {
    let err = result.expect_err("expected a data error");
    assert_eq!(err.code, code, "{err}");
    let text = err.to_string();
    if std::env::var_os("SHOW_ERRORS").is_some() {
        println!("{code}: {text}");
    }
    for needle in needles {
        assert!(text.contains(needle), "message lacks {needle:?}: {text}");
    }
    err
}

// ---- hand-built parquet files (odd types, nulls) -------------------------------------------

enum Values {
    Timestamp(Vec<i64>, TimeUnit, bool),
    Int64(Vec<i64>),
    Double(Vec<f64>),
    Float(Vec<f32>),
    Text(Vec<&'static str>),
}

struct Col {
    name: &'static str,
    values: Values,
    /// Row indices written as null (the column is OPTIONAL when `optional` or any null).
    nulls: Vec<usize>,
    optional: bool,
}

fn col(name: &'static str, values: Values) -> Col {
    Col { name, values, nulls: Vec::new(), optional: false }
}

/// The six columns of a valid bid file for minutes 0..n.
fn standard_cols(n: i64) -> Vec<Col> {
    let minutes: Vec<i64> = (0..n).collect();
    let (time, ohlc) = bars_of(&minutes, false);
    vec![
        col("UTC time", Values::Timestamp(time, TimeUnit::NANOS, true)),
        col("Open", Values::Double(ohlc.open)),
        col("High", Values::Double(ohlc.high)),
        col("Low", Values::Double(ohlc.low)),
        col("Close", Values::Double(ohlc.close)),
        col("Volume", Values::Double(vec![10.0; n as usize])),
    ]
}

fn write_cols(path: &Path, cols: Vec<Col>) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let fields = cols
        .iter()
        .map(|c| {
            let (physical, logical) = match &c.values {
                Values::Timestamp(_, unit, utc) => (PhysicalType::INT64, Some(LogicalType::timestamp(*utc, *unit))),
                Values::Int64(_) => (PhysicalType::INT64, None),
                Values::Double(_) => (PhysicalType::DOUBLE, None),
                Values::Float(_) => (PhysicalType::FLOAT, None),
                Values::Text(_) => (PhysicalType::BYTE_ARRAY, Some(LogicalType::String)),
            };
            let repetition =
                if c.optional || !c.nulls.is_empty() { Repetition::OPTIONAL } else { Repetition::REQUIRED };
            let field =
                Type::primitive_type_builder(c.name, physical).with_repetition(repetition).with_logical_type(logical);
            Arc::new(field.build().unwrap())
        })
        .collect();
    let schema = Arc::new(Type::group_type_builder("schema").with_fields(fields).build().unwrap());
    let file = std::fs::File::create(path).unwrap();
    let mut writer = SerializedFileWriter::new(file, schema, Arc::new(WriterProperties::builder().build())).unwrap();
    let mut group = writer.next_row_group().unwrap();
    for c in cols {
        let mut column = group.next_column().unwrap().unwrap();
        let optional = c.optional || !c.nulls.is_empty();
        let nulls = &c.nulls;
        match c.values {
            Values::Timestamp(v, ..) | Values::Int64(v) => write_typed::<Int64Type>(&mut column, v, nulls, optional),
            Values::Double(v) => write_typed::<DoubleType>(&mut column, v, nulls, optional),
            Values::Float(v) => write_typed::<FloatType>(&mut column, v, nulls, optional),
            Values::Text(v) => {
                let v = v.into_iter().map(ByteArray::from).collect();
                write_typed::<ByteArrayType>(&mut column, v, nulls, optional)
            }
        }
        column.close().unwrap();
    }
    group.close().unwrap();
    writer.close().unwrap();
}

fn write_typed<T: DataType>(column: &mut SerializedColumnWriter, values: Vec<T::T>, nulls: &[usize], optional: bool) {
    let rows = values.len();
    let defs: Vec<i16> = (0..rows).map(|i| i16::from(!nulls.contains(&i))).collect();
    let present: Vec<T::T> =
        values.into_iter().enumerate().filter(|(i, _)| !nulls.contains(i)).map(|(_, v)| v).collect();
    column.typed::<T>().write_batch(&present, optional.then_some(&defs[..]), None).unwrap();
}

/// A bid parquet file from `cols` and a valid ask parquet file of minutes 0..n.
fn parquet_pair(root: &Path, cols: Vec<Col>, n: i64) -> PathBuf {
    write_parquet_side(root, Side::Ask, &(0..n).collect::<Vec<_>>(), ParquetLayout::default());
    let path = path_of(root, Side::Bid, Format::Parquet);
    write_cols(&path, cols);
    path
}

fn replace(cols: &mut [Col], name: &str, values: Values) {
    cols.iter_mut().find(|c| c.name == name).unwrap().values = values;
}

// ---- rejections ---------------------------------------------------------------------------

#[test]
fn missing_file_names_both_expected_paths() {
    let dir = tempfile::tempdir().unwrap();
    let err = assert_error(
        load_minutes(dir.path(), 0, 10, 0),
        "data.missing_file",
        &["EURUSD_M1_BID.parquet", "EURUSD_M1_BID.csv"],
    );
    assert_eq!(err.kind(), omega_v2::error::ErrorKind::Data);
    // One side present is not enough.
    csv_pair(dir.path(), &csv_lines(0..3, false), 3);
    std::fs::remove_file(path_of(dir.path(), Side::Ask, Format::Csv)).unwrap();
    assert_error(
        load_minutes(dir.path(), 0, 10, 0),
        "data.missing_file",
        &["EURUSD_M1_ASK.parquet", "EURUSD_M1_ASK.csv"],
    );
}

#[test]
fn symbols_cannot_escape_the_data_root() {
    let err = data::data_file_path(Path::new("/data"), "../etc", Timeframe::M1, Side::Bid).unwrap_err();
    assert_eq!(err.code, "data.invalid_symbol");
}

#[test]
fn missing_column_names_column_file_and_found_columns() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_csv(dir.path(), Side::Bid, &[]);
    std::fs::write(&path, "UTC time,Open,High,Low,Volume\n2025-01-06 00:00:00+00:00,1,1,1,1\n").unwrap();
    write_csv(dir.path(), Side::Ask, &csv_lines(0..3, true));
    assert_error(
        load_minutes(dir.path(), 0, 3, 0),
        "data.missing_column",
        &["`Close`", "EURUSD_M1_BID.csv", "`Volume`", "columns found"],
    );

    let dir = tempfile::tempdir().unwrap();
    let mut cols = standard_cols(3);
    cols.retain(|c| c.name != "Volume");
    parquet_pair(dir.path(), cols, 3);
    assert_error(
        load_minutes(dir.path(), 0, 3, 0),
        "data.missing_column",
        &["`Volume`", "EURUSD_M1_BID.parquet", "`Close`"],
    );
}

/// Longest message a rejection may print, beyond the path of the file it names.
const MESSAGE_BOUND: usize = 1000;

#[track_caller]
fn assert_bounded(err: &EngineError, path: &Path) {
    let text = err.to_string();
    let path_len = path.display().to_string().len();
    assert!(text.len() <= MESSAGE_BOUND + path_len, "{} bytes: {}", text.len(), &text[..text.len().min(3000)]);
}

#[test]
fn a_missing_column_among_200000_is_named_in_a_bounded_message() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_csv(dir.path(), Side::Bid, &[]);
    let extra: Vec<String> = (0..199_995).map(|i| format!("extra column {i}")).collect();
    std::fs::write(&path, format!("UTC time,Open,High,Low,Volume,{}\n", extra.join(","))).unwrap();
    write_csv(dir.path(), Side::Ask, &csv_lines(0..3, true));
    let err = assert_error(
        load_minutes(dir.path(), 0, 3, 0),
        "data.missing_column",
        &[
            "EURUSD_M1_BID.csv",
            "missing column `Close`",
            "200000 columns found",
            "`UTC time`, `Open`",
            "and 199992 more",
        ],
    );
    assert_bounded(&err, &path);
    assert!(!err.message.contains("extra column 3"), "{err}");

    // An absurdly long header name is cut.
    let long = "n".repeat(1 << 20);
    std::fs::write(&path, format!("UTC time,Open,High,Low,Volume,{long}\n")).unwrap();
    let err = assert_error(load_minutes(dir.path(), 0, 3, 0), "data.missing_column", &["(1048576 bytes)", "6 columns"]);
    assert_bounded(&err, &path);
}

#[test]
fn huge_cells_are_quoted_cut_with_their_size() {
    let huge = "9".repeat(10 << 20);
    let cases = [
        (",1.1007,", format!(",x{huge},"), "`High`", "cannot parse number"),
        ("2025-01-06T00:02:00Z", format!("x{huge}"), "`UTC time`", "cannot parse timestamp"),
        // A fraction of ten million digits and no offset: a naive timestamp.
        ("2025-01-06T00:02:00Z", format!("2025-01-06T00:02:00.{huge}"), "`UTC time`", "has no UTC offset"),
    ];
    for (needle, replacement, column, what) in cases {
        let dir = tempfile::tempdir().unwrap();
        let mut lines = csv_lines(0..5, false);
        lines[2] = lines[2].replacen(needle, &replacement, 1);
        let path = csv_pair(dir.path(), &lines, 5);
        let code = if what.contains("offset") { "data.naive_timestamp" } else { "data.bad_value" };
        let size = format!("({} bytes)", replacement.trim_matches(',').len());
        let err = assert_error(
            load_minutes(dir.path(), 0, 5, 0),
            code,
            &["EURUSD_M1_BID.csv", "row 3 (line 4)", column, what, &size],
        );
        assert_bounded(&err, &path);
    }
}

#[test]
fn bad_values_name_row_line_column_and_text() {
    let dir = tempfile::tempdir().unwrap();
    let mut lines = csv_lines(0..5, false);
    lines[2] = lines[2].replacen(",1.1007,", ",abc,", 1);
    assert!(lines[2].contains("abc"));
    csv_pair(dir.path(), &lines, 5);
    assert_error(
        load_minutes(dir.path(), 0, 5, 0),
        "data.bad_value",
        &["EURUSD_M1_BID.csv", "row 3 (line 4)", "`High`", "\"abc\""],
    );

    lines = csv_lines(0..5, false);
    lines[1] = lines[1].replacen(",1.1001,", ",,", 1);
    csv_pair(dir.path(), &lines, 5);
    assert_error(load_minutes(dir.path(), 0, 5, 0), "data.bad_value", &["row 2 (line 3)", "`Open`", "\"\""]);

    lines = csv_lines(0..5, false);
    lines[3] = lines[3].replacen("2025-01-06T", "2025-01-06X", 1);
    csv_pair(dir.path(), &lines, 5);
    assert_error(
        load_minutes(dir.path(), 0, 5, 0),
        "data.bad_value",
        &["row 4 (line 5)", "`UTC time`", "2025-01-06X00:03:00Z"],
    );
}

#[test]
fn ragged_csv_rows_are_malformed() {
    let dir = tempfile::tempdir().unwrap();
    let mut lines = csv_lines(0..3, false);
    lines[1].push_str(",extra");
    csv_pair(dir.path(), &lines, 3);
    assert_error(
        load_minutes(dir.path(), 0, 3, 0),
        "data.malformed",
        &["EURUSD_M1_BID.csv", "row 2 (line 3)", "7 fields"],
    );
}

#[test]
fn crlf_files_report_the_same_lines() {
    // A Windows-style file: every line ends in \r\n; the lines named are those of the file.
    let dir = tempfile::tempdir().unwrap();
    let mut lines = csv_lines(0..5, false);
    lines[2] = lines[2].replacen(",1.1007,", ",abc,", 1);
    write_csv(dir.path(), Side::Ask, &csv_lines(0..5, true));
    let bid = path_of(dir.path(), Side::Bid, Format::Csv);
    std::fs::write(&bid, format!("{HEADER}\r\n{}\r\n", lines.join("\r\n"))).unwrap();
    let err = assert_error(load_minutes(dir.path(), 0, 5, 0), "data.bad_value", &["row 3 (line 4)", "`High`"]);
    assert_eq!(err.context["line"], "4");
    let mut ragged = csv_lines(0..5, false);
    ragged[3].push_str(",extra");
    std::fs::write(&bid, format!("{HEADER}\r\n{}\r\n", ragged.join("\r\n"))).unwrap();
    assert_error(load_minutes(dir.path(), 0, 5, 0), "data.malformed", &["row 4 (line 5)", "7 fields"]);
}

#[test]
fn naive_timestamps_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let mut lines = csv_lines(0..3, false);
    lines[0] = lines[0].replacen("00:00:00Z", "00:00:00", 1);
    csv_pair(dir.path(), &lines, 3);
    assert_error(
        load_minutes(dir.path(), 0, 3, 0),
        "data.naive_timestamp",
        &["EURUSD_M1_BID.csv", "row 1 (line 2)", "never guesses a time zone", "+00:00"],
    );

    let dir = tempfile::tempdir().unwrap();
    let mut cols = standard_cols(3);
    let (time, _) = bars_of(&[0, 1, 2], false);
    replace(&mut cols, "UTC time", Values::Timestamp(time, TimeUnit::NANOS, false));
    parquet_pair(dir.path(), cols, 3);
    assert_error(
        load_minutes(dir.path(), 0, 3, 0),
        "data.naive_timestamp",
        &["EURUSD_M1_BID.parquet", "isAdjustedToUTC=false", "never guesses"],
    );
}

#[test]
fn unsupported_parquet_types_are_named() {
    let cases: Vec<(&str, Values, &[&str])> = vec![
        ("Open", Values::Float(vec![1.1; 3]), &["`Open`", "float32"]),
        ("Close", Values::Text(vec!["1.1"; 3]), &["`Close`", "float64"]),
        (
            "UTC time",
            Values::Int64(bars_of(&[0, 1, 2], false).0.iter().map(|t| t / 1_000_000).collect()),
            &["`UTC time`", "milliseconds", "row 1"],
        ),
        ("UTC time", Values::Double(vec![1.0; 3]), &["`UTC time`", "timestamp[ns|us|ms, tz=UTC]"]),
    ];
    for (name, values, needles) in cases {
        let dir = tempfile::tempdir().unwrap();
        let mut cols = standard_cols(3);
        replace(&mut cols, name, values);
        parquet_pair(dir.path(), cols, 3);
        assert_error(load_minutes(dir.path(), 0, 3, 0), "data.unsupported_type", needles);
    }
}

#[test]
fn parquet_codecs_this_build_lacks_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = parquet_pair(dir.path(), standard_cols(3), 3);
    // The test writer leaves data uncompressed; turn the footer's codec fields (thrift compact:
    // field header 0x15, zigzag 0 = UNCOMPRESSED, then 0x16 of num_values) into GZIP (zigzag 4).
    let mut bytes = std::fs::read(&path).unwrap();
    let footer_len = u32::from_le_bytes(bytes[bytes.len() - 8..bytes.len() - 4].try_into().unwrap()) as usize;
    let footer = bytes.len() - 8 - footer_len..bytes.len() - 8;
    let mut patched = 0;
    for i in footer.start..footer.end - 2 {
        if bytes[i..i + 3] == [0x15, 0x00, 0x16] {
            bytes[i + 1] = 0x04;
            patched += 1;
        }
    }
    assert_eq!(patched, 6, "one codec field per column");
    std::fs::write(&path, bytes).unwrap();
    assert_error(
        load_minutes(dir.path(), 0, 3, 0),
        "data.unsupported_codec",
        &["EURUSD_M1_BID.parquet", "GZIP", "`UTC time`", "snappy"],
    );
}

#[test]
fn parquet_time_units_and_plain_int64_ns_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let (time, _) = bars_of(&[0, 1, 2], false);
    let reference = {
        parquet_pair(dir.path(), standard_cols(3), 3);
        load_minutes(dir.path(), 0, 3, 0).unwrap().bars
    };
    let variants = [
        Values::Timestamp(time.iter().map(|t| t / 1_000).collect(), TimeUnit::MICROS, true),
        Values::Timestamp(time.iter().map(|t| t / 1_000_000).collect(), TimeUnit::MILLIS, true),
        Values::Int64(time.clone()),
    ];
    for values in variants {
        let mut cols = standard_cols(3);
        replace(&mut cols, "UTC time", values);
        parquet_pair(dir.path(), cols, 3);
        assert_eq!(load_minutes(dir.path(), 0, 3, 0).unwrap().bars, reference);
    }
}

#[test]
fn parquet_nulls_are_rejected_with_their_row() {
    let dir = tempfile::tempdir().unwrap();
    let mut cols = standard_cols(5);
    cols[4].nulls = vec![2];
    parquet_pair(dir.path(), cols, 5);
    assert_error(
        load_minutes(dir.path(), 0, 5, 0),
        "data.null_value",
        &["EURUSD_M1_BID.parquet", "row 3 (row group 0)", "`Close`"],
    );

    let mut cols = standard_cols(5);
    cols[0].nulls = vec![4];
    parquet_pair(dir.path(), cols, 5);
    assert_error(load_minutes(dir.path(), 0, 5, 0), "data.null_value", &["row 5", "`UTC time`"]);
}

#[test]
fn non_finite_prices_are_rejected() {
    for bad in ["NaN", "inf", "-inf"] {
        let dir = tempfile::tempdir().unwrap();
        let mut lines = csv_lines(0..3, false);
        lines[1] = lines[1].replacen(",1.1002,", &format!(",{bad},"), 1);
        csv_pair(dir.path(), &lines, 3);
        assert_error(
            load_minutes(dir.path(), 0, 3, 0),
            "data.non_finite",
            &["EURUSD_M1_BID.csv", "row 2 (line 3)", "`Close`"],
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let mut cols = standard_cols(3);
    let mut low = bars_of(&[0, 1, 2], false).1.low;
    low[2] = f64::NAN;
    replace(&mut cols, "Low", Values::Double(low));
    parquet_pair(dir.path(), cols, 3);
    assert_error(
        load_minutes(dir.path(), 0, 3, 0),
        "data.non_finite",
        &["EURUSD_M1_BID.parquet", "row 3 (row group 0)", "`Low`"],
    );
}

#[test]
fn inconsistent_ohlc_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let mut lines = csv_lines(0..3, false);
    lines[2] = csv_line(t0() + 2 * MIN, [1.2, 1.19, 1.1, 1.15]);
    csv_pair(dir.path(), &lines, 3);
    assert_error(
        load_minutes(dir.path(), 0, 3, 0),
        "data.ohlc_inconsistent",
        &["row 3 (line 4)", "`High`", "max(Open, Close)"],
    );

    let dir = tempfile::tempdir().unwrap();
    let mut cols = standard_cols(3);
    replace(&mut cols, "Low", Values::Double(vec![1.3; 3]));
    parquet_pair(dir.path(), cols, 3);
    assert_error(
        load_minutes(dir.path(), 0, 3, 0),
        "data.ohlc_inconsistent",
        &["EURUSD_M1_BID.parquet", "row 1", "`Low`"],
    );
}

#[test]
fn non_positive_prices_are_rejected() {
    for bad in ["0", "-1.1"] {
        let dir = tempfile::tempdir().unwrap();
        let mut lines = csv_lines(0..3, false);
        lines[0] = csv_line(t0(), [1.1, 1.2, 1.0, 1.1]).replacen(",1.1,", &format!(",{bad},"), 1);
        csv_pair(dir.path(), &lines, 3);
        assert_error(load_minutes(dir.path(), 0, 3, 0), "data.non_positive", &["row 1 (line 2)", "`Open`"]);
    }
}

/// Minutes 0..n as CSV lines of the bid with every price multiplied by `scale`.
fn scaled_lines(n: i64, scale: f64) -> Vec<String> {
    (0..n).map(|i| csv_line(t0() + i * MIN, prices(i, false).map(|p| p * scale))).collect()
}

#[test]
fn prices_off_the_symbols_scale_are_rejected() {
    for scale in [1e-300, 1e12] {
        for format in [Format::Csv, Format::Parquet] {
            let dir = tempfile::tempdir().unwrap();
            let lines = scaled_lines(5, scale);
            match format {
                Format::Csv => drop(csv_pair(dir.path(), &lines, 5)),
                Format::Parquet => {
                    let mut cols = standard_cols(5);
                    let (_, ohlc) = bars_of(&[0, 1, 2, 3, 4], false);
                    for (name, column) in
                        [("Open", ohlc.open), ("High", ohlc.high), ("Low", ohlc.low), ("Close", ohlc.close)]
                    {
                        replace(&mut cols, name, Values::Double(column.iter().map(|p| p * scale).collect()));
                    }
                    parquet_pair(dir.path(), cols, 5);
                }
            }
            let name = format!("EURUSD_M1_BID.{}", format.extension());
            let err = assert_error(
                load_minutes(dir.path(), 0, 5, 0),
                "data.price_scale",
                &[&name, "row 1", "column `Open`", "price 1", "[0.0001, 100000]", "pip size", "another symbol"],
            );
            assert_eq!(err.context["column"], "Open");
            assert_eq!(err.context["value"].parse::<f64>().unwrap(), prices(0, false)[0] * scale);
        }
    }
}

#[test]
fn prices_exactly_at_the_scale_bounds_are_accepted() {
    // Low exactly one pip, High exactly 1e9 pips (EURUSD: 0.0001 and 100000).
    let dir = tempfile::tempdir().unwrap();
    let mut lines = csv_lines(0..3, false);
    lines[1] = csv_line(t0() + MIN, [1.0, 100000.0, 0.0001, 1.0]);
    write_csv(dir.path(), Side::Bid, &lines);
    let ask: Vec<String> = (0..3).map(|i| csv_line(t0() + i * MIN, [2.0, 100000.0, 0.0001, 2.0])).collect();
    write_csv(dir.path(), Side::Ask, &ask);
    let loaded = load_minutes(dir.path(), 0, 3, 0).unwrap();
    assert_eq!((loaded.bars.bid.low[1], loaded.bars.bid.high[1]), (PIP, PIP * 1e9));
    // Just outside either bound is rejected.
    for (high, low) in [(100000.0 * (1.0 + f64::EPSILON), 0.0001), (100000.0, 0.0001 * (1.0 - f64::EPSILON))] {
        lines[1] = csv_line(t0() + MIN, [1.0, high, low, 1.0]);
        write_csv(dir.path(), Side::Bid, &lines);
        let column = if high > 100000.0 { "`High`" } else { "`Low`" };
        assert_error(load_minutes(dir.path(), 0, 3, 0), "data.price_scale", &["row 2 (line 3)", column]);
    }
    // The bounds follow the pip size passed in.
    lines[1] = csv_line(t0() + MIN, [1.0, 100000.0, 0.0001, 1.0]);
    write_csv(dir.path(), Side::Bid, &lines);
    let req = LoadRequest { pip_size: 0.01, ..request(dir.path(), t0(), t0() + 3 * MIN, 0) };
    assert_error(data::load(&req), "data.price_scale", &["row 2 (line 3)", "column `Low`", "[0.01, 10000000]"]);
    let req = LoadRequest { pip_size: 0.0, ..req };
    assert_error(data::load(&req), "data.invalid_pip_size", &["pip size"]);
}

#[test]
fn with_both_sides_bad_the_bid_error_wins_as_when_read_in_turn() {
    let dir = tempfile::tempdir().unwrap();
    let mut bid = csv_lines(0..2000, false);
    bid[1990] = bid[1990].replacen(",1.", ",x1.", 1);
    let mut ask = csv_lines(0..2000, true);
    ask[3] = ask[3].replacen(",1.", ",y1.", 1);
    write_csv(dir.path(), Side::Bid, &bid);
    write_csv(dir.path(), Side::Ask, &ask);
    for _ in 0..20 {
        assert_error(load_minutes(dir.path(), 0, 2000, 0), "data.bad_value", &["EURUSD_M1_BID.csv", "row 1991"]);
    }
    write_csv(dir.path(), Side::Bid, &csv_lines(0..2000, false));
    assert_error(load_minutes(dir.path(), 0, 2000, 0), "data.bad_value", &["EURUSD_M1_ASK.csv", "row 4"]);
}

#[test]
fn timestamps_must_increase() {
    let dir = tempfile::tempdir().unwrap();
    let lines = csv_lines([0, 1, 3, 2, 4], false);
    csv_pair(dir.path(), &lines, 5);
    assert_error(
        load_minutes(dir.path(), 0, 5, 0),
        "data.not_increasing",
        &["EURUSD_M1_BID.csv", "row 4 (line 5)", "2025-01-06T00:02:00Z"],
    );

    // Across parquet row groups.
    let dir = tempfile::tempdir().unwrap();
    write_parquet_side(dir.path(), Side::Ask, &[0, 1, 2, 3, 4], ParquetLayout::default());
    write_parquet_side(dir.path(), Side::Bid, &[0, 1, 3, 2, 4], ParquetLayout { nullable: false, row_group_rows: 2 });
    assert_error(
        load_minutes(dir.path(), 0, 5, 0),
        "data.not_increasing",
        &["EURUSD_M1_BID.parquet", "row 4 (row group 1)"],
    );
}

#[test]
fn duplicates_identical_are_dropped_and_counted_divergent_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let lines = csv_lines([0, 1, 1, 2, 3, 3, 3], false);
    csv_pair(dir.path(), &lines, 4);
    let loaded = load_minutes(dir.path(), 0, 4, 0).unwrap();
    assert_eq!(loaded.bars.len(), 4);
    assert_eq!((loaded.governance.duplicates_dropped.bid, loaded.governance.duplicates_dropped.ask), (3, 0));
    assert_eq!(loaded.governance.alignment.bid_rows, 4);

    let dir = tempfile::tempdir().unwrap();
    write_parquet_side(dir.path(), Side::Ask, &[0, 1, 1, 2], ParquetLayout { nullable: false, row_group_rows: 2 });
    write_parquet_side(dir.path(), Side::Bid, &[0, 1, 2], ParquetLayout::default());
    let loaded = load_minutes(dir.path(), 0, 3, 0).unwrap();
    assert_eq!((loaded.governance.duplicates_dropped.bid, loaded.governance.duplicates_dropped.ask), (0, 1));

    let dir = tempfile::tempdir().unwrap();
    let mut lines = csv_lines([0, 1, 2], false);
    lines.insert(2, csv_line(t0() + MIN, [1.1, 1.2, 1.0, 1.15]));
    csv_pair(dir.path(), &lines, 3);
    assert_error(
        load_minutes(dir.path(), 0, 3, 0),
        "data.duplicate_divergent",
        &["EURUSD_M1_BID.csv", "row 3 (line 4)", "2025-01-06T00:01:00Z"],
    );
}

#[test]
fn bid_above_ask_is_rejected_after_alignment() {
    let dir = tempfile::tempdir().unwrap();
    let mut lines = csv_lines(0..4, false);
    // Bid close above the ask close (1.1006 + 1e-4 ... ask close at minute 2 is 1.1005).
    lines[2] = csv_line(t0() + 2 * MIN, [1.1002, 1.2, 1.1, 1.19]);
    csv_pair(dir.path(), &lines, 4);
    assert_error(
        load_minutes(dir.path(), 0, 4, 0),
        "data.bid_above_ask",
        &["2025-01-06T00:02:00Z", "Close", "bid 1.19", "ask 1.1005", "EURUSD_M1_BID.csv", "EURUSD_M1_ASK.csv"],
    );
    // A bid-only row that does not align is dropped, not checked.
    let mut lines = csv_lines(0..4, false);
    lines.insert(3, csv_line(t0() + 2 * MIN + 30_000_000_000, [1.5, 1.6, 1.4, 1.5]));
    csv_pair(dir.path(), &lines, 4);
    assert_eq!(load_minutes(dir.path(), 0, 4, 0).unwrap().governance.alignment.dropped_bid_only, 1);
}

#[test]
fn no_bars_in_range_names_range_and_file_extent() {
    for format in [Format::Csv, Format::Parquet] {
        let dir = tempfile::tempdir().unwrap();
        write_pair(dir.path(), &(0..10).collect::<Vec<_>>(), &(0..10).collect::<Vec<_>>(), format);
        let name = format!("EURUSD_M1_BID.{}", format.extension());
        assert_error(
            load_minutes(dir.path(), 100, 200, 0),
            "data.no_bars",
            &[&name, "2025-01-06T01:40:00Z", "2025-01-06T00:00:00Z to 2025-01-06T00:09:00Z"],
        );
        assert_error(load_minutes(dir.path(), -100, 0, 0), "data.no_bars", &[&name, "to 2025-01-06T00:09:00Z"]);
    }
    // Rows on both sides, none in common.
    let dir = tempfile::tempdir().unwrap();
    write_pair(dir.path(), &[0, 2, 4], &[1, 3, 5], Format::Csv);
    assert_error(load_minutes(dir.path(), 0, 6, 0), "data.no_bars", &["share no timestamp", "EURUSD_M1_ASK.csv"]);
}

fn write_pair(root: &Path, bid: &[i64], ask: &[i64], format: Format) {
    match format {
        Format::Csv => {
            write_csv(root, Side::Bid, &csv_lines(bid.iter().copied(), false));
            write_csv(root, Side::Ask, &csv_lines(ask.iter().copied(), true));
        }
        Format::Parquet => {
            write_parquet_side(root, Side::Bid, bid, ParquetLayout::default());
            write_parquet_side(root, Side::Ask, ask, ParquetLayout::default());
        }
    }
}

// ---- semantics ----------------------------------------------------------------------------

#[test]
fn alignment_is_an_inner_join_with_counts() {
    for format in [Format::Csv, Format::Parquet] {
        let dir = tempfile::tempdir().unwrap();
        write_pair(dir.path(), &[0, 1, 2, 3], &[1, 2, 3, 4], format);
        let loaded = load_minutes(dir.path(), 0, 10, 0).unwrap();
        let a = &loaded.governance.alignment;
        assert_eq!((a.bid_rows, a.ask_rows, a.aligned_rows, a.dropped_bid_only, a.dropped_ask_only), (4, 4, 3, 1, 1));
        assert_eq!(loaded.bars.time_ns, [1, 2, 3].map(|i| t0() + i * MIN));
        assert_eq!(loaded.bars.bid.open[0], prices(1, false)[0]);
        assert_eq!(loaded.bars.ask.open[0], prices(1, true)[0]);
    }
}

#[test]
fn warmup_is_sliced_and_shortfall_reported() {
    for format in [Format::Csv, Format::Parquet] {
        let dir = tempfile::tempdir().unwrap();
        let minutes: Vec<i64> = (0..20).collect();
        write_pair(dir.path(), &minutes, &minutes, format);
        // 3 bars before the start, 5 wanted.
        let loaded = load_minutes(dir.path(), 3, 10, 5).unwrap();
        assert_eq!(loaded.first_trading_index, 3);
        assert_eq!(loaded.bars.time_ns[0], t0());
        assert_eq!(loaded.bars.time_ns[3], t0() + 3 * MIN);
        let w = &loaded.governance.warmup_shortfall;
        assert_eq!((w.requested_bars, w.available_bars, w.shortfall_bars), (5, 3, 2));
        // Enough history: exactly the requested bars are kept.
        let loaded = load_minutes(dir.path(), 12, 15, 4).unwrap();
        assert_eq!(loaded.first_trading_index, 4);
        assert_eq!(loaded.bars.len(), 7);
        assert_eq!(loaded.bars.time_ns[0], t0() + 8 * MIN);
        assert_eq!(loaded.governance.warmup_shortfall.shortfall_bars, 0);
    }
}

#[test]
fn warmup_reaches_across_a_long_hole() {
    // Ten bars, then nothing for 60 days: the first lookback pass misses them, the widened one not.
    let dir = tempfile::tempdir().unwrap();
    let late = 60 * 1440;
    let minutes: Vec<i64> = (0..10).chain(late..late + 10).collect();
    write_pair(dir.path(), &minutes, &minutes, Format::Parquet);
    let loaded = load_minutes(dir.path(), late, late + 10, 6).unwrap();
    assert_eq!(loaded.first_trading_index, 6);
    assert_eq!(loaded.bars.time_ns[0], t0() + 4 * MIN);
    assert_eq!(loaded.governance.warmup_shortfall.shortfall_bars, 0);
    // Alignment counts cover the requested range only.
    assert_eq!(loaded.governance.alignment.bid_rows, 10);
}

#[test]
fn warmup_counts_aligned_bars_when_sides_disagree_before_the_start() {
    // The ask lacks minutes 17 and 18: five aligned warmup bars reach back to minute 13.
    for format in [Format::Csv, Format::Parquet] {
        let dir = tempfile::tempdir().unwrap();
        let bid: Vec<i64> = (0..30).collect();
        let ask: Vec<i64> = (0..30).filter(|m| !(17..19).contains(m)).collect();
        write_pair(dir.path(), &bid, &ask, format);
        let loaded = load_minutes(dir.path(), 20, 30, 5).unwrap();
        assert_eq!(loaded.first_trading_index, 5);
        assert_eq!(loaded.bars.time_ns[..5], [13, 14, 15, 16, 19].map(|i| t0() + i * MIN));
        let a = &loaded.governance.alignment;
        assert_eq!((a.bid_rows, a.ask_rows, a.aligned_rows, a.dropped_bid_only), (10, 10, 10, 0));
    }
}

#[test]
fn range_start_is_inclusive_and_end_exclusive() {
    for format in [Format::Csv, Format::Parquet] {
        let dir = tempfile::tempdir().unwrap();
        let minutes: Vec<i64> = (0..10).collect();
        write_pair(dir.path(), &minutes, &minutes, format);
        let loaded = load_minutes(dir.path(), 2, 5, 0).unwrap();
        assert_eq!(loaded.bars.time_ns, [2, 3, 4].map(|i| t0() + i * MIN));
        assert_eq!(loaded.first_trading_index, 0);
        // A range between bar opens holds the bars that open inside it.
        let start = t0() + 2 * MIN + 1;
        let loaded = data::load(&request(dir.path(), start, t0() + 5 * MIN + 1, 1)).unwrap();
        assert_eq!(loaded.bars.time_ns, [2, 3, 4, 5].map(|i| t0() + i * MIN));
        assert_eq!(loaded.first_trading_index, 1);
    }
}

#[test]
fn gaps_are_counted_against_weekdays() {
    // Friday 2025-01-10 23:55 .. Monday 2025-01-13 00:05 in M1, with two holes on Monday.
    let dir = tempfile::tempdir().unwrap();
    let fri = 4 * 1440 + 23 * 60 + 55;
    let mon = 7 * 1440;
    let minutes: Vec<i64> = (fri..fri + 5).chain([mon, mon + 1, mon + 4, mon + 5, mon + 6, mon + 9]).collect();
    write_pair(dir.path(), &minutes, &minutes, Format::Csv);
    let loaded = load_minutes(dir.path(), fri, mon + 10, 0).unwrap();
    let g = &loaded.governance.gaps;
    assert_eq!(g.calendar, "fx_weekdays");
    assert_eq!((g.expected_bars, g.missing_bars, g.gap_count, g.largest_gap_bars), (15, 4, 2, 2));
}

#[test]
fn csv_dialects_are_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let minutes: Vec<i64> = (0..3).collect();
    write_pair(dir.path(), &minutes, &minutes, Format::Csv);
    let reference = load_minutes(dir.path(), 0, 3, 0).unwrap().bars;
    // Shuffled columns, an extra column, CRLF, a BOM, three timestamp spellings of the same instants.
    let rows = [("2025-01-06 00:00:00+00:00", 0), ("2025-01-06T02:01:00+02:00", 1), ("2025-01-05T23:02:00-01:00", 2)];
    let mut text = String::from("\u{feff}Volume,Close,extra,UTC time,Low,High,Open\r\n");
    for (stamp, i) in rows {
        let [o, h, l, c] = prices(i, false);
        text.push_str(&format!("10,{c},x,{stamp},{l},{h},{o}\r\n"));
    }
    std::fs::write(path_of(dir.path(), Side::Bid, Format::Csv), text).unwrap();
    assert_eq!(load_minutes(dir.path(), 0, 3, 0).unwrap().bars, reference);
}

#[test]
fn parquet_is_preferred_when_both_formats_exist() {
    let dir = tempfile::tempdir().unwrap();
    write_pair(dir.path(), &[0, 1, 2], &[0, 1, 2], Format::Csv);
    write_pair(dir.path(), &[0, 1], &[0, 1], Format::Parquet);
    let path = data::data_file_path(dir.path(), SYMBOL, Timeframe::M1, Side::Bid).unwrap();
    assert_eq!(path, path_of(dir.path(), Side::Bid, Format::Parquet));
    let loaded = load_minutes(dir.path(), 0, 3, 0).unwrap();
    assert_eq!(loaded.bars.len(), 2);
    let names: Vec<&str> = loaded.files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["EURUSD_M1_BID.parquet", "EURUSD_M1_ASK.parquet"]);
}

#[test]
fn file_digests_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    write_pair(dir.path(), &[0, 1, 2], &[0, 1, 2], Format::Csv);
    let loaded = load_minutes(dir.path(), 0, 3, 0).unwrap();
    for (digest, side) in loaded.files.iter().zip([Side::Bid, Side::Ask]) {
        let path = path_of(dir.path(), side, Format::Csv);
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(digest.sha256, data::sha256_hex(&bytes));
        assert_eq!(digest.bytes, bytes.len() as u64);
        assert_eq!(digest.path, path.display().to_string());
    }
}

// ---- synthetic data and format parity -----------------------------------------------------

fn synth_month(seed: u64) -> Bars {
    let start = parse_date("2025-03-01").unwrap();
    synth::generate_m1(&SynthSpec::eurusd(start, start + 31 * NANOS_PER_DAY, seed))
}

#[test]
fn csv_and_parquet_of_the_same_data_load_bit_identical() {
    let m1 = synth_month(11);
    let (start, end) = (parse_date("2025-03-10").unwrap(), parse_date("2025-03-20").unwrap());
    for tf in [Timeframe::M1, Timeframe::M5, Timeframe::H1] {
        let bars = if tf == Timeframe::M1 { m1.clone() } else { synth::aggregate(&m1, tf) };
        let loaded: Vec<LoadedData> = [Format::Csv, Format::Parquet]
            .into_iter()
            .map(|format| {
                let dir = tempfile::tempdir().unwrap();
                synth::write_dataset(dir.path(), SYMBOL, tf, &bars, format).unwrap();
                let req = LoadRequest {
                    source: DataSource::Files { root: dir.path() },
                    symbol: SYMBOL,
                    timeframe: tf,
                    start_ns: start,
                    end_ns: end,
                    warmup_bars: 50,
                    pip_size: PIP,
                };
                data::load(&req).unwrap()
            })
            .collect();
        let bits = |b: &Bars| {
            [&b.bid, &b.ask].map(|s| {
                [&s.open, &s.high, &s.low, &s.close].map(|c| c.iter().map(|x| x.to_bits()).collect::<Vec<_>>())
            })
        };
        assert_eq!(loaded[0].bars.time_ns, loaded[1].bars.time_ns);
        assert_eq!(bits(&loaded[0].bars), bits(&loaded[1].bars), "{tf:?}");
        assert_eq!(loaded[0].governance, loaded[1].governance);
        assert_eq!(loaded[0].first_trading_index, 50);
        // The loaded slice is exactly the generated bars around the range.
        let first = bars.time_ns.partition_point(|&t| t < start) - 50;
        assert_eq!(loaded[1].bars.bid.close[..], bars.bid.close[first..first + loaded[1].bars.len()]);
        let g = &loaded[0].governance;
        assert_eq!((g.gaps.missing_bars, g.alignment.dropped_bid_only, g.duplicates_dropped.bid), (0, 0, 0));
    }
}

#[test]
fn nullable_and_multi_row_group_parquet_load_identically() {
    let bars = synth_month(12);
    let (start, end) = (parse_date("2025-03-12").unwrap(), parse_date("2025-03-14").unwrap());
    let load_with = |layout: ParquetLayout| {
        let dir = tempfile::tempdir().unwrap();
        for (side, ohlc) in [(Side::Bid, &bars.bid), (Side::Ask, &bars.ask)] {
            let path = path_of(dir.path(), side, Format::Parquet);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            data::parquet::write_side(&path, &bars.time_ns, ohlc, &vec![1.0; bars.len()], layout).unwrap();
        }
        data::load(&request(dir.path(), start, end, 100)).unwrap()
    };
    let reference = load_with(ParquetLayout::default());
    assert_eq!(reference.bars.len(), 2 * 1440 + 100);
    for layout in [
        ParquetLayout { nullable: true, ..ParquetLayout::default() },
        ParquetLayout { nullable: false, row_group_rows: 1000 },
        ParquetLayout { nullable: true, row_group_rows: 777 },
    ] {
        let loaded = load_with(layout);
        assert_eq!(loaded.bars, reference.bars, "{layout:?}");
        assert_eq!(loaded.governance, reference.governance);
    }
}

#[test]
fn synth_is_deterministic_and_every_row_valid() {
    let (a, b, c) = (synth_month(5), synth_month(5), synth_month(6));
    assert_eq!(a, b);
    assert_ne!(a.bid.close, c.bid.close);
    for side in [&a.bid, &a.ask] {
        for i in 0..side.len() {
            let (o, h, l, cl) = (side.open[i], side.high[i], side.low[i], side.close[i]);
            assert!(o > 0.0 && l > 0.0 && h >= o.max(cl) && l <= o.min(cl), "row {i}");
        }
    }
    for (bid, ask) in
        [(&a.bid.open, &a.ask.open), (&a.bid.high, &a.ask.high), (&a.bid.low, &a.ask.low), (&a.bid.close, &a.ask.close)]
    {
        assert!(bid.iter().zip(ask).all(|(b, a)| b < a));
    }
    // Same seed -> byte-identical files; another seed -> different files; both load cleanly.
    let digests = |bars: &Bars, format: Format| {
        let dir = tempfile::tempdir().unwrap();
        let paths = synth::write_dataset(dir.path(), SYMBOL, Timeframe::M1, bars, format).unwrap();
        // Written atomically: no temporary file is left beside the two data files.
        assert_eq!(std::fs::read_dir(dir.path().join(SYMBOL)).unwrap().count(), 2);
        let (start, end) = (bars.time_ns[0], bars.time_ns[bars.len() - 1] + MIN);
        let loaded = data::load(&request(dir.path(), start, end, 0)).unwrap();
        assert_eq!(&loaded.bars, bars);
        paths.iter().map(|p| data::sha256_file(p).unwrap()).collect::<Vec<_>>()
    };
    for format in [Format::Csv, Format::Parquet] {
        assert_eq!(digests(&a, format), digests(&b, format));
        assert_ne!(digests(&a, format), digests(&c, format));
    }
}

#[test]
fn synth_weeks_have_no_weekend_bars_and_realistic_spreads() {
    let bars = synth_month(7);
    assert!(bars.time_ns.iter().all(|&t| omega_v2::timefmt::weekday(omega_v2::timefmt::day_of(t)) < 5));
    let pips: Vec<f64> = bars.bid.close.iter().zip(&bars.ask.close).map(|(b, a)| (a - b) / 1e-4).collect();
    let mean = pips.iter().sum::<f64>() / pips.len() as f64;
    let at_rollover: Vec<f64> = bars
        .time_ns
        .iter()
        .zip(&pips)
        .filter(|(t, _)| omega_v2::timefmt::minute_of_day(**t) == 22 * 60)
        .map(|(_, p)| *p)
        .collect();
    let rollover_mean = at_rollover.iter().sum::<f64>() / at_rollover.len() as f64;
    assert!((0.3..3.0).contains(&mean), "mean spread {mean} pips");
    assert!(rollover_mean > 2.0 * mean, "rollover spread {rollover_mean} vs {mean}");
}

// ---- robustness ---------------------------------------------------------------------------

/// Per test thread and format: a data root with a valid pair of minutes 0..8, and the valid bid
/// file's bytes (the fixture is built once; fuzz cases only overwrite the bid file).
struct Fixture {
    dir: tempfile::TempDir,
    valid_bid: Vec<u8>,
}

thread_local! {
    static FIXTURES: [Fixture; 2] = [Format::Csv, Format::Parquet].map(|format| {
        let dir = tempfile::tempdir().unwrap();
        let minutes: Vec<i64> = (0..8).collect();
        write_pair(dir.path(), &minutes, &minutes, format);
        let valid_bid = std::fs::read(path_of(dir.path(), Side::Bid, format)).unwrap();
        Fixture { dir, valid_bid }
    });
}

fn with_fixture<R>(format: Format, f: impl FnOnce(&Fixture) -> R) -> R {
    FIXTURES.with(|fixtures| f(&fixtures[usize::from(format == Format::Parquet)]))
}

/// Writes `bytes` as the bid file (ask valid) and loads; any outcome but a panic is fine.
fn load_bytes(format: Format, bytes: &[u8]) {
    with_fixture(format, |fixture| {
        std::fs::write(path_of(fixture.dir.path(), Side::Bid, format), bytes).unwrap();
        let _ = load_minutes(fixture.dir.path(), 0, 8, 2);
    });
}

fn valid_bytes(format: Format) -> Vec<u8> {
    with_fixture(format, |fixture| fixture.valid_bid.clone())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn loaders_never_panic_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..600), parquet in any::<bool>()) {
        let format = if parquet { Format::Parquet } else { Format::Csv };
        let mut bytes = bytes;
        if parquet && bytes.len() >= 8 {
            // Give the parquet reader a magic header and footer so it gets past the first check.
            bytes[..4].copy_from_slice(b"PAR1");
            let n = bytes.len();
            bytes[n - 4..].copy_from_slice(b"PAR1");
        }
        load_bytes(format, &bytes);
    }

    #[test]
    fn loaders_never_panic_on_corrupted_files(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
        parquet in any::<bool>(),
    ) {
        let format = if parquet { Format::Parquet } else { Format::Csv };
        let mut bytes = valid_bytes(format);
        for (at, value) in edits {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        if truncate {
            bytes.truncate(cut.index(bytes.len()));
        }
        load_bytes(format, &bytes);
    }
}

#[test]
fn every_single_byte_corruption_of_a_parquet_file_is_handled() {
    let original = valid_bytes(Format::Parquet);
    for i in 0..original.len() {
        for value in [0x00, 0xff, original[i] ^ 0x01] {
            let mut bytes = original.clone();
            bytes[i] = value;
            load_bytes(Format::Parquet, &bytes);
        }
    }
}

// --------------------------------------------------------------------------------------
// The data cache of a sweep's runs

/// Files changed within a second before a load are not kept (their times could hide a rewrite).
fn settle() {
    std::thread::sleep(std::time::Duration::from_millis(1100));
}

#[test]
fn a_kept_load_is_served_while_its_files_stay_the_same() {
    use data::{LoadCache, Served};
    let dir = tempfile::tempdir().unwrap();
    csv_pair(dir.path(), &csv_lines(0..120, false), 120);
    settle();
    let req = request(dir.path(), t0() + 10 * MIN, t0() + 100 * MIN, 5);
    let cache = LoadCache::new();
    let (first, served) = cache.load(&req, &|| false).unwrap();
    assert_eq!(served, Served::Loaded);
    assert_eq!(first.bars, data::load(&req).unwrap().bars);
    let (again, served) = cache.load(&req, &|| false).unwrap();
    assert_eq!(served, Served::Reused);
    assert!(Arc::ptr_eq(&first, &again), "the kept bars are shared, not copied");
    // Any other span, warmup or timeframe is a load of its own.
    for other in [
        request(dir.path(), t0() + 11 * MIN, t0() + 100 * MIN, 5),
        request(dir.path(), t0() + 10 * MIN, t0() + 100 * MIN, 6),
        LoadRequest { timeframe: Timeframe::M5, ..req },
    ] {
        let missing = other.timeframe == Timeframe::M5;
        match cache.load(&other, &|| false) {
            Ok((_, served)) => assert!(!missing && served == Served::Loaded),
            Err(e) => assert!(missing && e.code.as_str() == "data.missing_file", "{e}"),
        }
    }
    assert_eq!(cache.len(), 3, "failed loads are not kept");

    // The bid file rewritten with lower prices: read again.
    let lower: Vec<String> = (0..120).map(|i| csv_line(t0() + i * MIN, prices(i, false).map(|p| p - 1e-4))).collect();
    write_csv(dir.path(), Side::Bid, &lower);
    let (fresh, served) = cache.load(&req, &|| false).unwrap();
    assert_eq!(served, Served::Loaded);
    assert_ne!(fresh.bars.bid.close, first.bars.bid.close);
    assert_ne!(fresh.files[0].sha256, first.files[0].sha256);
    // Gone: the load fails as without a cache, never served from it.
    std::fs::remove_dir_all(dir.path().join(SYMBOL)).unwrap();
    assert_error(cache.load(&req, &|| false).map(|(d, _)| (*d).clone()), "data.missing_file", &[]);
}

#[test]
fn files_changed_just_before_their_load_are_not_kept() {
    use data::{LoadCache, Served};
    let dir = tempfile::tempdir().unwrap();
    csv_pair(dir.path(), &csv_lines(0..120, false), 120);
    let req = request(dir.path(), t0(), t0() + 100 * MIN, 0);
    let cache = LoadCache::new();
    // Their times could not show a rewrite in the same tick as the read.
    assert_eq!(cache.load(&req, &|| false).unwrap().1, Served::Loaded);
    assert_eq!(cache.load(&req, &|| false).unwrap().1, Served::Loaded);
}

#[test]
fn the_cache_keeps_the_last_loads_only_and_never_frames() {
    use data::{LoadCache, Served};
    let dir = tempfile::tempdir().unwrap();
    csv_pair(dir.path(), &csv_lines(0..120, false), 120);
    settle();
    let cache = LoadCache::new();
    let spans: Vec<_> =
        (0..=data::CACHE_CAPACITY as i64).map(|k| request(dir.path(), t0() + k * MIN, t0() + 100 * MIN, 0)).collect();
    for req in &spans {
        assert_eq!(cache.load(req, &|| false).unwrap().1, Served::Loaded);
    }
    assert_eq!(cache.len(), data::CACHE_CAPACITY);
    assert_eq!(cache.load(spans.last().unwrap(), &|| false).unwrap().1, Served::Reused);
    assert_eq!(cache.load(&spans[0], &|| false).unwrap().1, Served::Loaded, "the oldest went first");

    let loaded = data::load(&spans[0]).unwrap();
    let (bid, ask) = (&loaded.bars.bid, &loaded.bars.ask);
    let times = &loaded.bars.time_ns;
    let [bid, ask] = [bid, ask].map(|o| data::SideArrays {
        time_ns: times,
        open: &o.open,
        high: &o.high,
        low: &o.low,
        close: &o.close,
    });
    let frames = LoadRequest { source: DataSource::Frames { bid, ask }, ..spans[0] };
    let before = cache.len();
    for _ in 0..2 {
        assert_eq!(cache.load(&frames, &|| false).unwrap().1, Served::Loaded);
    }
    assert_eq!(cache.len(), before);
}

#[test]
fn the_cache_knows_a_data_root_by_where_it_resolves() {
    use data::{LoadCache, Served};
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    csv_pair(&a, &csv_lines(0..120, false), 120);
    std::os::unix::fs::symlink(&a, &b).unwrap();
    settle();
    let cache = LoadCache::new();
    let span = |root| request(root, t0() + 10 * MIN, t0() + 100 * MIN, 0);
    assert_eq!(cache.load(&span(&a), &|| false).unwrap().1, Served::Loaded);
    assert_eq!(cache.load(&span(&b), &|| false).unwrap().1, Served::Reused, "the same directory");
    assert_error(
        cache.load(&span(&dir.path().join("c")), &|| false).map(|(d, _)| (*d).clone()),
        "data.missing_file",
        &[],
    );
    assert_eq!(cache.len(), 1);
}
