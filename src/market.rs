//! Market data as a struct of arrays: one column per field, aligned bid and ask sides.
//! Loaded once per run and only ever borrowed as slices; nothing in the loop copies a series.

use crate::domain::Direction;

/// One price side (bid or ask) as OHLC columns of equal length.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ohlc {
    pub open: Vec<f64>,
    pub high: Vec<f64>,
    pub low: Vec<f64>,
    pub close: Vec<f64>,
}

impl Ohlc {
    pub fn with_capacity(n: usize) -> Self {
        Self {
            open: Vec::with_capacity(n),
            high: Vec::with_capacity(n),
            low: Vec::with_capacity(n),
            close: Vec::with_capacity(n),
        }
    }
    pub fn len(&self) -> usize {
        self.close.len()
    }
    pub fn is_empty(&self) -> bool {
        self.close.is_empty()
    }
    pub fn push(&mut self, open: f64, high: f64, low: f64, close: f64) {
        self.open.push(open);
        self.high.push(high);
        self.low.push(low);
        self.close.push(close);
    }
}

/// Aligned bid/ask bars of one symbol and timeframe. `time_ns[i]` is the bar's OPEN time
/// (ns since the Unix epoch, UTC), strictly increasing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Bars {
    pub time_ns: Vec<i64>,
    pub bid: Ohlc,
    pub ask: Ohlc,
}

impl Bars {
    pub fn len(&self) -> usize {
        self.time_ns.len()
    }
    pub fn is_empty(&self) -> bool {
        self.time_ns.is_empty()
    }
    /// The side an entry in direction `d` trades on: longs buy the ask, shorts sell the bid.
    pub fn entry_side(&self, d: Direction) -> &Ohlc {
        match d {
            Direction::Long => &self.ask,
            Direction::Short => &self.bid,
        }
    }
    /// The side a position in direction `d` exits (and is marked) on: longs sell the bid,
    /// shorts buy the ask.
    pub fn exit_side(&self, d: Direction) -> &Ohlc {
        match d {
            Direction::Long => &self.bid,
            Direction::Short => &self.ask,
        }
    }
    /// Mid close `(bid.close + ask.close) / 2`, computed once for strategies that need it.
    pub fn mid_close(&self) -> Vec<f64> {
        self.bid.close.iter().zip(&self.ask.close).map(|(b, a)| (b + a) * 0.5).collect()
    }
    /// Whether [`Bars::scale_spread`] by `factor` changes any price (1.0 leaves them as they are).
    pub fn spread_scale_changes(factor: f64) -> bool {
        factor != 1.0
    }
    /// Widens (factor > 1) or narrows the spread symmetrically around the mid, field by field.
    pub fn scale_spread(&mut self, factor: f64) {
        if !Self::spread_scale_changes(factor) {
            return;
        }
        let scale = |bid: &mut [f64], ask: &mut [f64]| {
            for (b, a) in bid.iter_mut().zip(ask.iter_mut()) {
                let mid = (*a + *b) * 0.5;
                let half = (*a - *b) * 0.5 * factor;
                *b = mid - half;
                *a = mid + half;
            }
        };
        scale(&mut self.bid.open, &mut self.ask.open);
        scale(&mut self.bid.high, &mut self.ask.high);
        scale(&mut self.bid.low, &mut self.ask.low);
        scale(&mut self.bid.close, &mut self.ask.close);
    }
}

/// Bar timeframes (`timeframes.primary` / `additional`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Timeframe {
    M1,
    M5,
    M15,
    M30,
    H1,
    H4,
    D1,
}

impl Timeframe {
    pub fn minutes(self) -> i64 {
        match self {
            Timeframe::M1 => 1,
            Timeframe::M5 => 5,
            Timeframe::M15 => 15,
            Timeframe::M30 => 30,
            Timeframe::H1 => 60,
            Timeframe::H4 => 240,
            Timeframe::D1 => 1440,
        }
    }
    pub fn nanos(self) -> i64 {
        self.minutes() * 60 * 1_000_000_000
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Timeframe::M1 => "M1",
            Timeframe::M5 => "M5",
            Timeframe::M15 => "M15",
            Timeframe::M30 => "M30",
            Timeframe::H1 => "H1",
            Timeframe::H4 => "H4",
            Timeframe::D1 => "D1",
        }
    }
}
