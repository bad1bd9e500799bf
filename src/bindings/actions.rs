//! What a Python strategy's `on_bar` returns: `Enter`, `Reverse`, `Exit` (or `None` to hold),
//! validated when they are built so that a bad order fails at the line that made it. They are
//! Rust classes so that the engine reads them without a Python attribute lookup per bar.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::domain::{Direction, OrderKind, Signal, Sizing, Snapshot};
use crate::market::Bars;

/// The fields of an `Enter` or a `Reverse`.
#[derive(Clone, Debug)]
pub struct Order {
    direction: Direction,
    kind: OrderKind,
    stop_loss: Option<f64>,
    take_profit: Option<f64>,
    size_lots: Option<f64>,
    entry_price: Option<f64>,
    snapshot: Vec<(String, f64)>,
}

impl Order {
    #[allow(clippy::too_many_arguments)] // the keyword arguments of Enter/Reverse
    fn new(
        class: &str,
        direction: &str,
        stop_loss: Option<f64>,
        take_profit: Option<f64>,
        size_lots: Option<f64>,
        kind: &str,
        entry_price: Option<f64>,
        snapshot: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let bad = |what: &str| PyValueError::new_err(format!("{class}: {what}"));
        let direction = match direction {
            "long" => Direction::Long,
            "short" => Direction::Short,
            _ => return Err(bad("direction must be \"long\" or \"short\"")),
        };
        let kind = match kind {
            "market" => OrderKind::Market,
            "limit" => OrderKind::Limit,
            "stop" => OrderKind::Stop,
            _ => return Err(bad("kind must be \"market\", \"limit\" or \"stop\"")),
        };
        // NaN is "none", as in a signals frame (an indicator that is not warm yet).
        let level = |name: &str, v: Option<f64>| match v.filter(|x| !x.is_nan()) {
            Some(x) if !(x > 0.0 && x.is_finite()) => Err(bad(&format!("{name} must be a positive price or None"))),
            other => Ok(other),
        };
        let (stop_loss, take_profit, entry_price) =
            (level("stop_loss", stop_loss)?, level("take_profit", take_profit)?, level("entry_price", entry_price)?);
        let size_lots = match size_lots {
            Some(x) if !(x > 0.0 && x.is_finite()) => return Err(bad("size_lots must be a number > 0 or None")),
            other => other,
        };
        match (kind, entry_price) {
            (OrderKind::Market, Some(_)) => {
                return Err(bad("a market order fills at this bar's close; entry_price is for limit and stop orders"))
            }
            (OrderKind::Limit | OrderKind::Stop, None) => return Err(bad("limit and stop orders need an entry_price")),
            _ => {}
        }
        let snapshot = match snapshot {
            None => Vec::new(),
            Some(d) => d
                .iter()
                .map(|(k, v)| Ok((k.extract::<String>()?, v.extract::<f64>()?)))
                .collect::<PyResult<_>>()
                .map_err(|_| bad("snapshot must map names (str) to numbers"))?,
        };
        Ok(Self { direction, kind, stop_loss, take_profit, size_lots, entry_price, snapshot })
    }

    /// The engine's signal of this order at the close of bar `t`. A market order's price is the
    /// close of its entry side; sizing is the order's lots, else risk-based with a stop loss,
    /// else one lot.
    pub fn signal(&self, bars: &Bars, t: usize) -> Signal {
        let sizing = match (self.size_lots, self.stop_loss) {
            (Some(lots), _) => Sizing::Lots(lots),
            (None, Some(_)) => Sizing::Risk,
            (None, None) => Sizing::Lots(1.0),
        };
        let snapshot: Snapshot = self.snapshot.iter().map(|(k, v)| (k.clone().into(), *v)).collect();
        Signal {
            direction: self.direction,
            kind: self.kind,
            entry_price: self.entry_price.unwrap_or_else(|| bars.entry_side(self.direction).close[t]),
            stop_loss: self.stop_loss,
            take_profit: self.take_profit,
            sizing,
            scenario_id: 0,
            snapshot,
        }
    }

    fn repr(&self, class: &str) -> String {
        let opt = |v: Option<f64>| v.map_or("None".to_owned(), |x| x.to_string());
        format!(
            "{class}({:?}, stop_loss={}, take_profit={}, size_lots={}, kind={:?}, entry_price={})",
            self.direction.as_str(),
            opt(self.stop_loss),
            opt(self.take_profit),
            opt(self.size_lots),
            self.kind.as_str(),
            opt(self.entry_price)
        )
    }
}

macro_rules! order_class {
    ($class:ident, $doc:literal) => {
        #[doc = $doc]
        #[pyclass(module = "omega_v2._core", frozen)]
        pub struct $class {
            pub order: Order,
        }

        #[pymethods]
        impl $class {
            #[new]
            #[pyo3(signature = (direction, stop_loss=None, take_profit=None, size_lots=None, kind="market", entry_price=None, snapshot=None))]
            #[allow(clippy::too_many_arguments)]
            fn new(
                direction: &str,
                stop_loss: Option<f64>,
                take_profit: Option<f64>,
                size_lots: Option<f64>,
                kind: &str,
                entry_price: Option<f64>,
                snapshot: Option<&Bound<'_, PyDict>>,
            ) -> PyResult<Self> {
                let order = Order::new(stringify!($class), direction, stop_loss, take_profit, size_lots, kind, entry_price, snapshot)?;
                Ok(Self { order })
            }

            #[getter]
            fn direction(&self) -> &'static str {
                self.order.direction.as_str()
            }
            #[getter]
            fn kind(&self) -> &'static str {
                self.order.kind.as_str()
            }
            #[getter]
            fn stop_loss(&self) -> Option<f64> {
                self.order.stop_loss
            }
            #[getter]
            fn take_profit(&self) -> Option<f64> {
                self.order.take_profit
            }
            #[getter]
            fn size_lots(&self) -> Option<f64> {
                self.order.size_lots
            }
            #[getter]
            fn entry_price(&self) -> Option<f64> {
                self.order.entry_price
            }
            #[getter]
            fn snapshot<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
                let dict = PyDict::new(py);
                for (k, v) in &self.order.snapshot {
                    dict.set_item(k, v)?;
                }
                Ok(dict)
            }

            fn __repr__(&self) -> String {
                self.order.repr(stringify!($class))
            }
        }
    };
}

order_class!(
    Enter,
    "Open a position at this bar's close (market) or from the next bar (limit/stop), if the entry gates allow it."
);
order_class!(Reverse, "Close the open position at this bar's close, then enter like `Enter`.");

/// Close the open position at this bar's close (exit reason `signal`).
#[pyclass(module = "omega_v2._core", frozen)]
pub struct Exit;

#[pymethods]
impl Exit {
    #[new]
    fn new() -> Self {
        Exit
    }

    fn __repr__(&self) -> &'static str {
        "Exit()"
    }
}
