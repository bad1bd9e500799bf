//! The run hooks of a call from Python: Ctrl-C and the cancel token, the progress counter a
//! progress bar polls, and the caller's last step before the run directory is committed.

use std::cell::{Cell, RefCell};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use pyo3::prelude::*;

use crate::error::{EngineError, ErrorCode, Result};
use crate::run::{Phase, RunHooks, Summary};

/// How often a run on the main thread lets Python handle pending signals (Ctrl-C, SIGTERM).
const SIGNAL_POLL: Duration = Duration::from_millis(50);

/// Cancels a run from any thread: `token.cancel()` makes the run raise `RunCancelled`.
#[pyclass(module = "omega_v2._core", frozen)]
#[derive(Default)]
pub struct CancelToken {
    flag: Arc<AtomicBool>,
}

#[pymethods]
impl CancelToken {
    #[new]
    fn new() -> Self {
        Self::default()
    }
    fn cancel(&self) {
        self.flag.store(true, Ordering::Relaxed);
    }
    #[getter]
    fn cancelled(&self) -> bool {
        self.flag.load(Ordering::Relaxed)
    }
}

const PHASES: [Phase; 3] = [Phase::Loading, Phase::Trading, Phase::Writing];

/// How far a run is, updated by the engine every few thousand bars and read by a progress bar
/// on another thread (lock-free).
#[pyclass(module = "omega_v2._core", frozen)]
#[derive(Default)]
pub struct RunProgress {
    phase: AtomicU8,
    done: AtomicU64,
    total: AtomicU64,
}

#[pymethods]
impl RunProgress {
    #[new]
    fn new() -> Self {
        Self::default()
    }
    /// `loading`, `trading` or `writing`.
    #[getter]
    fn phase(&self) -> &'static str {
        PHASES[usize::from(self.phase.load(Ordering::Relaxed))].as_str()
    }
    /// Bars done in the phase.
    #[getter]
    fn done(&self) -> u64 {
        self.done.load(Ordering::Relaxed)
    }
    /// Bars of the phase (0 while unknown).
    #[getter]
    fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }
}

pub struct PyHooks<'a> {
    flag: Arc<AtomicBool>,
    on_main_thread: bool,
    last_poll: Cell<Instant>,
    progress: Option<&'a RunProgress>,
    before_commit: Option<&'a Py<PyAny>>,
    /// The Python exception raised by `before_commit`, handed back to the caller unchanged.
    failure: RefCell<Option<PyErr>>,
}

impl<'a> PyHooks<'a> {
    pub fn new(
        token: Option<&CancelToken>,
        on_main_thread: bool,
        progress: Option<&'a RunProgress>,
        before_commit: Option<&'a Py<PyAny>>,
    ) -> Self {
        Self {
            flag: token.map(|t| t.flag.clone()).unwrap_or_default(),
            on_main_thread,
            last_poll: Cell::new(Instant::now()),
            progress,
            before_commit,
            failure: RefCell::new(None),
        }
    }

    /// The exception `before_commit` raised, if the run failed because of it.
    pub fn take_failure(&self) -> Option<PyErr> {
        self.failure.borrow_mut().take()
    }
}

impl RunHooks for PyHooks<'_> {
    fn cancelled(&self) -> bool {
        if self.flag.load(Ordering::Relaxed) {
            return true;
        }
        // CPython runs signal handlers only on the main thread; elsewhere use the token.
        if self.on_main_thread && self.last_poll.get().elapsed() >= SIGNAL_POLL {
            self.last_poll.set(Instant::now());
            if Python::attach(|py| py.check_signals()).is_err() {
                self.flag.store(true, Ordering::Relaxed);
                return true;
            }
        }
        false
    }

    fn progress(&self, phase: Phase, done: u64, total: u64) {
        if let Some(p) = self.progress {
            let index = PHASES.iter().position(|x| *x == phase).unwrap_or(0);
            p.phase.store(index as u8, Ordering::Relaxed);
            p.total.store(total, Ordering::Relaxed);
            p.done.store(done, Ordering::Relaxed);
        }
    }

    fn before_commit(&self, staging: &Path, summary: &Summary) -> Result<()> {
        let Some(callback) = self.before_commit else { return Ok(()) };
        Python::attach(|py| callback.call1(py, (staging, summary.clone())).map(drop)).map_err(|err| {
            let message = format!("the run's last Python step failed: {err}");
            *self.failure.borrow_mut() = Some(err);
            EngineError::new(ErrorCode::OutputFailed, message)
        })
    }
}
