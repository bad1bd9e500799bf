//! Sampled addresses -> function names, at the end of a profiled run.
//!
//! The engine's own addresses get their inline chains, files and lines from its debug line
//! tables (`backtrace::resolve`). Every other library (the interpreter, libc, numpy ...) is
//! named from its dynamic symbol table (`dladdr`): reading those libraries' debug info too
//! (a `-g` build of libpython carries ~16 MB of it) cost a profiled run ~50 MB of memory and
//! ~0.1 s, for frames the profile shows by name anyway. A foreign address that no symbol's
//! extent covers (a static function) is shown as `library+offset`, never as the nearest
//! exported name, which would blame the wrong function.
//!
//! The parsed debug info is dropped when the run's profile is rendered ([`Resolver`]'s drop),
//! so a notebook that profiled a run does not keep it for the rest of the session.

use std::ffi::{c_void, CStr};

/// One function of an inline chain an address resolves to.
pub(super) struct Frame {
    pub name: String,
    pub file: String,
    pub line: u32,
}

/// Resolves addresses for one profile; frees the debug info it parsed when dropped.
pub(super) struct Resolver {
    engine_base: *mut c_void,
}

impl Resolver {
    pub fn new() -> Self {
        let engine = object_of(Resolver::new as *const c_void);
        Self { engine_base: engine.map_or(std::ptr::null_mut(), |o| o.base) }
    }

    /// The inline chain at `ip` (a return address, or the interrupted PC + 1), innermost first;
    /// never empty.
    pub fn resolve(&self, ip: usize) -> Vec<Frame> {
        let pc = ip.saturating_sub(1); // inside the call (or interrupted) instruction
        match object_of(pc as *const c_void) {
            Some(object) if object.base != self.engine_base => vec![object.frame(pc)],
            _ => engine_frames(ip),
        }
    }
}

impl Drop for Resolver {
    fn drop(&mut self) {
        backtrace::clear_symbol_cache();
        // The parsed tables are tens of MB of small allocations that glibc's heap would keep.
        // SAFETY: malloc_trim only returns free heap pages to the kernel.
        #[cfg(target_env = "gnu")]
        unsafe {
            libc::malloc_trim(0);
        }
    }
}

fn engine_frames(ip: usize) -> Vec<Frame> {
    let mut frames = Vec::new();
    backtrace::resolve(ip as *mut c_void, |symbol| {
        let name = symbol.name().map_or_else(|| format!("{ip:#x}"), |n| format!("{n:#}"));
        let file = symbol.filename().map(|f| f.display().to_string()).unwrap_or_default();
        frames.push(Frame { name, file, line: symbol.lineno().unwrap_or(0) });
    });
    if frames.is_empty() {
        frames.push(Frame { name: format!("{:#x}", ip.saturating_sub(1)), file: String::new(), line: 0 });
    }
    frames
}

/// The loaded object holding an address, and the dynamic symbol that covers it, if one does.
struct Object {
    base: *mut c_void,
    path: String,
    symbol: Option<String>,
}

impl Object {
    fn frame(&self, pc: usize) -> Frame {
        let library = self.path.rsplit('/').next().unwrap_or(&self.path);
        let name = match &self.symbol {
            Some(symbol) => symbol.clone(),
            None => format!("{library}+{:#x}", pc.wrapping_sub(self.base as usize)),
        };
        Frame { name, file: self.path.clone(), line: 0 }
    }
}

fn object_of(addr: *const c_void) -> Option<Object> {
    // SAFETY: dladdr only reads the loader's tables; the strings it hands back belong to the
    // loaded object, which stays mapped while we copy them here.
    unsafe {
        let mut info: libc::Dl_info = std::mem::zeroed();
        let size = symbol_size(addr, &mut info)?;
        if info.dli_fbase.is_null() {
            return None;
        }
        let text = |s: *const libc::c_char| CStr::from_ptr(s).to_string_lossy().into_owned();
        let path = if info.dli_fname.is_null() { String::new() } else { text(info.dli_fname) };
        let covered = !info.dli_sname.is_null()
            && size.is_some_and(|size| (addr as usize).wrapping_sub(info.dli_saddr as usize) < size);
        Some(Object { base: info.dli_fbase, path, symbol: covered.then(|| text(info.dli_sname)) })
    }
}

/// Fills `info` for `addr`: `None` outside every loaded object, else the extent of the symbol
/// `dladdr` found (glibc's `dladdr1` gives its ELF entry; elsewhere it is unknown).
#[cfg(target_env = "gnu")]
unsafe fn symbol_size(addr: *const c_void, info: &mut libc::Dl_info) -> Option<Option<usize>> {
    /// `dladdr1` flag: also return the matching symbol's ELF entry (`<dlfcn.h>`).
    const RTLD_DL_SYMENT: libc::c_int = 1;
    let mut entry: *mut c_void = std::ptr::null_mut();
    if libc::dladdr1(addr, info, &mut entry, RTLD_DL_SYMENT) == 0 {
        return None;
    }
    Some((!entry.is_null()).then(|| (*entry.cast::<libc::Elf64_Sym>()).st_size as usize))
}

#[cfg(not(target_env = "gnu"))]
unsafe fn symbol_size(addr: *const c_void, info: &mut libc::Dl_info) -> Option<Option<usize>> {
    (libc::dladdr(addr, info) != 0).then_some(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[inline(never)]
    fn an_engine_function() -> usize {
        std::hint::black_box(7)
    }

    #[test]
    fn an_engine_address_gets_its_function_file_and_line() {
        let frames = Resolver::new().resolve(an_engine_function as *const () as usize + 1);
        let outer = frames.last().unwrap();
        assert!(outer.name.ends_with("an_engine_function"), "{}", outer.name);
        assert!(outer.file.ends_with("symbols.rs") && outer.line > 0, "{}:{}", outer.file, outer.line);
    }

    #[test]
    fn a_foreign_address_is_named_from_its_librarys_dynamic_symbols() {
        let frames = Resolver::new().resolve(libc::getpid as *const () as usize + 1);
        assert_eq!(frames.len(), 1);
        assert!(frames[0].name.contains("getpid"), "{}", frames[0].name);
        assert!(frames[0].file.contains("libc"), "{}", frames[0].file);
        assert_eq!(frames[0].line, 0);
    }

    #[test]
    fn an_address_outside_its_symbol_is_the_library_and_offset() {
        let object = Object { base: 0x1000 as *mut c_void, path: "/lib/libx.so.1".into(), symbol: None };
        assert_eq!(object.frame(0x1234).name, "libx.so.1+0x234");
    }
}
