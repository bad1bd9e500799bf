//! Parquet data files through the low-level column reader (no arrow; see
//! notes/data-loading.md). Columns are found by name in every row group; row groups whose
//! `UTC time` statistics lie outside the window are skipped undecoded; inside a group, batch by
//! batch, the time column is decoded first and only the kept row span of the price columns is
//! read, straight into the output columns. `Volume` must exist but is never decoded.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use ::parquet::basic::{
    Compression, CompressionCodec, ConvertedType, LogicalType, Repetition, TimeUnit, Type as PhysicalType,
};
use ::parquet::column::reader::ColumnReaderImpl;
use ::parquet::data_type::{DataType, DoubleType, Int64Type};
use ::parquet::errors::ParquetError;
use ::parquet::file::metadata::RowGroupMetaData;
use ::parquet::file::properties::WriterProperties;
use ::parquet::file::reader::{FileReader, RowGroupReader, SerializedFileReader};
use ::parquet::file::statistics::Statistics;
use ::parquet::file::writer::SerializedFileWriter;
use ::parquet::schema::types::{ColumnDescriptor, Type};

use super::csv::{missing_column, REQUIRED_COLUMNS, TIME_COLUMN};
use super::messages::{detail, file_error, row_error, Origin, RowDetail, RowRef};
use super::side::{columns_mut, PriceBounds, SideBuilder, SideData, Window};
use crate::error::{EngineError, ErrorCode, Result};
use crate::market::Ohlc;

/// Plain int64 timestamps (files and frames) are taken as ns only within 1973..2099 (1e17..4.1e18
/// ns); seconds, milliseconds and microseconds since the epoch all fall below this range.
pub const PLAUSIBLE_NS: std::ops::RangeInclusive<i64> = 100_000_000_000_000_000..=4_100_000_000_000_000_000;

/// The unit a plain int64 timestamp outside [`PLAUSIBLE_NS`] seems to be in (None inside it).
pub fn implausible_ns_unit(v: i64) -> Option<&'static str> {
    if PLAUSIBLE_NS.contains(&v) {
        return None;
    }
    Some(match v.unsigned_abs() {
        0..=99_999_999_999 => "seconds",
        100_000_000_000..=99_999_999_999_999 => "milliseconds",
        100_000_000_000_000..=99_999_999_999_999_999 => "microseconds",
        _ => "an out-of-range value",
    })
}

/// pyarrow's default row-group size; our writer uses it too.
pub const DEFAULT_ROW_GROUP_ROWS: usize = 1 << 20;

pub(crate) fn read_side(path: &Path, window: Window, prices: PriceBounds) -> Result<SideData> {
    // Backstop for untrusted bytes: the parquet crate asserts on some corrupt metadata (the ones
    // we know of are checked first, see `check_chunks`); a panic must still become a data error.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| read_file(path, window, prices))).unwrap_or_else(|panic| {
        let why = panic.downcast_ref::<&str>().copied().or_else(|| panic.downcast_ref::<String>().map(|s| &s[..]));
        Err(file_error(
            ErrorCode::DataMalformed,
            path,
            format_args!(
                "the parquet decoder failed on this file ({}); the file is corrupt",
                detail(why.unwrap_or_default())
            ),
        ))
    })
}

fn read_file(path: &Path, window: Window, prices: PriceBounds) -> Result<SideData> {
    let file = File::open(path).map_err(|e| file_error(ErrorCode::DataIo, path, format_args!("cannot open: {e}")))?;
    let file_len =
        file.metadata().map_err(|e| file_error(ErrorCode::DataIo, path, format_args!("cannot stat: {e}")))?.len();
    let reader = SerializedFileReader::new(file).map_err(|e| {
        file_error(ErrorCode::DataMalformed, path, format_args!("not a readable parquet file: {}", detail(e)))
    })?;
    let metadata = reader.metadata();
    let layout = Layout::of(metadata.file_metadata().schema_descr().columns(), path)?;
    let max_rows = usize::try_from(metadata.file_metadata().num_rows()).unwrap_or(0);

    let mut side = SideBuilder::new(Origin::File(path), window, prices, max_rows);
    let mut scratch = GroupScratch::default();
    let mut first_row = 0u64;
    for (g, group_meta) in metadata.row_groups().iter().enumerate() {
        let rows = usize::try_from(group_meta.num_rows()).map_err(|_| {
            file_error(ErrorCode::DataMalformed, path, format_args!("row group {g} has a negative row count"))
        })?;
        let group_first_row = first_row;
        first_row = first_row.saturating_add(rows as u64);
        if side.done() {
            break;
        }
        if let Some((min, max)) = layout.time_range(group_meta) {
            if max < window.lower || min >= window.end {
                side.note_skipped(min, max);
                continue;
            }
        }
        layout.check_chunks(group_meta, path, g, file_len)?;
        let group = reader.get_row_group(g).map_err(|e| decode_error(path, g, TIME_COLUMN, e))?;
        let source = GroupSource { group: group.as_ref(), path, index: g, first_row: group_first_row, rows };
        read_group(&source, &layout, &mut side, &mut scratch)?;
    }
    side.finish()
}

/// Reusable buffers across row groups: one batch of the time column and definition levels.
#[derive(Default)]
struct GroupScratch {
    time_ns: Vec<i64>,
    levels: Vec<i16>,
}

/// Rows decoded per batch: keeps the scratch small and the batch's prices in cache while they
/// are validated, and lets reading stop within a group once the window's end is passed.
const BATCH_ROWS: usize = 1 << 14;

/// One row group being read, with what error messages need to locate its rows.
struct GroupSource<'a> {
    group: &'a dyn RowGroupReader,
    path: &'a Path,
    index: usize,
    /// Rows of the file before this group.
    first_row: u64,
    rows: usize,
}

impl GroupSource<'_> {
    fn at(&self, i: usize) -> RowRef {
        RowRef { row: self.first_row + i as u64 + 1, detail: RowDetail::RowGroup(self.index) }
    }
}

/// Reads a group batch by batch: the time column first, then only the kept span of the prices,
/// straight into the side's columns (price readers open on the first kept row).
fn read_group(source: &GroupSource, layout: &Layout, side: &mut SideBuilder, scratch: &mut GroupScratch) -> Result<()> {
    let mut time = Cursor::<Int64Type>::open(source, &layout.time)?;
    let mut prices: Option<[Cursor<DoubleType>; 4]> = None;
    let mut first = 0;
    while first < source.rows && !side.done() {
        let count = BATCH_ROWS.min(source.rows - first);
        scratch.time_ns.clear();
        time.read(count, &mut scratch.time_ns, &mut scratch.levels)?;
        layout.time.encoding.to_ns(&mut scratch.time_ns, source, first)?;
        let kept = side.place_batch(&scratch.time_ns, |k| source.at(first + k))?;
        if !kept.is_empty() {
            let rows = first + kept.start..first + kept.end;
            let cursors = match &mut prices {
                Some(cursors) => cursors,
                None => prices.insert(open_prices(source, layout)?),
            };
            let first_new = side.len();
            side.time_ns.extend_from_slice(&scratch.time_ns[kept]);
            for (cursor, out) in cursors.iter_mut().zip(columns_mut(&mut side.ohlc)) {
                cursor.skip_to(rows.start)?;
                cursor.read(rows.len(), out, &mut scratch.levels)?;
            }
            side.accept_tail(first_new, |k| source.at(rows.start + k))?;
        }
        first += count;
    }
    Ok(())
}

fn open_prices<'a>(source: &'a GroupSource<'a>, layout: &'a Layout) -> Result<[Cursor<'a, DoubleType>; 4]> {
    let [open, high, low, close] = &layout.prices;
    Ok([
        Cursor::open(source, open)?,
        Cursor::open(source, high)?,
        Cursor::open(source, low)?,
        Cursor::open(source, close)?,
    ])
}

/// One column of a row group, read front to back.
struct Cursor<'a, T: DataType> {
    reader: ColumnReaderImpl<T>,
    source: &'a GroupSource<'a>,
    column: &'a Column,
    /// Rows consumed so far.
    position: usize,
}

impl<'a, T: DataType> Cursor<'a, T> {
    fn open(source: &'a GroupSource<'a>, column: &'a Column) -> Result<Self> {
        let untyped = source
            .group
            .get_column_reader(column.index)
            .map_err(|e| decode_error(source.path, source.index, &column.name, e))?;
        let reader = T::get_column_reader(untyped).ok_or_else(|| {
            EngineError::new(ErrorCode::Internal, format!("column `{}` changed type while reading", column.name))
        })?;
        Ok(Self { reader, source, column, position: 0 })
    }

    fn skip_to(&mut self, row: usize) -> Result<()> {
        let skip = row - self.position;
        if skip > 0
            && self
                .reader
                .skip_records(skip)
                .map_err(|e| decode_error(self.source.path, self.source.index, &self.column.name, e))?
                != skip
        {
            return Err(self.truncated());
        }
        self.position = row;
        Ok(())
    }

    /// Appends the next `count` rows to `out`; a null is `data.null_value`.
    fn read(&mut self, count: usize, out: &mut Vec<T::T>, levels: &mut Vec<i16>) -> Result<()> {
        let before = out.len();
        levels.clear();
        let mut records = 0;
        while records < count {
            let (read, _, _) = self
                .reader
                .read_records(count - records, Some(levels), None, out)
                .map_err(|e| decode_error(self.source.path, self.source.index, &self.column.name, e))?;
            if read == 0 {
                return Err(self.truncated());
            }
            records += read;
        }
        if out.len() - before < count {
            let null_at = levels.iter().position(|&l| l < self.column.max_def_level).unwrap_or(0);
            return Err(row_error(
                ErrorCode::DataNullValue,
                Origin::File(self.source.path),
                self.source.at(self.position + null_at),
                Some(&self.column.name),
                "null value; every row needs a value in every column",
            ));
        }
        self.position += count;
        Ok(())
    }

    fn truncated(&self) -> EngineError {
        file_error(
            ErrorCode::DataMalformed,
            self.source.path,
            format_args!("column `{}` in row group {} has fewer values than rows", self.column.name, self.source.index),
        )
    }
}

fn decode_error(path: &Path, group: usize, column: &str, err: ParquetError) -> EngineError {
    file_error(
        ErrorCode::DataMalformed,
        path,
        format_args!("cannot decode column `{column}` in row group {group}: {}", detail(err)),
    )
}

/// How `UTC time` is stored.
#[derive(Debug, Clone, Copy)]
enum TimeEncoding {
    /// A UTC-adjusted timestamp; the factor converts its unit to ns.
    Timestamp { ns_per_unit: i64 },
    /// Plain int64, taken as ns since the epoch after a range check.
    PlainNs,
}

impl TimeEncoding {
    fn to_ns_value(self, v: i64) -> Option<i64> {
        match self {
            TimeEncoding::Timestamp { ns_per_unit } => v.checked_mul(ns_per_unit),
            TimeEncoding::PlainNs => PLAUSIBLE_NS.contains(&v).then_some(v),
        }
    }

    /// Converts the group's rows `first..` in place.
    fn to_ns(self, values: &mut [i64], source: &GroupSource, first: usize) -> Result<()> {
        if let TimeEncoding::Timestamp { ns_per_unit: 1 } = self {
            return Ok(());
        }
        for (i, v) in values.iter_mut().enumerate() {
            *v = self.to_ns_value(*v).ok_or_else(|| implausible_time(self, *v, source.path, source.at(first + i)))?;
        }
        Ok(())
    }
}

fn implausible_time(encoding: TimeEncoding, v: i64, path: &Path, at: RowRef) -> EngineError {
    let hint = match encoding {
        TimeEncoding::Timestamp { .. } => "the timestamp does not fit in i64 nanoseconds".to_string(),
        TimeEncoding::PlainNs => {
            let unit = implausible_ns_unit(v).unwrap_or("an out-of-range value");
            format!(
                "plain int64 timestamps are read as nanoseconds since the epoch (years 1973-2099), and {v} looks like {unit}; write a timestamp[ns, tz=UTC] column or convert to ns"
            )
        }
    };
    row_error(ErrorCode::DataUnsupportedType, Origin::File(path), at, Some(TIME_COLUMN), hint)
}

/// A needed column: leaf index, name and nullability.
#[derive(Debug, Clone)]
struct Column {
    index: usize,
    name: String,
    max_def_level: i16,
}

/// Where the needed columns are and how time is encoded.
struct Layout {
    time: TimeColumn,
    prices: [Column; 4],
    volume: Column,
}

struct TimeColumn {
    column: Column,
    encoding: TimeEncoding,
}

impl std::ops::Deref for TimeColumn {
    type Target = Column;
    fn deref(&self) -> &Column {
        &self.column
    }
}

impl Layout {
    fn of(columns: &[Arc<ColumnDescriptor>], path: &Path) -> Result<Self> {
        let names: Vec<String> = columns.iter().map(|c| c.path().string()).collect();
        let find = |wanted: &str| -> Result<(Column, &ColumnDescriptor)> {
            let index = names.iter().position(|n| n == wanted).ok_or_else(|| missing_column(path, wanted, &names))?;
            let descr = columns[index].as_ref();
            if descr.max_rep_level() > 0 {
                return Err(unsupported(path, wanted, "is a repeated (list) column; a plain value per row is needed"));
            }
            Ok((Column { index, name: wanted.to_string(), max_def_level: descr.max_def_level() }, descr))
        };
        let (time, time_descr) = find(TIME_COLUMN)?;
        let encoding = time_encoding(time_descr, path)?;
        let price = |name: &str| -> Result<Column> {
            let (column, descr) = find(name)?;
            match (descr.physical_type(), descr.logical_type_ref()) {
                (PhysicalType::DOUBLE, None) => Ok(column),
                (PhysicalType::FLOAT, _) => {
                    Err(unsupported(path, name, "is float32, which loses price precision; write float64 (double)"))
                }
                (physical, logical) => Err(unsupported(
                    path,
                    name,
                    format_args!("has type {physical:?} {logical:?}; prices must be float64 (double)"),
                )),
            }
        };
        let prices = [price("Open")?, price("High")?, price("Low")?, price("Close")?];
        let (volume, volume_descr) = find(REQUIRED_COLUMNS[5])?;
        if !matches!(
            volume_descr.physical_type(),
            PhysicalType::DOUBLE | PhysicalType::FLOAT | PhysicalType::INT64 | PhysicalType::INT32
        ) {
            return Err(unsupported(path, "Volume", "is not numeric"));
        }
        Ok(Self { time: TimeColumn { column: time, encoding }, prices, volume })
    }

    /// `UTC time` min/max of a row group in ns, when its statistics say so.
    fn time_range(&self, group: &RowGroupMetaData) -> Option<(i64, i64)> {
        match group.column(self.time.index).statistics()? {
            Statistics::Int64(s) => {
                let convert = |v: &i64| self.time.encoding.to_ns_value(*v);
                Some((convert(s.min_opt()?)?, convert(s.max_opt()?)?))
            }
            _ => None,
        }
    }

    /// Checks the needed column chunks before decoding: a codec this build lacks would fail deep
    /// in decoding with a terse message, and the parquet crate panics on negative chunk offsets.
    fn check_chunks(&self, group: &RowGroupMetaData, path: &Path, index: usize, file_len: u64) -> Result<()> {
        let columns = std::iter::once(&*self.time).chain(&self.prices).chain(std::iter::once(&self.volume));
        for column in columns {
            let chunk = group.column(column.index);
            let start = chunk.dictionary_page_offset().unwrap_or_else(|| chunk.data_page_offset());
            let len = chunk.compressed_size();
            let in_file =
                start >= 0 && len >= 0 && (start as u64).checked_add(len as u64).is_some_and(|end| end <= file_len);
            if !in_file {
                return Err(file_error(
                    ErrorCode::DataMalformed,
                    path,
                    format_args!(
                        "column `{}` in row group {index} points outside the file; the file is corrupt",
                        column.name
                    ),
                ));
            }
            let codec = chunk.compression_codec();
            if !matches!(codec, CompressionCodec::UNCOMPRESSED | CompressionCodec::SNAPPY | CompressionCodec::ZSTD) {
                return Err(file_error(
                    ErrorCode::DataUnsupportedCodec,
                    path,
                    format_args!(
                        "column `{}` in row group {index} is compressed with {codec:?}, which this build cannot read (snappy, zstd or none); rewrite it, e.g. df.to_parquet(path, compression=\"snappy\")",
                        column.name
                    ),
                )
                .with("column", &column.name));
            }
        }
        Ok(())
    }
}

fn time_encoding(descr: &ColumnDescriptor, path: &Path) -> Result<TimeEncoding> {
    let unit_ns = |unit: &TimeUnit| match unit {
        TimeUnit::MILLIS => 1_000_000,
        TimeUnit::MICROS => 1_000,
        TimeUnit::NANOS => 1,
    };
    match (descr.physical_type(), descr.logical_type_ref(), descr.converted_type()) {
        (PhysicalType::INT64, Some(LogicalType::Timestamp(t)), _) if t.is_adjusted_to_u_t_c => {
            Ok(TimeEncoding::Timestamp { ns_per_unit: unit_ns(&t.unit) })
        }
        (PhysicalType::INT64, Some(LogicalType::Timestamp(_)), _) => Err(file_error(
            ErrorCode::DataNaiveTimestamp,
            path,
            "column `UTC time` holds naive timestamps (isAdjustedToUTC=false); the engine never guesses a time zone; write timestamps with +00:00 or as UTC-adjusted parquet (e.g. pandas tz='UTC')",
        )
        .with("column", TIME_COLUMN)),
        // Legacy converted types without a logical type are UTC-adjusted by definition.
        (PhysicalType::INT64, None, ConvertedType::TIMESTAMP_MILLIS) => Ok(TimeEncoding::Timestamp { ns_per_unit: 1_000_000 }),
        (PhysicalType::INT64, None, ConvertedType::TIMESTAMP_MICROS) => Ok(TimeEncoding::Timestamp { ns_per_unit: 1_000 }),
        (PhysicalType::INT64, None, ConvertedType::NONE | ConvertedType::INT_64) => Ok(TimeEncoding::PlainNs),
        (PhysicalType::INT64, Some(LogicalType::Integer(i)), _) if i.bit_width == 64 && i.is_signed => {
            Ok(TimeEncoding::PlainNs)
        }
        (PhysicalType::INT96, ..) => Err(unsupported(
            path,
            TIME_COLUMN,
            "uses legacy INT96 timestamps; write timestamp[ns, tz=UTC] (pyarrow: coerce_timestamps='us' or the default)",
        )),
        (physical, logical, _) => Err(unsupported(
            path,
            TIME_COLUMN,
            format_args!("has type {physical:?} {logical:?}; expected timestamp[ns|us|ms, tz=UTC] or int64 ns since the epoch"),
        )),
    }
}

fn unsupported(path: &Path, column: &str, what: impl std::fmt::Display) -> EngineError {
    file_error(ErrorCode::DataUnsupportedType, path, format_args!("column `{column}` {what}")).with("column", column)
}

/// Shape of a written parquet file.
#[derive(Debug, Clone, Copy)]
pub struct ParquetLayout {
    /// OPTIONAL columns (all values present), as pandas writes them.
    pub nullable: bool,
    pub row_group_rows: usize,
}

impl Default for ParquetLayout {
    fn default() -> Self {
        Self { nullable: false, row_group_rows: DEFAULT_ROW_GROUP_ROWS }
    }
}

/// Writes one side atomically: `UTC time` INT64 TIMESTAMP(NANOS, UTC), prices and `Volume`
/// DOUBLE, snappy.
pub fn write_side(path: &Path, time_ns: &[i64], ohlc: &Ohlc, volume: &[f64], layout: ParquetLayout) -> Result<()> {
    let err = |e: ParquetError| {
        EngineError::new(crate::error::ErrorCode::OutputIo, format!("cannot write {}: {e}", path.display()))
            .with_file(path)
    };
    let schema = Arc::new(schema(layout.nullable).map_err(err)?);
    let props = Arc::new(WriterProperties::builder().set_compression(Compression::SNAPPY).build());
    super::write_atomically(path, |out| {
        let mut writer = SerializedFileWriter::new(out, schema, props).map_err(err)?;
        let doubles = [&ohlc.open, &ohlc.high, &ohlc.low, &ohlc.close].map(Vec::as_slice);
        let defined = vec![1i16; layout.row_group_rows.min(time_ns.len())];
        for start in (0..time_ns.len()).step_by(layout.row_group_rows.max(1)) {
            let rows = start..(start + layout.row_group_rows).min(time_ns.len());
            let levels = layout.nullable.then(|| &defined[..rows.len()]);
            let mut group = writer.next_row_group().map_err(err)?;
            let mut column = group.next_column().map_err(err)?.expect("schema has a time column");
            column.typed::<Int64Type>().write_batch(&time_ns[rows.clone()], levels, None).map_err(err)?;
            column.close().map_err(err)?;
            for values in doubles.iter().chain([&volume]) {
                let mut column = group.next_column().map_err(err)?.expect("schema has price columns");
                column.typed::<DoubleType>().write_batch(&values[rows.clone()], levels, None).map_err(err)?;
                column.close().map_err(err)?;
            }
            group.close().map_err(err)?;
        }
        writer.into_inner().map_err(err)?.into_inner().map_err(|e| EngineError::output_io("write", path, e.error()))
    })
}

fn schema(nullable: bool) -> std::result::Result<Type, ParquetError> {
    let repetition = if nullable { Repetition::OPTIONAL } else { Repetition::REQUIRED };
    let time = Type::primitive_type_builder(TIME_COLUMN, PhysicalType::INT64)
        .with_repetition(repetition)
        .with_logical_type(Some(LogicalType::timestamp(true, TimeUnit::NANOS)))
        .build()?;
    let mut fields = vec![Arc::new(time)];
    for name in &REQUIRED_COLUMNS[1..] {
        fields.push(Arc::new(
            Type::primitive_type_builder(name, PhysicalType::DOUBLE).with_repetition(repetition).build()?,
        ));
    }
    Type::group_type_builder("schema").with_fields(fields).build()
}
