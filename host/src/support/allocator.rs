//! The process allocator: mimalloc rather than the system's. Building the catalog's index and
//! ingesting allocate millions of small strings and maps; glibc spent a third of that time in
//! malloc and free (a first ingest of 100k entities took 18 s with it, 11-14 s with mimalloc).

use libmimalloc_sys::{mi_option_get, mi_option_set, mi_option_t};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in the mimalloc 3 that `libmimalloc-sys` builds (its Rust constants
/// predate version 3's numbering).
const PURGE_DELAY: mi_option_t = 15;
/// mimalloc's default purge delay, in milliseconds: how the option is recognised.
const DEFAULT_PURGE_DELAY_MS: std::ffi::c_long = 1000;

/// Sets the allocator up to hold little memory it does not use: freed pages go back to the
/// system at once rather than a second later (under concurrent requests every blocking thread
/// kept its own freed pages), and no transparent huge pages (mimalloc asks the kernel for
/// them on its arenas, and a 2 MiB page stays resident while any 4 KiB of it is in use; a
/// 10k-entity catalog held 58 MB after a restart with them and 35 MB without, and peaked at
/// 95 MB under load instead of 50 MB).
pub fn hold_little_unused_memory() {
    // SAFETY: plain calls into the allocator's option table, made at start-up before any
    // other thread exists; the option is changed only if it is the one we mean (its default).
    // `prctl(PR_SET_THP_DISABLE)` only sets a flag on this process.
    unsafe {
        if mi_option_get(PURGE_DELAY) == DEFAULT_PURGE_DELAY_MS {
            mi_option_set(PURGE_DELAY, 0);
        }
        #[cfg(target_os = "linux")]
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

/// Hands back what a large piece of work freed: this thread's freed blocks, including those
/// other threads freed for it (mimalloc keeps those until the owner collects them, and the
/// index's builder frees on another thread what this one allocated), and the C heap's free
/// pages. SQLite allocates through the C library's malloc, not mimalloc, and glibc keeps what
/// it frees unless it sits at the top of the heap: the writer's page cache, filled by a large
/// write and then released, stayed resident (18 MB at 100k entities).
pub fn release_freed_memory() {
    // SAFETY: `mi_collect` works on the calling thread's own heap; `malloc_trim` only walks
    // glibc's own arenas, under their locks.
    unsafe {
        libmimalloc_sys::mi_collect(true);
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        libc::malloc_trim(0);
    }
}
