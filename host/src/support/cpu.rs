//! How threads share the CPU. Every thread of the server and of the plugin runtime asks for a
//! short time slice (Linux 6.12+ EEVDF: `sched_runtime` of a fair task), so a thread that
//! wakes on a busy core waits 0.1 ms at most for the one running there instead of a whole
//! default slice. Plugin workers also run at nice 10 and off the first CPU, so a computing
//! plugin gives way to the server whenever both want a core and always leaves it one. Not
//! `SCHED_IDLE` for plugins: on a machine busy with other work they would hardly run at all.
//! Measured in `cargo xtask bench plugins` (catalog reads under plugin load).

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
    let attr = libc::sched_attr {
        size: std::mem::size_of::<libc::sched_attr>() as u32,
        sched_policy: libc::SCHED_OTHER as u32,
        sched_flags: 0,
        sched_nice: nice,
        sched_priority: 0,
        sched_runtime: slice_ns,
        sched_deadline: 0,
        sched_period: 0,
    };
    // SAFETY: the kernel only reads `attr`, whose size it is told; pid 0 is the calling thread.
    if unsafe { libc::syscall(libc::SYS_sched_setattr, 0, &attr, 0) } == 0 {
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
