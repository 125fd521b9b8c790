//! How threads share the CPU. Every thread of the server and of the plugin runtime asks for a
//! short time slice (Linux 6.12+ EEVDF: `sched_runtime` of a fair task), so a thread that
//! wakes on a busy core waits 0.1 ms at most for the one running there instead of a whole
//! default slice. Plugin workers also run at nice 10 and off the first CPU, so a computing
//! plugin gives way to the server whenever both want a core and always leaves it one. Not
//! `SCHED_IDLE` for plugin calls: on a machine busy with other work they would hardly run at
//! all. Only work that may wait indefinitely runs idle (instances made ahead of calls: a call
//! that finds none makes its own). Measured in `cargo xtask bench plugins` (catalog reads
//! under plugin load).

/// The slice a latency-sensitive thread asks for.
const SHORT_SLICE_NS: u64 = 100_000;

/// For the calling thread: a short slice at the default priority.
pub fn latency_sensitive() {
    set(0, SHORT_SLICE_NS);
}

/// For the calling thread: nice 10, a short slice, and every CPU it may use but the first,
/// which is left to the server (on a 2-core machine a computing plugin otherwise competes
/// with every request).
pub fn background() {
    set(10, SHORT_SLICE_NS);
    off_the_first_cpu();
}

/// For the calling thread: `SCHED_IDLE`, so it runs only when nothing else wants the core,
/// on the plugin workers' CPUs: what it makes for them is then in their caches.
pub fn idle() {
    set_policy(libc::SCHED_IDLE, 0, 0);
    off_the_first_cpu();
}

/// The CPU time the calling thread has used.
pub fn thread_time() -> std::time::Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: the kernel writes one timespec, which `now` is.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    std::time::Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

fn off_the_first_cpu() {
    // SAFETY: a zeroed cpu_set_t is an empty set; the kernel writes at most its size, and
    // the CPU_* helpers stay within it.
    unsafe {
        let mut cpus: libc::cpu_set_t = std::mem::zeroed();
        let size = std::mem::size_of::<libc::cpu_set_t>();
        if libc::sched_getaffinity(0, size, &mut cpus) != 0 || libc::CPU_COUNT(&cpus) < 2 {
            return;
        }
        if let Some(first) = (0..libc::CPU_SETSIZE as usize).find(|&c| libc::CPU_ISSET(c, &cpus)) {
            libc::CPU_CLR(first, &mut cpus);
            libc::sched_setaffinity(0, size, &cpus);
        }
    }
}

fn set(nice: i32, slice_ns: u64) {
    if set_policy(libc::SCHED_OTHER, nice, slice_ns) {
        return;
    }
    // Older kernels: the priority alone. SAFETY: only reads its arguments; `who == 0` is the
    // calling thread.
    if nice != 0 && unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, nice) } != 0 {
        tracing::debug!(
            "cannot lower this thread's priority: {}",
            std::io::Error::last_os_error()
        );
    }
}

/// Sets the calling thread's scheduling policy; false when the kernel refuses.
fn set_policy(policy: i32, nice: i32, slice_ns: u64) -> bool {
    let attr = libc::sched_attr {
        size: std::mem::size_of::<libc::sched_attr>() as u32,
        sched_policy: policy as u32,
        sched_flags: 0,
        sched_nice: nice,
        sched_priority: 0,
        sched_runtime: slice_ns,
        sched_deadline: 0,
        sched_period: 0,
    };
    // SAFETY: the kernel only reads `attr`, whose size it is told; pid 0 is the calling thread.
    unsafe { libc::syscall(libc::SYS_sched_setattr, 0, &attr, 0) == 0 }
}
