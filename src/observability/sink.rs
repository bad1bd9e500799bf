//! One run's destination: its context, its own level filter and its two files.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};

use tracing::{Level, Metadata};
use tracing_subscriber::filter::{LevelFilter, Targets};

use super::context::{most_verbose, RunLogContext, RunLogOptions};
use crate::error::{EngineError, Result};

pub(crate) struct RunSink {
    pub ctx: RunLogContext,
    filter: Targets,
    /// Cached `most_verbose(&filter)`.
    events_level: LevelFilter,
    phase_spans: bool,
    /// Profiling mode: DEBUG spans (per bar / per event) must exist even when the filter does
    /// not write DEBUG records.
    profiling_spans: AtomicBool,
    to_stdout: bool,
    text: LogFile,
    json: LogFile,
    /// The first write/flush failure; writes happen inside the subscriber, which cannot return
    /// errors, so it is reported by the next explicit flush.
    write_error: OnceLock<(PathBuf, io::Error)>,
}

impl RunSink {
    /// Creates `log_dir` and (truncating) `<run_id>.log` / `<run_id>.jsonl`.
    pub fn open(ctx: &RunLogContext, opts: &RunLogOptions, filter: Targets) -> Result<Self> {
        fs::create_dir_all(&opts.log_dir)
            .map_err(|e| EngineError::output_io("create log directory", &opts.log_dir, &e))?;
        let file = |ext: &str| LogFile::create(opts.log_dir.join(format!("{}.{ext}", ctx.run_id)));
        Ok(Self {
            ctx: ctx.clone(),
            events_level: most_verbose(&filter),
            filter,
            phase_spans: opts.phase_spans,
            profiling_spans: AtomicBool::new(false),
            to_stdout: opts.to_stdout,
            text: file("log")?,
            json: file("jsonl")?,
            write_error: OnceLock::new(),
        })
    }

    pub fn text_path(&self) -> &Path {
        &self.text.path
    }

    pub fn json_path(&self) -> &Path {
        &self.json.path
    }

    /// Whether this run writes records of `meta`'s target and level.
    pub fn enabled(&self, meta: &Metadata<'_>) -> bool {
        self.filter.would_enable(meta.target(), meta.level())
    }

    /// Whether closing a (non-root) span of `meta` produces a `close` record. Per-bar DEBUG
    /// spans of profiling mode only do when the run's filter asks for DEBUG on their target.
    pub fn records_close(&self, meta: &Metadata<'_>) -> bool {
        self.phase_spans && self.enabled(meta)
    }

    /// The most verbose level this run needs callsites to have (its share of the global
    /// `max_level_hint`). The root span is ERROR, so any level but OFF keeps it alive.
    pub fn level_hint(&self) -> LevelFilter {
        if self.profiling_spans.load(Ordering::Relaxed) {
            self.events_level.max(LevelFilter::DEBUG)
        } else {
            self.events_level
        }
    }

    pub fn enable_profiling_spans(&self) {
        self.profiling_spans.store(true, Ordering::Relaxed);
    }

    /// Appends one record (both lines end with `\n`). ERROR records are flushed at once so
    /// that the reason for a crash is on disk even if the process dies before `Drop`.
    pub fn write(&self, level: &Level, json: &[u8], text: &str) {
        self.note(&self.json, self.json.write(json));
        self.note(&self.text, self.text.write(text.as_bytes()));
        if self.to_stdout {
            // stdout may be closed (daemonised, notebook teardown): never fail the run for it.
            let _ = io::stdout().lock().write_all(text.as_bytes());
        }
        if *level == Level::ERROR {
            self.flush_files();
        }
    }

    /// Flushes both files; reports the first write or flush failure of the run so far.
    pub fn flush(&self) -> Result<()> {
        self.flush_files();
        match self.write_error.get() {
            Some((path, err)) => Err(EngineError::output_io("write log file", path, err)),
            None => Ok(()),
        }
    }

    /// Flushes and closes both files; later records of this run are dropped.
    pub fn close(&self) {
        self.note(&self.json, self.json.close());
        self.note(&self.text, self.text.close());
    }

    fn flush_files(&self) {
        self.note(&self.json, self.json.flush());
        self.note(&self.text, self.text.flush());
    }

    fn note(&self, file: &LogFile, result: io::Result<()>) {
        if let Err(err) = result {
            let _ = self.write_error.set((file.path.clone(), err));
        }
    }
}

/// A buffered file shared by all threads of a run; `None` once closed.
struct LogFile {
    path: PathBuf,
    writer: Mutex<Option<BufWriter<File>>>,
}

impl LogFile {
    fn create(path: PathBuf) -> Result<Self> {
        let file = File::create(&path).map_err(|e| EngineError::output_io("create log file", &path, &e))?;
        Ok(Self { path, writer: Mutex::new(Some(BufWriter::new(file))) })
    }

    fn lock(&self) -> MutexGuard<'_, Option<BufWriter<File>>> {
        // A panic while holding the lock cannot leave a half-written record behind that matters
        // more than the records after it.
        self.writer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self, bytes: &[u8]) -> io::Result<()> {
        self.lock().as_mut().map_or(Ok(()), |w| w.write_all(bytes))
    }

    fn flush(&self) -> io::Result<()> {
        self.lock().as_mut().map_or(Ok(()), Write::flush)
    }

    fn close(&self) -> io::Result<()> {
        self.lock().take().map_or(Ok(()), |mut w| w.flush())
    }
}
