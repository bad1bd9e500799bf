//! Numpy arrays (any 1-d C-contiguous buffer) read in place: the engine borrows their memory for
//! the call instead of copying it, and the Python side guarantees the dtypes (int64 ns, float64,
//! uint8 flags). The arrays must not be modified while the run reads them.

use pyo3::buffer::{Element, PyBuffer};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::data::SideArrays;
use crate::run::MarketFrames;
use crate::strategy::SignalColumns;

/// `values` as a new read-only numpy array (one copy; it may outlive the engine's memory).
pub fn to_numpy<'py, T: Copy>(py: Python<'py>, values: &[T], dtype: &str) -> PyResult<Bound<'py, PyAny>> {
    // SAFETY: the slice's initialised memory viewed as bytes, borrowed only for the copy.
    let bytes = unsafe { std::slice::from_raw_parts(values.as_ptr().cast::<u8>(), std::mem::size_of_val(values)) };
    py.import("numpy")?.call_method1("frombuffer", (pyo3::types::PyBytes::new(py, bytes), dtype))
}

/// A held buffer; its memory stays valid and in place until it is dropped.
pub struct Column<T: Element>(PyBuffer<T>);

impl<T: Element> Column<T> {
    pub fn of(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Self> {
        let buffer = PyBuffer::<T>::get(obj).map_err(|e| PyValueError::new_err(format!("{what}: {e}")))?;
        if buffer.dimensions() != 1 || !buffer.is_c_contiguous() {
            return Err(PyValueError::new_err(format!("{what} must be a 1-d contiguous array")));
        }
        Ok(Self(buffer))
    }

    pub fn as_slice(&self) -> &[T] {
        // SAFETY: the buffer is held by `self` (so its memory stays valid and in place), typed
        // and aligned for `T` (checked by `PyBuffer::get`), 1-d and C-contiguous (checked above).
        unsafe { std::slice::from_raw_parts(self.0.buf_ptr().cast::<T>(), self.0.item_count()) }
    }
}

/// The buffers of an `omega_v2.signals.Signals` (time axis, flag, level and snapshot columns).
pub struct SignalBuffers {
    time_ns: Column<i64>,
    flags: [Option<Column<u8>>; 4],
    levels: [Option<Column<f64>>; 3],
    snapshot: Vec<(String, Column<f64>)>,
}

const FLAGS: [&str; 4] = ["enter_long", "enter_short", "exit_long", "exit_short"];
const LEVELS: [&str; 3] = ["stop_loss", "take_profit", "size_lots"];

impl SignalBuffers {
    pub fn of(signals: &Bound<'_, PyAny>) -> PyResult<Self> {
        let flags = signals.getattr("flags")?.cast_into::<PyDict>()?;
        let levels = signals.getattr("levels")?.cast_into::<PyDict>()?;
        let mut flag_columns: [Option<Column<u8>>; 4] = Default::default();
        for (slot, name) in flag_columns.iter_mut().zip(FLAGS) {
            *slot = flags.get_item(name)?.map(|c| Column::of(&c, name)).transpose()?;
        }
        let mut level_columns: [Option<Column<f64>>; 3] = Default::default();
        for (slot, name) in level_columns.iter_mut().zip(LEVELS) {
            *slot = levels.get_item(name)?.map(|c| Column::of(&c, name)).transpose()?;
        }
        let snapshot = signals
            .getattr("snapshot")?
            .cast_into::<PyDict>()?
            .iter()
            .map(|(k, v)| {
                let name: String = k.extract()?;
                let column = Column::of(&v, &name)?;
                Ok((name, column))
            })
            .collect::<PyResult<_>>()?;
        Ok(Self {
            time_ns: Column::of(&signals.getattr("time_ns")?, "time_ns")?,
            flags: flag_columns,
            levels: level_columns,
            snapshot,
        })
    }

    pub fn columns(&self) -> SignalColumns<'_> {
        SignalColumns {
            time_ns: self.time_ns.as_slice(),
            flags: std::array::from_fn(|i| self.flags[i].as_ref().map(Column::as_slice)),
            levels: std::array::from_fn(|i| self.levels[i].as_ref().map(Column::as_slice)),
            snapshot: self.snapshot.iter().map(|(n, c)| (n.clone(), c.as_slice())).collect(),
        }
    }
}

/// The buffers of one side of an `omega_v2.Market` (`time_ns` int64, OHLC float64).
struct SideBuffers {
    time_ns: Column<i64>,
    ohlc: [Column<f64>; 4],
}

impl SideBuffers {
    fn of(side: &Bound<'_, PyAny>, name: &str) -> PyResult<Self> {
        fn column<T: Element>(side: &Bound<'_, PyAny>, name: &str, field: &str) -> PyResult<Column<T>> {
            Column::of(&side.getattr(field)?, &format!("{name}.{field}"))
        }
        let prices = ["open", "high", "low", "close"].map(|field| column(side, name, field));
        let [open, high, low, close] = prices;
        Ok(Self { time_ns: column(side, name, "time_ns")?, ohlc: [open?, high?, low?, close?] })
    }

    fn arrays(&self) -> SideArrays<'_> {
        let [open, high, low, close] = self.ohlc.each_ref().map(Column::as_slice);
        SideArrays { time_ns: self.time_ns.as_slice(), open, high, low, close }
    }
}

/// The buffers of an `omega_v2.Market` (its `bid` and `ask` sides).
pub struct MarketBuffers {
    bid: SideBuffers,
    ask: SideBuffers,
}

impl MarketBuffers {
    pub fn of(market: &Bound<'_, PyAny>) -> PyResult<Self> {
        Ok(Self {
            bid: SideBuffers::of(&market.getattr("bid")?, "bid")?,
            ask: SideBuffers::of(&market.getattr("ask")?, "ask")?,
        })
    }

    pub fn frames(&self) -> MarketFrames<'_> {
        MarketFrames { bid: self.bid.arrays(), ask: self.ask.arrays() }
    }
}
