//! One owner for "is the CPU sampler built": `cfg(cpu_sampler)` when the `profiling` feature is
//! on and the target is Linux on x86_64 or aarch64 (per-thread POSIX timers with SIGPROF, and
//! the interrupted PC read from the signal context's registers).

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rustc-check-cfg=cfg(cpu_sampler)");
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    let supported =
        var("CARGO_CFG_TARGET_OS") == "linux" && matches!(var("CARGO_CFG_TARGET_ARCH").as_str(), "x86_64" | "aarch64");
    if supported && std::env::var_os("CARGO_FEATURE_PROFILING").is_some() {
        println!("cargo::rustc-cfg=cpu_sampler");
    }
}
