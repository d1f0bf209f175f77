fn main() -> std::process::ExitCode {
    tune_malloc();
    crmguard::cli::main()
}

/// glibc raises its mmap threshold to the size of each large block freed (up
/// to 32 MiB); records of several MB then come from the heap arenas, one per
/// thread, which keep what is freed. Measured on records of 15 MiB with a
/// scan's memory bounded in bytes: 105 MB peak RSS, against 60 MB with a
/// fixed threshold, which keeps every buffer over 1 MiB in a mapping of its
/// own, given back to the system when dropped (docs/benchmarks.md, Memory).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn tune_malloc() {
    // SAFETY: sets an allocator parameter, before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune_malloc() {}
