//! The process allocator: mimalloc rather than the system's. Building the catalog's index and
//! ingesting allocate millions of small strings and maps; glibc spent a third of that time in
//! malloc and free (a first ingest of 100k entities took 18 s with it, 11-14 s with mimalloc).
//!
//! It also keeps untrusted work within a memory budget ([`within_memory`]): a template that
//! doubles a string forty times would otherwise take the whole machine, and neither the
//! template engine nor Rust can stop an allocation halfway.

use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use libmimalloc_sys::{mi_option_get, mi_option_set, mi_option_t};

#[global_allocator]
static ALLOCATOR: Budgeted = Budgeted;

/// Bytes the current thread may still allocate; `usize::MAX` means no budget.
const UNLIMITED: usize = usize::MAX;

thread_local! {
    // Const-initialised and without destructors: reading them never allocates, so the
    // allocator itself may.
    static LEFT: Cell<usize> = const { Cell::new(UNLIMITED) };
    static GRANTED: Cell<usize> = const { Cell::new(UNLIMITED) };
    static TRIPPED: Cell<*const AtomicBool> = const { Cell::new(std::ptr::null()) };
}

/// mimalloc, charging each allocation to the thread's budget when it has one.
struct Budgeted;

fn charge(bytes: usize) {
    let left = LEFT.with(Cell::get);
    if left == UNLIMITED {
        return;
    }
    if bytes > left {
        over_budget();
    }
    LEFT.with(|l| l.set(left - bytes));
}

fn refund(bytes: usize) {
    let left = LEFT.with(Cell::get);
    if left != UNLIMITED {
        LEFT.with(|l| l.set(left.saturating_add(bytes).min(GRANTED.with(Cell::get))));
    }
}

/// The thread went over its budget inside an allocation, which can neither fail (Rust
/// aborts the process) nor unwind. So it says so and stops here for good, holding no more
/// than its budget; [`within_memory`] answers for it.
fn over_budget() -> ! {
    let tripped = TRIPPED.with(Cell::get);
    if !tripped.is_null() {
        // SAFETY: set by `within_memory` to an `AtomicBool` it keeps alive (an `Arc` this
        // thread's closure owns and never drops, since this thread never returns).
        unsafe { (*tripped).store(true, Ordering::SeqCst) };
    }
    loop {
        // SAFETY: waits for a signal; allocates nothing.
        unsafe { libc::pause() };
    }
}

// SAFETY: every call goes to mimalloc with the same arguments; the budget is bookkeeping.
unsafe impl GlobalAlloc for Budgeted {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        charge(layout.size());
        // SAFETY: as the caller promised for `layout`.
        unsafe { mimalloc::MiMalloc.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        charge(layout.size());
        // SAFETY: as the caller promised for `layout`.
        unsafe { mimalloc::MiMalloc.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        refund(layout.size());
        // SAFETY: `ptr` came from this allocator with `layout`.
        unsafe { mimalloc::MiMalloc.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > layout.size() {
            charge(new_size - layout.size());
        } else {
            refund(layout.size() - new_size);
        }
        // SAFETY: `ptr` came from this allocator with `layout`.
        unsafe { mimalloc::MiMalloc.realloc(ptr, layout, new_size) }
    }
}

/// Threads stopped for good over their budget; past a few, nothing more is run.
static STOPPED: AtomicUsize = AtomicUsize::new(0);
const MAX_STOPPED: usize = 8;
/// Threads that run budgeted work, kept between pieces of work: a new thread per render
/// cost more than the render (a fresh allocator heap each time).
const POOL_THREADS: usize = 4;

type Job = Box<dyn FnOnce() + Send>;
type Jobs = Arc<std::sync::Mutex<std::sync::mpsc::Receiver<Job>>>;

/// The queue of budgeted work and its threads.
struct Pool {
    queue: std::sync::Mutex<std::sync::mpsc::Sender<Job>>,
    jobs: Jobs,
}

fn pool() -> &'static Pool {
    static POOL: std::sync::OnceLock<Pool> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        let (queue, jobs) = std::sync::mpsc::channel::<Job>();
        let jobs: Jobs = Arc::new(std::sync::Mutex::new(jobs));
        for _ in 0..POOL_THREADS {
            start_pool_thread(jobs.clone());
        }
        Pool {
            queue: std::sync::Mutex::new(queue),
            jobs,
        }
    })
}

fn start_pool_thread(jobs: Arc<std::sync::Mutex<std::sync::mpsc::Receiver<Job>>>) {
    let _ = std::thread::Builder::new()
        .name("within-memory".into())
        .spawn(move || {
            loop {
                let job = match jobs.lock().unwrap_or_else(|e| e.into_inner()).recv() {
                    Ok(job) => job,
                    Err(_) => return,
                };
                job();
            }
        });
}

/// Runs `work` on a pooled thread that may allocate at most `bytes` for it; `Err` when it
/// needed more. The thread that went over stays stopped, holding at most `bytes` (it is
/// replaced), so after [`MAX_STOPPED`] of them such work is refused.
pub fn within_memory<T: Send + 'static>(
    bytes: usize,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, String> {
    let over = || format!("it needed more than the {} MiB it may use", bytes >> 20);
    if STOPPED.load(Ordering::SeqCst) >= MAX_STOPPED {
        return Err(format!(
            "{}; no more is run until the server restarts",
            over()
        ));
    }
    let tripped = Arc::new(AtomicBool::new(false));
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    let flag = tripped.clone();
    let job: Job = Box::new(move || {
        TRIPPED.with(|t| t.set(Arc::as_ptr(&flag)));
        GRANTED.with(|g| g.set(bytes));
        LEFT.with(|l| l.set(bytes));
        // A panic is the work's own failure; the thread stays for the next piece of work.
        let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work));
        LEFT.with(|l| l.set(UNLIMITED));
        GRANTED.with(|g| g.set(UNLIMITED));
        TRIPPED.with(|t| t.set(std::ptr::null()));
        if let Ok(out) = out {
            let _ = tx.send(out);
        }
        drop(flag);
    });
    pool()
        .queue
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .send(job)
        .map_err(|_| "the workers are gone".to_string())?;
    loop {
        match rx.recv_timeout(Duration::from_millis(5)) {
            Ok(out) => return Ok(out),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                return Err("the work stopped unexpectedly".into());
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                if tripped.load(Ordering::SeqCst) {
                    STOPPED.fetch_add(1, Ordering::SeqCst);
                    // The stopped thread is replaced.
                    start_pool_thread(pool().jobs.clone());
                    return Err(over());
                }
            }
        }
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_over_its_memory_budget_is_stopped_and_reported() {
        let small = within_memory(64 << 20, || vec![1u8; 1 << 20].len()).unwrap();
        assert_eq!(small, 1 << 20);
        let err = within_memory(16 << 20, || {
            let mut s = String::from("x");
            for _ in 0..40 {
                s = s.clone() + &s;
            }
            s.len()
        })
        .unwrap_err();
        assert!(err.contains("16 MiB"), "{err}");
        // The process goes on allocating as before.
        assert_eq!(vec![0u8; 32 << 20].len(), 32 << 20);
    }
}
