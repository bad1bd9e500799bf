//! In-memory frames: each side's columns handed over as borrowed slices (see [`SideArrays`]).
//! Rows go through the same [`SideBuilder`] as file rows, in chunks, so windowing, validation and
//! duplicate handling are those of the files; identity is a digest of the canonical byte layout
//! documented in the `data` module docs.

use sha2::{Digest, Sha256};

use super::csv::TIME_COLUMN;
use super::manifest::hex;
use super::messages::{origin_error, row_error, Origin, RowDetail, RowRef};
use super::side::{columns_mut, PriceBounds, SideBuilder, SideData, Window};
use super::{FileDigest, Side, SideArrays};
use crate::error::{ErrorCode, Result};
use crate::market::Timeframe;

/// First bytes of the canonical layout; the version changes if the layout ever does.
const FRAME_LAYOUT_HEADER: &[u8] = b"omega-v2 frame v1\n";

/// pandas' `NaT` as int64 nanoseconds.
const NAT: i64 = i64::MIN;

/// Rows handed to the builder at a time: bounds the work done past the window's end.
const CHUNK_ROWS: usize = 1 << 16;

/// `data.frame_shape` unless all five columns of the side have the same length.
pub(crate) fn check_shape(side: Side, arrays: &SideArrays) -> Result<()> {
    let lengths = [arrays.time_ns.len(), arrays.open.len(), arrays.high.len(), arrays.low.len(), arrays.close.len()];
    if lengths.iter().all(|&n| n == lengths[0]) {
        return Ok(());
    }
    let [time, open, high, low, close] = lengths;
    Err(origin_error(
        ErrorCode::DataFrameShape,
        Origin::Frame(side),
        format_args!(
            "its columns differ in length (time {time}, Open {open}, High {high}, Low {low}, Close {close}); every column needs one value per row"
        ),
    ))
}

/// The kept rows of one frame side, validated like a file's (the shape is checked already).
pub(crate) fn read_side(side: Side, arrays: &SideArrays, window: Window, prices: PriceBounds) -> Result<SideData> {
    let origin = Origin::Frame(side);
    let at = |i: usize| RowRef { row: i as u64, detail: RowDetail::FrameTime(arrays.time_ns[i]) };
    let mut builder = SideBuilder::new(origin, window, prices, arrays.len());
    for first in (0..arrays.len()).step_by(CHUNK_ROWS) {
        if builder.done() {
            break;
        }
        let times = &arrays.time_ns[first..(first + CHUNK_ROWS).min(arrays.len())];
        if let Some(k) = times.iter().position(|&t| t == NAT) {
            let what = "missing timestamp (NaT); every row needs its bar's open time";
            return Err(row_error(ErrorCode::DataNullValue, origin, at(first + k), Some(TIME_COLUMN), what));
        }
        let kept = builder.place_batch(times, |k| at(first + k))?;
        if kept.is_empty() {
            continue;
        }
        let rows = first + kept.start..first + kept.end;
        let first_new = builder.len();
        builder.time_ns.extend_from_slice(&arrays.time_ns[rows.clone()]);
        for (out, column) in columns_mut(&mut builder.ohlc).into_iter().zip(arrays.price_columns()) {
            out.extend_from_slice(&column[rows.clone()]);
        }
        builder.accept_tail(first_new, |k| at(rows.start + k))?;
    }
    builder.finish()
}

/// The frame side's identity for the manifest: SHA-256 over its canonical byte layout, fed
/// column by column through a small buffer (the frame is never copied whole).
pub(crate) fn digest(symbol: &str, timeframe: Timeframe, side: Side, arrays: &SideArrays) -> FileDigest {
    let bytes = FRAME_LAYOUT_HEADER.len() as u64 + 8 + 40 * arrays.len() as u64;
    let side_name = side.as_str();
    FileDigest {
        path: format!("<in-memory {} frame>", side_name.to_ascii_lowercase()),
        name: format!("{symbol}_{}_{side_name}.frame", timeframe.as_str()),
        bytes,
        sha256: frame_sha256(arrays),
    }
}

/// SHA-256 of a frame side's canonical byte layout (what the manifest records for it).
pub fn frame_sha256(arrays: &SideArrays) -> String {
    let mut hasher = Sha256::new();
    hasher.update(FRAME_LAYOUT_HEADER);
    hasher.update((arrays.len() as u64).to_le_bytes());
    feed(&mut hasher, arrays.time_ns, i64::to_le_bytes);
    for column in arrays.price_columns() {
        feed(&mut hasher, column, f64::to_le_bytes);
    }
    hex(&hasher.finalize())
}

fn feed<T: Copy>(hasher: &mut Sha256, values: &[T], to_le_bytes: fn(T) -> [u8; 8]) {
    const VALUES: usize = 1024;
    let mut buffer = [0u8; 8 * VALUES];
    for chunk in values.chunks(VALUES) {
        for (out, &value) in buffer.chunks_exact_mut(8).zip(chunk) {
            out.copy_from_slice(&to_le_bytes(value));
        }
        hasher.update(&buffer[..8 * chunk.len()]);
    }
}
