//! Which threads the CPU sampler sees. A leaf of the crate (std and libc only), so the loaders,
//! the log sinks and the artefact writers can put their worker threads under the profiler
//! without depending on `profiling`, which sits above them all.
//!
//! Call at the top of a worker thread's closure and keep the guard for the thread's work:
//! `let _sampled = crate::sampling::sample_this_thread();`. A relaxed atomic load when no
//! profiled run is active; otherwise the thread gets its own sampling timer until the guard
//! drops (or the session ends). A thread already sampled is not registered twice.

#[cfg(cpu_sampler)]
mod sampler;

#[cfg(cpu_sampler)]
pub(crate) use sampler::{Recorded, Sampler};

/// Samples the calling thread while a profiled run is active; inert where there is no sampler.
#[must_use = "the thread is sampled only while the guard lives"]
pub struct SampledThread {
    #[cfg(cpu_sampler)]
    _guard: sampler::ThreadGuard,
}

/// See the module doc.
pub fn sample_this_thread() -> SampledThread {
    SampledThread {
        #[cfg(cpu_sampler)]
        _guard: sampler::sample_this_thread(),
    }
}
