//! The CPU sampler behind the profile (Linux on x86_64 and aarch64): the unsafe part.
//!
//! * Each sampled thread gets a POSIX timer on `CLOCK_MONOTONIC` (an hrtimer: not capped by the
//!   kernel tick like `ITIMER_PROF`) that sends `SIGPROF` to that thread alone
//!   (`SIGEV_THREAD_ID`) every `1/frequency` s, with the thread's index in [`THREADS`] as the
//!   signal's value.
//! * The handler reads the thread's CPU clock and records one sample weighted by the CPU
//!   nanoseconds the thread used since its previous sample (none when it slept), with the stack
//!   unwound by `backtrace::trace_unsynchronized`.
//! * Samples go to a preallocated buffer of fixed-size slots (an anonymous mapping: only the
//!   pages written become resident), claimed with one `fetch_add`; a full buffer counts drops.
//!
//! The handler touches only statics (atomics) and the slot it claimed: it never allocates,
//! locks, or uses thread-locals (a cdylib's TLS access may allocate). It is installed once per
//! process and stays installed, inert while no session is active, so a late timer signal can
//! never meet the default action (which kills the process). Registration and session state
//! live behind [`REGISTRY`], a mutex the handler never takes.

use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicPtr, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use libc::c_int;

/// Frames kept per sample (innermost first); deeper stacks are cut at their outermost frames.
pub(crate) const MAX_DEPTH: usize = 64;
/// Threads sampled at once; threads registering beyond it are not sampled.
pub(crate) const MAX_THREADS: usize = 64;
/// Buffer size in seconds of CPU time at the chosen frequency (all threads together).
pub(crate) const CAPACITY_CPU_SECONDS: usize = 300;

/// One sample: written by the handler of the thread that claimed it, read after the session.
#[repr(C)]
struct Slot {
    tid: i32,
    depth: u32,
    cpu_ns: u64,
    /// Innermost first; `ips[0]` is the interrupted PC + 1 (so that symbolising, which looks up
    /// `ip - 1` as for return addresses, finds the PC's own instruction).
    ips: [usize; MAX_DEPTH],
}

/// Per-thread state the handler finds through the signal's value (the index).
struct ThreadSlot {
    /// Kernel thread id while registered, 0 when free.
    tid: AtomicI32,
    /// That thread's CPU clock at its previous sample.
    last_cpu_ns: AtomicU64,
}

static THREADS: [ThreadSlot; MAX_THREADS] =
    [const { ThreadSlot { tid: AtomicI32::new(0), last_cpu_ns: AtomicU64::new(0) } }; MAX_THREADS];

/// Set while a session accepts samples; the handler checks it first.
static ACTIVE: AtomicBool = AtomicBool::new(false);
/// Handlers between their `ACTIVE` check and their last write; `stop` waits for 0.
static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);
static BUFFER: AtomicPtr<Slot> = AtomicPtr::new(std::ptr::null_mut());
static CAPACITY: AtomicUsize = AtomicUsize::new(0);
/// Slots claimed (may exceed `CAPACITY`: the excess are the dropped samples).
static CLAIMED: AtomicUsize = AtomicUsize::new(0);
/// Samples kept with the interrupted PC alone because it was in a blocklisted library.
static LEAF_ONLY: AtomicU64 = AtomicU64::new(0);

/// Executable ranges `[start, end)` of the libraries unwinding must not start in.
const MAX_BLOCKED: usize = 32;
static BLOCKED: [[AtomicUsize; 2]; MAX_BLOCKED] = [const { [AtomicUsize::new(0), AtomicUsize::new(0)] }; MAX_BLOCKED];
static BLOCKED_LEN: AtomicUsize = AtomicUsize::new(0);

/// Samples whose interrupted PC is in these libraries keep that PC alone, without unwinding:
/// unwinding from inside them is not async-signal-safe (the unwinder's own locks,
/// dl_iterate_phdr; tikv/pprof-rs#36), and vdso has broken unwind info. Matched against the
/// file names in /proc/self/maps.
const BLOCKLIST: &[&str] = &["libc.so", "libc-", "libgcc", "libpthread", "ld-linux", "ld-musl", "[vdso]"];

/// `si_code` of a signal sent by a POSIX timer.
const SI_TIMER: c_int = -2;

/// What the handler needs from `siginfo_t` for a timer signal (Linux, 64-bit layout; the libc
/// crate exposes no accessor for `si_value` on glibc): the union starts at offset 16 and its
/// timer member is `{ si_tid, si_overrun, si_sigval }`.
#[repr(C)]
struct TimerSigInfo {
    si_signo: c_int,
    si_errno: c_int,
    si_code: c_int,
    _pad: c_int,
    si_tid: c_int,
    si_overrun: c_int,
    si_value: usize,
}

const _: () = assert!(std::mem::size_of::<TimerSigInfo>() <= std::mem::size_of::<libc::siginfo_t>());

/// The SIGPROF handler. Async-signal-safe: atomics, `clock_gettime`, `gettid`, the unwinder
/// (never entered from a blocklisted library), plain stores into the claimed slot.
extern "C" fn on_sigprof(_signo: c_int, info: *mut libc::siginfo_t, context: *mut c_void) {
    // SAFETY: errno is per-thread; clock_gettime cannot fail here but keep the interrupted
    // code's errno intact anyway.
    let errno = unsafe { *libc::__errno_location() };
    IN_FLIGHT.fetch_add(1, Ordering::SeqCst);
    if ACTIVE.load(Ordering::SeqCst) {
        // SAFETY: the kernel passes a valid siginfo_t and ucontext_t (SA_SIGINFO).
        unsafe { sample(&*(info as *const TimerSigInfo), context) };
    }
    IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
    // SAFETY: as above.
    unsafe { *libc::__errno_location() = errno };
}

/// # Safety
/// Only from the handler, with `context` the handler's ucontext and a session active.
unsafe fn sample(info: &TimerSigInfo, context: *mut c_void) {
    if info.si_code != SI_TIMER {
        return; // a SIGPROF from kill(2) or another source: not ours to record
    }
    let Some(thread) = THREADS.get(info.si_value) else { return };
    let tid = libc::syscall(libc::SYS_gettid) as i32;
    if thread.tid.load(Ordering::Acquire) != tid {
        return; // a stale signal for a slot since freed or given to another thread
    }
    let now = thread_cpu_ns();
    let cpu_ns = now.saturating_sub(thread.last_cpu_ns.swap(now, Ordering::Relaxed));
    if cpu_ns == 0 {
        return; // asleep since the previous sample
    }
    let pc = interrupted_pc(context);
    let index = CLAIMED.fetch_add(1, Ordering::Relaxed);
    if index >= CAPACITY.load(Ordering::Relaxed) {
        return; // dropped: counted as CLAIMED - CAPACITY
    }
    // SAFETY: index < capacity of the mapping `BUFFER` points to (set before ACTIVE and freed
    // only once no handler is in flight), and the fetch_add gave this slot to this handler alone.
    let slot = &mut *BUFFER.load(Ordering::Relaxed).add(index);
    slot.tid = tid;
    slot.cpu_ns = cpu_ns;
    slot.ips[0] = pc.wrapping_add(1);
    slot.depth = 1;
    if is_blocked(pc) {
        // The CPU time still counts, attributed to the library function without its callers.
        LEAF_ONLY.fetch_add(1, Ordering::Relaxed);
        return;
    }
    let mut depth = 1;
    // The unwind starts in this handler; the interrupted frames begin after the signal
    // trampoline, at the frame whose IP is the interrupted PC. If the unwinder never reaches it,
    // the sample keeps the PC alone.
    let mut seen_pc = false;
    let mut budget = MAX_DEPTH + 32;
    backtrace::trace_unsynchronized(|frame| {
        let ip = frame.ip() as usize;
        budget -= 1;
        if seen_pc {
            if ip == 0 || depth == MAX_DEPTH {
                return false;
            }
            slot.ips[depth] = ip;
            depth += 1;
        } else {
            seen_pc = ip == pc;
        }
        budget > 0
    });
    slot.depth = depth as u32;
}

fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: a valid out pointer; async-signal-safe.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// # Safety
/// `context` is the `ucontext_t` the kernel passed to an SA_SIGINFO handler.
unsafe fn interrupted_pc(context: *mut c_void) -> usize {
    let uc = &*(context as *const libc::ucontext_t);
    #[cfg(target_arch = "x86_64")]
    return uc.uc_mcontext.gregs[libc::REG_RIP as usize] as usize;
    #[cfg(target_arch = "aarch64")]
    return uc.uc_mcontext.pc as usize;
}

fn is_blocked(pc: usize) -> bool {
    let n = BLOCKED_LEN.load(Ordering::Relaxed);
    BLOCKED[..n].iter().any(|[s, e]| (s.load(Ordering::Relaxed)..e.load(Ordering::Relaxed)).contains(&pc))
}

/// Reads the executable mappings of the blocklisted libraries from /proc/self/maps.
fn load_blocklist() -> Result<(), String> {
    let maps =
        std::fs::read_to_string("/proc/self/maps").map_err(|e| format!("reading /proc/self/maps failed: {e}"))?;
    let mut n = 0;
    for line in maps.lines() {
        // "start-end perms offset dev inode path"
        let mut fields = line.split_whitespace();
        let (Some(range), Some(perms)) = (fields.next(), fields.next()) else { continue };
        let Some(path) = fields.nth(3) else { continue };
        let name = path.rsplit('/').next().unwrap_or(path);
        if !perms.contains('x') || !BLOCKLIST.iter().any(|b| name.starts_with(b)) || n == MAX_BLOCKED {
            continue;
        }
        let Some((start, end)) = range.split_once('-') else { continue };
        let (Ok(start), Ok(end)) = (usize::from_str_radix(start, 16), usize::from_str_radix(end, 16)) else { continue };
        BLOCKED[n][0].store(start, Ordering::Relaxed);
        BLOCKED[n][1].store(end, Ordering::Relaxed);
        n += 1;
    }
    BLOCKED_LEN.store(n, Ordering::Relaxed);
    Ok(())
}

/// Installs [`on_sigprof`] unless it already is; refuses when another SIGPROF handler exists.
fn install_handler() -> Result<(), String> {
    let ours = on_sigprof as extern "C" fn(c_int, *mut libc::siginfo_t, *mut c_void) as usize;
    // SAFETY: plain sigaction calls with valid pointers; the handler is async-signal-safe.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        if libc::sigaction(libc::SIGPROF, std::ptr::null(), &mut old) != 0 {
            return Err(format!("reading the SIGPROF handler failed: {}", std::io::Error::last_os_error()));
        }
        if old.sa_sigaction == ours {
            return Ok(());
        }
        if old.sa_sigaction != libc::SIG_DFL && old.sa_sigaction != libc::SIG_IGN {
            return Err("another SIGPROF handler is installed in this process (another profiler?); \
                        the CPU profiler will not replace it"
                .into());
        }
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = ours;
        action.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART;
        libc::sigemptyset(&mut action.sa_mask);
        if libc::sigaction(libc::SIGPROF, &action, std::ptr::null_mut()) != 0 {
            return Err(format!("installing the SIGPROF handler failed: {}", std::io::Error::last_os_error()));
        }
    }
    Ok(())
}

/// A POSIX timer id (a pointer on glibc), owned by the registry.
struct Timer(libc::timer_t);

// SAFETY: a timer id is a process-wide handle, usable from any thread.
unsafe impl Send for Timer {}

impl Drop for Timer {
    fn drop(&mut self) {
        // SAFETY: created by timer_create and deleted only here.
        unsafe { libc::timer_delete(self.0) };
    }
}

struct Registered {
    /// Deleted on drop.
    _timer: Timer,
    generation: u64,
}

/// Session state, never touched by the handler.
struct Registry {
    /// Incremented per session; a thread guard of an earlier session finds it changed.
    generation: u64,
    period_ns: u64,
    threads: [Option<Registered>; MAX_THREADS],
    /// Labels of the threads that were sampled in this session: (tid, label).
    labels: Vec<(i32, String)>,
    mapping_len: usize,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    generation: 0,
    period_ns: 0,
    threads: [const { None }; MAX_THREADS],
    labels: Vec::new(),
    mapping_len: 0,
});

fn registry() -> MutexGuard<'static, Registry> {
    REGISTRY.lock().unwrap_or_else(PoisonError::into_inner)
}

fn gettid() -> i32 {
    // SAFETY: no arguments, cannot fail.
    unsafe { libc::syscall(libc::SYS_gettid) as i32 }
}

impl Registry {
    /// Creates and arms the calling thread's timer; `None` when it is already registered or no
    /// thread slot is free.
    fn register(&mut self, label: String) -> Option<usize> {
        let tid = gettid();
        if THREADS.iter().any(|t| t.tid.load(Ordering::Relaxed) == tid) {
            return None;
        }
        let index = self.threads.iter().position(Option::is_none)?;
        // SAFETY: a zeroed sigevent is valid; the fields set are the SIGEV_THREAD_ID ones.
        let timer = unsafe {
            let mut event: libc::sigevent = std::mem::zeroed();
            event.sigev_notify = libc::SIGEV_THREAD_ID;
            event.sigev_signo = libc::SIGPROF;
            event.sigev_notify_thread_id = tid;
            event.sigev_value = libc::sigval { sival_ptr: index as *mut c_void };
            let mut id: libc::timer_t = std::mem::zeroed();
            if libc::timer_create(libc::CLOCK_MONOTONIC, &mut event, &mut id) != 0 {
                return None;
            }
            Timer(id)
        };
        THREADS[index].last_cpu_ns.store(thread_cpu_ns(), Ordering::Relaxed);
        THREADS[index].tid.store(tid, Ordering::Release);
        let period = libc::timespec {
            tv_sec: (self.period_ns / 1_000_000_000) as libc::time_t,
            tv_nsec: (self.period_ns % 1_000_000_000) as libc::c_long,
        };
        let spec = libc::itimerspec { it_interval: period, it_value: period };
        // SAFETY: a live timer and a valid spec.
        unsafe { libc::timer_settime(timer.0, 0, &spec, std::ptr::null_mut()) };
        self.threads[index] = Some(Registered { _timer: timer, generation: self.generation });
        if !self.labels.iter().any(|(t, _)| *t == tid) {
            self.labels.push((tid, label));
        }
        Some(index)
    }

    fn unregister(&mut self, index: usize) {
        // Deleting the timer first: no new signal for this slot once the tid is cleared.
        drop(self.threads[index].take());
        THREADS[index].tid.store(0, Ordering::Release);
    }
}

/// Why a second session cannot start.
pub(crate) const BUSY: &str =
    "another profiled run in this process holds the CPU profiler (one CPU profile per process at a time)";

/// The active session; [`Sampler::stop`] ends it, and so does dropping it (a run that fails or
/// is cancelled before its profile is rendered must not leave the sampler held).
pub(crate) struct Sampler {
    generation: u64,
    stopped: bool,
}

/// Everything recorded by one session.
pub(crate) struct Recorded {
    /// (tid, cpu_ns, stack innermost first)
    pub samples: Vec<(i32, u64, Vec<usize>)>,
    pub dropped: u64,
    pub leaf_only: u64,
    pub labels: Vec<(i32, String)>,
}

impl Sampler {
    /// Starts a session sampling the calling thread at `frequency_hz`.
    pub(crate) fn start(frequency_hz: i32, label: String) -> Result<Sampler, String> {
        if !(1..=100_000).contains(&frequency_hz) {
            return Err(format!("sampling frequency {frequency_hz} Hz is out of range (1..=100000)"));
        }
        let mut reg = registry();
        if ACTIVE.load(Ordering::SeqCst) {
            return Err(BUSY.into());
        }
        install_handler()?;
        load_blocklist()?;
        let capacity = CAPACITY_CPU_SECONDS * frequency_hz as usize;
        let len = capacity * std::mem::size_of::<Slot>();
        // SAFETY: a fresh private anonymous mapping; MAP_NORESERVE: untouched pages cost nothing.
        let buffer = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if buffer == libc::MAP_FAILED {
            return Err(format!("mapping the sample buffer failed: {}", std::io::Error::last_os_error()));
        }
        // Unwind once outside a signal handler, so that any lazy set-up of the unwinder happens
        // here and not in the handler.
        backtrace::trace(|_| true);
        BUFFER.store(buffer.cast(), Ordering::SeqCst);
        CAPACITY.store(capacity, Ordering::SeqCst);
        CLAIMED.store(0, Ordering::SeqCst);
        LEAF_ONLY.store(0, Ordering::SeqCst);
        reg.generation += 1;
        reg.period_ns = (1_000_000_000 / frequency_hz as u64).max(1);
        reg.labels.clear();
        reg.mapping_len = len;
        ACTIVE.store(true, Ordering::SeqCst);
        reg.register(label);
        Ok(Sampler { generation: reg.generation, stopped: false })
    }

    /// Stops sampling (every thread's timer is deleted) and copies the samples out.
    pub(crate) fn stop(mut self) -> Recorded {
        self.stopped = true;
        end_session(self.generation)
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        if !self.stopped {
            end_session(self.generation);
        }
    }
}

fn end_session(generation: u64) -> Recorded {
    let mut reg = registry();
    debug_assert_eq!(reg.generation, generation);
    for index in 0..MAX_THREADS {
        if reg.threads[index].is_some() {
            reg.unregister(index);
        }
    }
    ACTIVE.store(false, Ordering::SeqCst);
    // A handler that saw ACTIVE set is counted in IN_FLIGHT (both SeqCst): once it is 0, no
    // handler writes into the buffer any more and none will start to.
    while IN_FLIGHT.load(Ordering::SeqCst) != 0 {
        std::thread::yield_now();
    }
    let capacity = CAPACITY.load(Ordering::SeqCst);
    let claimed = CLAIMED.load(Ordering::SeqCst);
    let buffer = BUFFER.swap(std::ptr::null_mut(), Ordering::SeqCst);
    let samples = (0..claimed.min(capacity))
        .map(|i| {
            // SAFETY: every claimed slot below capacity was fully written by a handler that
            // has returned; nothing writes the mapping any more.
            let slot = unsafe { &*buffer.add(i) };
            (slot.tid, slot.cpu_ns, slot.ips[..slot.depth as usize].to_vec())
        })
        .collect();
    // SAFETY: the mapping made in `start`, no longer referenced.
    unsafe { libc::munmap(buffer.cast(), reg.mapping_len) };
    Recorded {
        samples,
        dropped: claimed.saturating_sub(capacity) as u64,
        leaf_only: LEAF_ONLY.load(Ordering::SeqCst),
        labels: std::mem::take(&mut reg.labels),
    }
}

/// Samples the calling thread for as long as it lives, if a session is active.
pub(crate) struct ThreadGuard {
    registered: Option<(usize, u64)>,
}

pub(crate) fn sample_this_thread() -> ThreadGuard {
    if !ACTIVE.load(Ordering::Relaxed) {
        return ThreadGuard { registered: None };
    }
    let mut reg = registry();
    if !ACTIVE.load(Ordering::SeqCst) {
        return ThreadGuard { registered: None };
    }
    let label = std::thread::current().name().unwrap_or("worker thread").to_owned();
    let generation = reg.generation;
    ThreadGuard { registered: reg.register(label).map(|index| (index, generation)) }
}

impl Drop for ThreadGuard {
    fn drop(&mut self) {
        let Some((index, generation)) = self.registered else { return };
        let mut reg = registry();
        // The session may have ended (its stop deleted the timer) and a new one taken the slot.
        if reg.threads[index].as_ref().is_some_and(|r| r.generation == generation) {
            reg.unregister(index);
        }
    }
}
