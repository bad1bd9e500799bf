//! One run's destination: its context, its own level filter and its two files.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};

use tracing::{Level, Metadata};
use tracing_subscriber::filter::{LevelFilter, Targets};

use super::context::{most_verbose, RunLogContext, RunLogOptions};
use crate::error::{EngineError, ErrorCode, Result};

pub(crate) struct RunSink {
    pub ctx: RunLogContext,
    filter: Targets,
    /// Cached `most_verbose(&filter)`.
    events_level: LevelFilter,
    phase_spans: bool,
    /// Profiling mode with trace export: the loop's sampled TRACE spans must exist even when
    /// the filter does not write TRACE records.
    detail_spans: AtomicBool,
    to_stdout: bool,
    text: LogFile,
    json: LogFile,
    /// The first write/flush failure; writes happen inside the subscriber, which cannot return
    /// errors, so it is reported by the next explicit flush.
    write_error: OnceLock<(PathBuf, io::Error)>,
}

impl RunSink {
    /// Creates the log directory and the text and JSON log files, exclusively: an existing file
    /// (another run's, or a planted symlink) is never truncated or followed.
    pub fn open(ctx: &RunLogContext, opts: &RunLogOptions, filter: Targets) -> Result<Self> {
        for dir in [&opts.text_log, &opts.json_log].iter().filter_map(|p| p.parent()) {
            fs::create_dir_all(dir).map_err(|e| EngineError::output_io("create log directory", dir, &e))?;
        }
        Ok(Self {
            ctx: ctx.clone(),
            events_level: most_verbose(&filter),
            filter,
            phase_spans: opts.phase_spans,
            detail_spans: AtomicBool::new(false),
            to_stdout: opts.to_stdout,
            text: LogFile::create(opts.text_log.clone())?,
            json: LogFile::create(opts.json_log.clone())?,
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
        self.writes(meta.target(), meta.level())
    }

    /// Whether this run writes records of `level` for `target`.
    pub fn writes(&self, target: &str, level: &Level) -> bool {
        self.filter.would_enable(target, level)
    }

    /// Whether closing a (non-root) span of `meta` produces a `close` record. Per-bar TRACE
    /// spans of profiling mode only do when the run's filter asks for TRACE on their target.
    pub fn records_close(&self, meta: &Metadata<'_>) -> bool {
        self.phase_spans && self.enabled(meta)
    }

    /// The most verbose level this run needs callsites to have (its share of the global
    /// `max_level_hint`). The root span is ERROR, so any level but OFF keeps it alive.
    pub fn level_hint(&self) -> LevelFilter {
        if self.detail_spans.load(Ordering::Relaxed) {
            self.events_level.max(LevelFilter::TRACE)
        } else {
            self.events_level
        }
    }

    pub fn enable_detail_spans(&self) {
        self.detail_spans.store(true, Ordering::Relaxed);
    }

    /// Appends one record (both lines end with `\n`). WARN and ERROR records are flushed at
    /// once so that they are on disk even if the process is killed before `Drop`.
    pub fn write(&self, level: &Level, json: &[u8], text: &str) {
        self.note(&self.json, self.json.write(json));
        self.note(&self.text, self.text.write(text.as_bytes()));
        if self.to_stdout {
            // stdout may be closed (daemonised, notebook teardown): never fail the run for it.
            let _ = io::stdout().lock().write_all(text.as_bytes());
        }
        if *level <= Level::WARN {
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

    /// Flushes both files and syncs them to disk; reports the first failure of the run so far.
    pub fn sync(&self) -> Result<()> {
        self.flush()?;
        for file in [&self.json, &self.text] {
            file.sync().map_err(|e| EngineError::output_io("sync log file", &file.path, &e))?;
        }
        Ok(())
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
        let file = create_exclusive(&path)?;
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

    fn sync(&self) -> io::Result<()> {
        self.lock().as_mut().map_or(Ok(()), |w| w.get_ref().sync_data())
    }
}

/// Creates `path` for writing; it must not exist in any form (file, directory, symlink).
pub(crate) fn create_exclusive(path: &Path) -> Result<File> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NOFOLLOW);
    options.open(path).map_err(|e| match e.kind() {
        io::ErrorKind::AlreadyExists if path.is_symlink() => EngineError::new(
            ErrorCode::OutputUnsafePath,
            format!("{} is a symbolic link; a run never writes through a link: remove it", path.display()),
        )
        .with_file(path),
        io::ErrorKind::AlreadyExists => EngineError::new(
            ErrorCode::OutputExists,
            format!(
                "{} already exists (another run's log); a run never writes into it: choose another run_id or remove that run",
                path.display()
            ),
        )
        .with_file(path),
        _ => EngineError::output_io("create log file", path, &e),
    })
}
