//! `signals`: entries and exits given as columns (a signals frame, like vectorbt's
//! `from_signals`), traded with the engine's own rules (see `docs/strategies.md`).
//!
//! At the close of bar t, after that bar's SL/TP exits and trade management: holding long,
//! `enter_short` reverses to short, else `exit_long` exits; holding short, `enter_long` reverses
//! to long, else `exit_short` exits; flat, `enter_long` enters long, else `enter_short` enters
//! short. Entries are market orders at the close of the entry side. Size: the row's `size_lots`,
//! else risk sizing when it has a stop loss, else the `size_lots` parameter.

use std::borrow::Cow;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::{invalid_parameter, Build, Strategy, StrategyInput};
use crate::domain::{Action, Direction, OrderKind, Signal, Sizing, Snapshot};
use crate::error::{EngineError, ErrorCode, Result};
use crate::market::Bars;
use crate::timefmt::format_iso;

const NAME: &str = "signals";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignalsParams {
    /// Lots of an entry whose row has no `size_lots` and no stop loss.
    pub size_lots: f64,
    pub cooldown_bars: usize,
}

/// The columns of a signals frame as given (sorted by time, one row per bar at most). A missing
/// flag column is all false; a missing level column is all NaN (none).
#[derive(Default)]
pub struct SignalColumns<'a> {
    pub time_ns: &'a [i64],
    /// `enter_long`, `enter_short`, `exit_long`, `exit_short` as 0/1 bytes.
    pub flags: [Option<&'a [u8]>; 4],
    /// `stop_loss`, `take_profit`, `size_lots`; NaN means none.
    pub levels: [Option<&'a [f64]>; 3],
    /// Any other numeric column, recorded in the trade's `meta.signal` at entry.
    pub snapshot: Vec<(String, &'a [f64])>,
}

const ENTER_LONG: usize = 0;
const ENTER_SHORT: usize = 1;
const EXIT_LONG: usize = 2;
const EXIT_SHORT: usize = 3;
const STOP_LOSS: usize = 0;
const TAKE_PROFIT: usize = 1;
const SIZE_LOTS: usize = 2;
const FLAG_NAMES: [&str; 4] = ["enter_long", "enter_short", "exit_long", "exit_short"];
const LEVEL_NAMES: [&str; 3] = ["stop_loss", "take_profit", "size_lots"];

/// A bar without a signal row.
const NO_ROW: u32 = u32::MAX;

impl SignalColumns<'_> {
    pub fn rows(&self) -> usize {
        self.time_ns.len()
    }

    /// sha256 over the documented layout: the header `omega-v2 signals v1\n`, the row count
    /// (u64 LE), `time_ns` (i64 LE), then each present column in the order flags, levels,
    /// snapshot, as its name, `\n`, and its values (u8 / f64 LE).
    pub fn sha256(&self) -> String {
        let mut h = Sha256::new();
        h.update(b"omega-v2 signals v1\n");
        h.update((self.rows() as u64).to_le_bytes());
        self.time_ns.iter().for_each(|t| h.update(t.to_le_bytes()));
        for (name, column) in FLAG_NAMES.iter().zip(&self.flags) {
            if let Some(values) = column {
                h.update(format!("{name}\n"));
                h.update(values);
            }
        }
        let levels = LEVEL_NAMES.iter().zip(&self.levels).filter_map(|(n, c)| Some((*n, (*c)?)));
        for (name, values) in levels.chain(self.snapshot.iter().map(|(n, v)| (n.as_str(), *v))) {
            h.update(format!("{name}\n"));
            values.iter().for_each(|v| h.update(v.to_le_bytes()));
        }
        crate::data::hex(&h.finalize())
    }

    fn check_lengths(&self) -> Result<()> {
        let rows = self.rows();
        let flags = FLAG_NAMES.iter().zip(self.flags.iter()).filter_map(|(n, c)| Some((*n, c.as_ref()?.len())));
        let floats = LEVEL_NAMES.iter().zip(self.levels.iter()).filter_map(|(n, c)| Some((*n, c.as_ref()?.len())));
        let snapshot = self.snapshot.iter().map(|(n, c)| (n.as_str(), c.len()));
        match flags.chain(floats).chain(snapshot).find(|(_, len)| *len != rows) {
            Some((name, len)) => Err(signals_error(format!("column `{name}` has {len} rows, the time axis {rows}"))),
            None => Ok(()),
        }
    }
}

fn signals_error(what: String) -> EngineError {
    EngineError::new(ErrorCode::DataSignals, format!("signals frame: {what}")).with("frame", "signals frame")
}

fn row_error(row: usize, time_ns: i64, what: &str) -> EngineError {
    signals_error(format!("row {row} ({}): {what}", format_iso(time_ns))).with("row", row)
}

/// Maps each bar to the signal row at its time. Rows outside the bars' span are ignored (other
/// dates of the same frame); a row inside it must be a bar.
fn rows_of_bars(columns: &SignalColumns, bars: &Bars) -> Result<Vec<(usize, usize)>> {
    let times = columns.time_ns;
    if let Some(i) = (1..times.len()).find(|&i| times[i] <= times[i - 1]) {
        let what =
            if times[i] == times[i - 1] { "repeats the previous timestamp" } else { "is before the previous row" };
        return Err(row_error(i, times[i], &format!("{what}; rows must be sorted, one per bar")));
    }
    let (Some(&first), Some(&last)) = (bars.time_ns.first(), bars.time_ns.last()) else { return Ok(Vec::new()) };
    let mut pairs = Vec::new();
    let mut bar = 0;
    for (row, &t) in times.iter().enumerate().filter(|(_, t)| (first..=last).contains(*t)) {
        while bars.time_ns[bar] < t {
            bar += 1;
        }
        if bars.time_ns[bar] != t {
            return Err(row_error(row, t, "has no bar at that time in the market (is it a bar's open time?)"));
        }
        pairs.push((bar, row));
    }
    Ok(pairs)
}

/// One signal row of a bar, copied out of the frame.
struct Row {
    /// Bit i set: `FLAG_NAMES[i]`.
    flags: u8,
    /// `LEVEL_NAMES` order; NaN is none.
    levels: [f64; 3],
}

pub struct Signals {
    /// Index into `rows` of each bar's signal row, or `NO_ROW`.
    row_of_bar: Vec<u32>,
    rows: Vec<Row>,
    snapshot_names: Vec<String>,
    /// `rows.len() x snapshot_names.len()`, row-major.
    snapshot_values: Vec<f64>,
    default_size: f64,
    cooldown_bars: usize,
}

impl Signals {
    fn from_columns(p: SignalsParams, columns: &SignalColumns, bars: &Bars) -> Result<Self> {
        columns.check_lengths()?;
        check_levels(columns)?;
        let pairs = rows_of_bars(columns, bars)?;
        if pairs.is_empty() && columns.rows() > 0 {
            // Legal (a sparse frame may have no row in a short window), but usually a wrong axis.
            tracing::warn!(
                component = "strategy",
                rows = columns.rows(),
                "no row of the signals frame is a bar of this run; it trades nothing"
            );
        }
        let mut row_of_bar = vec![NO_ROW; bars.len()];
        let mut rows = Vec::with_capacity(pairs.len());
        let mut snapshot_values = Vec::with_capacity(pairs.len() * columns.snapshot.len());
        for (index, &(bar, row)) in pairs.iter().enumerate() {
            row_of_bar[bar] = u32::try_from(index).map_err(|_| signals_error("more than 4 billion rows".into()))?;
            let flags = (0..4).filter(|&i| columns.flags[i].is_some_and(|c| c[row] != 0)).fold(0u8, |f, i| f | 1 << i);
            let levels = [0, 1, 2].map(|i| columns.levels[i].map_or(f64::NAN, |c| c[row]));
            rows.push(Row { flags, levels });
            snapshot_values.extend(columns.snapshot.iter().map(|(_, c)| c[row]));
        }
        Ok(Self {
            row_of_bar,
            rows,
            snapshot_names: columns.snapshot.iter().map(|(n, _)| n.clone()).collect(),
            snapshot_values,
            default_size: p.size_lots,
            cooldown_bars: p.cooldown_bars,
        })
    }

    fn signal(&self, direction: Direction, index: usize, bars: &Bars, t: usize) -> Signal {
        let row = &self.rows[index];
        let level = |i: usize| Some(row.levels[i]).filter(|v| !v.is_nan());
        let stop_loss = level(STOP_LOSS);
        let sizing = match (level(SIZE_LOTS), stop_loss) {
            (Some(lots), _) => Sizing::Lots(lots),
            (None, Some(_)) => Sizing::Risk,
            (None, None) => Sizing::Lots(self.default_size),
        };
        let width = self.snapshot_names.len();
        let values = &self.snapshot_values[index * width..(index + 1) * width];
        let snapshot: Snapshot =
            self.snapshot_names.iter().zip(values).map(|(name, v)| (Cow::Owned(name.clone()), *v)).collect();
        Signal {
            direction,
            kind: OrderKind::Market,
            entry_price: bars.entry_side(direction).close[t],
            stop_loss,
            take_profit: level(TAKE_PROFIT),
            sizing,
            scenario_id: 0,
            snapshot,
        }
    }
}

/// Levels must be finite where set (NaN is none) and sizes positive.
fn check_levels(columns: &SignalColumns) -> Result<()> {
    for (which, name) in LEVEL_NAMES.iter().enumerate() {
        let Some(values) = columns.levels[which] else { continue };
        let bad = |v: f64| v.is_infinite() || (!v.is_nan() && v <= 0.0);
        if let Some(row) = values.iter().position(|v| bad(*v)) {
            return Err(row_error(
                row,
                columns.time_ns[row],
                &format!("`{name}` must be a positive number or NaN (none)"),
            ));
        }
    }
    Ok(())
}

impl Build for Signals {
    type Params = SignalsParams;

    fn check(p: &SignalsParams) -> Result<()> {
        if !(p.size_lots > 0.0 && p.size_lots.is_finite()) {
            return Err(invalid_parameter(NAME, "size_lots", "must be a finite number > 0"));
        }
        Ok(())
    }

    fn build(p: SignalsParams, input: &StrategyInput) -> Result<Self> {
        let columns = input.extras.signals.ok_or_else(|| {
            EngineError::new(
                ErrorCode::ConfigStrategy,
                "strategy `signals` needs a signals frame: pass signals= to run (see docs/strategies.md)",
            )
            .with("field", "strategy_name")
        })?;
        Signals::from_columns(p, columns, input.bars)
    }
}

impl Strategy for Signals {
    fn first_signal_index(&self) -> usize {
        0
    }

    fn cooldown_bars(&self) -> usize {
        self.cooldown_bars
    }

    #[inline]
    fn decide(&mut self, t: usize, bars: &Bars, position: Option<Direction>) -> Action {
        let index = self.row_of_bar[t];
        if index == NO_ROW {
            return Action::Hold;
        }
        let index = index as usize;
        let flag = |i: usize| self.rows[index].flags & (1 << i) != 0;
        match position {
            Some(Direction::Long) if flag(ENTER_SHORT) => {
                Action::Reverse(self.signal(Direction::Short, index, bars, t))
            }
            Some(Direction::Long) if flag(EXIT_LONG) => Action::Exit,
            Some(Direction::Short) if flag(ENTER_LONG) => Action::Reverse(self.signal(Direction::Long, index, bars, t)),
            Some(Direction::Short) if flag(EXIT_SHORT) => Action::Exit,
            None if flag(ENTER_LONG) => Action::Enter(self.signal(Direction::Long, index, bars, t)),
            None if flag(ENTER_SHORT) => Action::Enter(self.signal(Direction::Short, index, bars, t)),
            _ => Action::Hold,
        }
    }
}
