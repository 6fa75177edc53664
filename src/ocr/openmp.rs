//! Tesseract's OpenMP must not start threads of its own: parallelism comes from pages, one
//! engine per core, and OpenMP threads on top of that thrash (8× slower measured). libgomp reads
//! `OMP_THREAD_LIMIT` once, when it is loaded, so the binary re-executes itself with it set
//! (`main.rs`); `.cargo/config.toml` sets it for tests and benches. Where it is still not 1 (the
//! re-execution failed, or a program links the library), each OCR thread turns OpenMP's parallel
//! regions off for itself before its first engine, through the runtime's own call; a runtime
//! that has OpenMP but not that call refuses to make engines rather than run unlimited.

use std::ffi::c_int;

/// Whether the process was started with `OMP_THREAD_LIMIT=1`.
pub fn limited_by_env() -> bool {
    std::env::var_os("OMP_THREAD_LIMIT").is_some_and(|v| v == "1")
}

/// The OpenMP runtime loaded in this process, if any, found by symbol (libgomp comes in with
/// Tesseract; a Tesseract built without OpenMP brings none, and then nothing is to be limited).
fn symbol(name: &std::ffi::CStr) -> Option<*mut std::ffi::c_void> {
    // SAFETY: dlsym with RTLD_DEFAULT only looks a name up among the loaded objects.
    let p = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) };
    (!p.is_null()).then_some(p)
}

/// The calling thread's `max-active-levels` ICV, if an OpenMP runtime is loaded.
pub fn max_active_levels() -> Option<c_int> {
    let get = symbol(c"omp_get_max_active_levels")?;
    // SAFETY: the OpenMP API's `int omp_get_max_active_levels(void)`.
    let get: unsafe extern "C" fn() -> c_int = unsafe { std::mem::transmute(get) };
    Some(unsafe { get() })
}

/// Makes every OpenMP parallel region this thread starts run on this thread alone: with
/// `max-active-levels` 0 no region is active, whatever `num_threads` Tesseract asks for
/// (`omp_set_num_threads` would not cap those). Errs when a runtime is loaded that cannot be
/// limited so.
pub fn limit_this_thread() -> Result<(), String> {
    let Some(set) = symbol(c"omp_set_max_active_levels") else {
        return match symbol(c"omp_get_num_threads") {
            Some(_) => Err("the OpenMP runtime has no omp_set_max_active_levels".into()),
            None => Ok(()),
        };
    };
    // SAFETY: the OpenMP API's `void omp_set_max_active_levels(int)`.
    let set: unsafe extern "C" fn(c_int) = unsafe { std::mem::transmute(set) };
    unsafe { set(0) };
    match max_active_levels() {
        Some(0) | None => Ok(()),
        Some(n) => Err(format!("max-active-levels stayed {n}")),
    }
}

/// Called before each engine is made: nothing to do when the environment limits OpenMP.
pub fn ensure_limited() -> Result<(), String> {
    if limited_by_env() {
        return Ok(());
    }
    static TOLD: std::sync::Once = std::sync::Once::new();
    limit_this_thread()?;
    TOLD.call_once(|| {
        tracing::info!(
            "OMP_THREAD_LIMIT is not 1: OpenMP parallel regions turned off on each OCR thread instead"
        )
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_limited_through_the_runtime_runs_no_parallel_region() {
        // A fresh thread: its ICVs are the process defaults until it sets its own.
        let levels = std::thread::spawn(|| {
            let before = max_active_levels();
            limit_this_thread().expect("limited");
            (before, max_active_levels())
        })
        .join()
        .unwrap();
        // Tesseract brings libgomp into this test binary.
        assert!(matches!(levels.0, Some(n) if n > 0), "{levels:?}");
        assert_eq!(levels.1, Some(0));
    }
}
