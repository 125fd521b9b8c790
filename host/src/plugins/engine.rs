//! The one place that configures wasmtime: the engine, the pooling allocator, the limits every
//! call runs under (deadline by epoch, memory cap, concurrency), and the on-disk cache of
//! compiled components. No other code touches these knobs.
//!
//! Calls run async: a plugin waiting on the network holds no thread, and a plugin computing
//! yields to the others at every epoch tick, so one busy plugin cannot hold a worker.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::Path;
use std::time::{Duration, Instant};

use wasmtime::component::Component;
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, ResourceLimiter, Store,
    StoreLimits, StoreLimitsBuilder, Strategy, UpdateDeadline,
};

/// How often the epoch advances, and so how long a computing call runs before it yields to
/// the other calls on its worker: short, so a call whose answer has arrived waits at most a
/// few milliseconds per computing call ahead of it.
const EPOCH_TICK: Duration = Duration::from_millis(2);

/// Plugin calls running at once over all plugins; more wait briefly for a slot. The pooling
/// allocator is sized for this many instances. A call waiting on the network holds only its
/// instance, so this can be far above the number of threads.
pub const MAX_CONCURRENT_CALLS: u32 = 256;

/// Instances made ahead of their calls (see `sandbox::Prepared`) waiting at once over all
/// plugins. The pool holds them beside the call slots, so they never take a call's place.
pub const MAX_PREPARED: u32 = 16;

/// Calls of one plugin running at once unless the operator sets `limits.concurrency`: one
/// plugin cannot take every slot.
pub const DEFAULT_CONCURRENCY: u32 = 32;

/// The most linear memory any call may be granted.
pub const MAX_MEMORY_BYTES: usize = 256 << 20;

/// What one call may use.
#[derive(Debug, Clone, Copy)]
pub struct CallLimits {
    /// Wall-clock time after which the call is interrupted.
    pub deadline: Duration,
    /// Linear memory a call may grow to, in bytes.
    pub memory_bytes: usize,
    /// Calls of this plugin that may run at once; more are refused at once.
    pub concurrency: u32,
}

impl Default for CallLimits {
    fn default() -> Self {
        Self {
            deadline: Duration::from_secs(2),
            memory_bytes: 64 << 20,
            concurrency: DEFAULT_CONCURRENCY,
        }
    }
}

/// Which compiler made a plugin's code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    /// Winch: one pass, several times faster to compile, slower to run. A large new plugin
    /// serves from it at once while its optimised code compiles.
    Baseline,
    /// Cranelift: the code every plugin ends up running, cached on disk.
    Optimized,
}

impl Tier {
    pub fn name(self) -> &'static str {
        match self {
            Tier::Baseline => "baseline",
            Tier::Optimized => "optimized",
        }
    }
}

/// Components at least this large (Python and JavaScript ones: megabytes) serve from a
/// baseline compile first when no optimised code is cached; smaller ones compile optimised
/// in well under a second.
pub const BASELINE_FROM_BYTES: usize = 1 << 20;

/// Builds an engine for `tier` and starts the thread that advances its epoch. Optimised code
/// runs from a pooling allocator sized for [`MAX_CONCURRENT_CALLS`]; baseline code, which
/// serves only until its optimised replacement is ready, allocates on demand.
pub fn new_engine(tier: Tier) -> anyhow::Result<Engine> {
    let mut config = Config::new();
    config.epoch_interruption(true);
    match tier {
        Tier::Optimized => config
            .strategy(Strategy::Cranelift)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool())),
        Tier::Baseline => config.strategy(Strategy::Winch),
    };
    let engine = Engine::new(&config).map_err(anyhow::Error::from)?;
    let ticker = engine.weak();
    std::thread::Builder::new()
        .name("wasm-epoch".into())
        .spawn(move || {
            while let Some(engine) = ticker.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        })?;
    Ok(engine)
}

/// Bytes of a returned slot's linear memory kept mapped for the next call.
const KEEP_RESIDENT: usize = 8 << 20;
/// Idle slots that keep their pages (and their module, so a plugin's next call finds its
/// own image in place).
const WARM_SLOTS: u32 = 16;

/// The instance pool optimised code runs from, sized for [`MAX_CONCURRENT_CALLS`] and
/// [`MAX_PREPARED`].
fn pool() -> PoolingAllocationConfig {
    let instances = MAX_CONCURRENT_CALLS + MAX_PREPARED;
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(instances + 16)
        .total_core_instances(instances * 30)
        .total_memories(instances * 3)
        .total_tables(instances * 6)
        .total_stacks(instances + 16)
        .max_memories_per_component(8)
        .max_tables_per_component(16)
        .max_core_instances_per_component(100)
        .max_component_instance_size(1 << 20)
        .max_core_instance_size(1 << 20)
        .max_memory_size(MAX_MEMORY_BYTES)
        // A returned slot's pages stay mapped and only those the call wrote are put back
        // (PAGEMAP_SCAN finds them, kernel 6.7+; else the first pages are memset): unmapping
        // on every call cost page faults on the next and a TLB shootdown across cores —
        // for Python and JavaScript, whose runtimes write megabytes per call, a third of
        // the call. Idle slots keeping pages are capped, so at most
        // `WARM_SLOTS × KEEP_RESIDENT` stays resident for reuse.
        .linear_memory_keep_resident(KEEP_RESIDENT)
        .pagemap_scan(wasmtime::Enabled::Auto)
        .max_unused_warm_slots(WARM_SLOTS)
        .table_keep_resident(1 << 20)
        // What is still given back goes in batches: one shootdown for several slots.
        .decommit_batch_size(8);
    pool
}

/// State that carries its call's memory cap and start, so [`new_store`] can enforce them.
pub trait Limited {
    fn memory_cap(&mut self) -> &mut MemoryCap;
    /// When the call's deadline started counting: when its store was made, or when an
    /// instance made ahead was handed to its call.
    fn started(&self) -> Instant;
}

/// A call went over its memory limit. The trap carries this error, so the sandbox tells it
/// from other traps by its type rather than by wasmtime's wording.
#[derive(Debug, thiserror::Error)]
#[error("exceeded its memory limit of {} MiB", .limit_bytes >> 20)]
pub struct MemoryLimitExceeded {
    pub limit_bytes: usize,
}

/// One call's memory cap: linear memory past the limit traps with [`MemoryLimitExceeded`];
/// tables and instances are bounded as wasmtime's [`StoreLimits`] bounds them.
pub struct MemoryCap {
    limit_bytes: usize,
    others: StoreLimits,
}

impl MemoryCap {
    pub fn new(limits: CallLimits) -> Self {
        Self {
            limit_bytes: limits.memory_bytes,
            others: StoreLimitsBuilder::new()
                .instances(100)
                .trap_on_grow_failure(true)
                .build(),
        }
    }
}

impl ResourceLimiter for MemoryCap {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.limit_bytes {
            return Err(MemoryLimitExceeded {
                limit_bytes: self.limit_bytes,
            }
            .into());
        }
        self.others.memory_growing(current, desired, maximum)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.others.table_growing(current, desired, maximum)
    }

    fn instances(&self) -> usize {
        self.others.instances()
    }

    fn tables(&self) -> usize {
        self.others.tables()
    }

    fn memories(&self) -> usize {
        self.others.memories()
    }
}

/// A fresh store for one call: nothing is shared with earlier calls. The call yields to other
/// calls at every epoch tick and traps (`Trap::Interrupt`) once its deadline, counted from
/// the state's [`Limited::started`], has passed.
pub fn new_store<T: Limited + Send + 'static>(
    engine: &Engine,
    data: T,
    limits: CallLimits,
) -> Store<T> {
    let mut store = Store::new(engine, data);
    store.limiter(|state| state.memory_cap());
    store.epoch_deadline_callback(move |store| {
        Ok(if store.data().started().elapsed() >= limits.deadline {
            UpdateDeadline::Interrupt
        } else {
            UpdateDeadline::YieldCustom(1, Box::pin(tokio::task::yield_now()))
        })
    });
    store.set_epoch_deadline(1);
    store
}

/// The compiled code of a component an earlier load cached in `cache` for this engine. The key
/// is the content hash plus the engine's compatibility hash, so a new wasmtime or different
/// settings never load stale code.
pub fn cached(engine: &Engine, content_hash: &str, cache: &Path) -> Option<Component> {
    let file = cache_file(engine, content_hash, cache);
    if !file.is_file() {
        return None;
    }
    // SAFETY: files in the cache folder are written only by `compile` below, from code this
    // engine compiled; wasmtime still checks the header matches the engine.
    match unsafe { Component::deserialize_file(engine, &file) } {
        Ok(component) => Some(component),
        Err(e) => {
            tracing::warn!("ignoring cached {}: {e}", file.display());
            None
        }
    }
}

/// Compiles a component and, with a `cache` folder, keeps the code there for [`cached`].
pub fn compile(
    engine: &Engine,
    bytes: &[u8],
    content_hash: &str,
    cache: Option<&Path>,
) -> anyhow::Result<Component> {
    let component = Component::new(engine, bytes).map_err(anyhow::Error::from)?;
    let Some(cache) = cache else {
        return Ok(component);
    };
    let file = cache_file(engine, content_hash, cache);
    let written = component
        .serialize()
        .map_err(anyhow::Error::from)
        .and_then(|code| {
            std::fs::create_dir_all(cache)?;
            // Servers may share a cache: each writes its own partial file, then renames.
            let partial = file.with_extension(format!("{}.partial", std::process::id()));
            std::fs::write(&partial, code)?;
            std::fs::rename(&partial, &file)?;
            Ok(())
        });
    if let Err(e) = written {
        tracing::warn!("cannot cache compiled plugin in {}: {e:#}", cache.display());
    }
    Ok(component)
}

fn cache_file(engine: &Engine, content_hash: &str, cache: &Path) -> std::path::PathBuf {
    let mut hasher = DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    cache.join(format!("{content_hash}-{:016x}.cwasm", hasher.finish()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmtime::{Instance, Module};

    /// A module with 16 MiB of memory whose `touch` writes every other 4 KiB page of the
    /// first 6 MiB: 768 runs of one written page each, as scattered as CPython's writes.
    const TOUCH: &[u8] = &[
        0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version 1
        0x01, 0x04, 0x01, 0x60, 0x00, 0x00, // types: [] -> []
        0x03, 0x02, 0x01, 0x00, // functions: one of type 0
        0x05, 0x04, 0x01, 0x00, 0x80, 0x02, // memory: 256 pages of 64 KiB
        0x07, 0x09, 0x01, 0x05, b't', b'o', b'u', b'c', b'h', 0x00, 0x00, // export "touch"
        0x0a, 0x21, 0x01, 0x1f, // code: one body of 31 bytes
        0x01, 0x01, 0x7f, // one i32 local: the address
        0x03, 0x40, // loop
        0x20, 0x00, 0x41, 0x01, 0x36, 0x02, 0x00, // store 1 at the address
        0x20, 0x00, 0x41, 0x80, 0xc0, 0x00, 0x6a, 0x22, 0x00, // address += 8192
        0x41, 0x80, 0x80, 0x80, 0x03, 0x49, 0x0d, 0x00, // while address < 6 MiB
        0x0b, 0x0b, // end loop, end function
    ];
    const PAGES_WRITTEN: i64 = (6 << 20) / 8192;

    /// A module whose table is filled at an offset read from an imported global, as in
    /// componentize-py's libraries, so each instantiation makes every entry's function
    /// reference. `call(i)` calls table entry `i`: functions answering 7 and 9 at `base`.
    const TABLE_AT_IMPORTED_OFFSET: &[u8] = &[
        0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version 1
        0x01, 0x0a, 0x02, 0x60, 0x00, 0x01, 0x7f, 0x60, 0x01, 0x7f, 0x01, 0x7f, // types
        0x02, 0x0d, 0x01, 0x03, b'e', b'n', b'v', 0x04, b'b', b'a', b's', b'e', 0x03, 0x7f,
        0x00, // import the i32 global env.base
        0x03, 0x04, 0x03, 0x00, 0x00, 0x01, // functions: two [] -> i32, one i32 -> i32
        0x04, 0x04, 0x01, 0x70, 0x00, 0x04, // a table of 4 funcrefs
        0x07, 0x0c, 0x02, 0x04, b'c', b'a', b'l', b'l', 0x00, 0x02, 0x01, b't', 0x01,
        0x00, // export "call" and the table "t"
        0x09, 0x08, 0x01, 0x00, 0x23, 0x00, 0x0b, 0x02, 0x00, 0x01, // elements at base
        0x0a, 0x13, 0x03, // code: three bodies
        0x04, 0x00, 0x41, 0x07, 0x0b, // 7
        0x04, 0x00, 0x41, 0x09, 0x0b, // 9
        0x07, 0x00, 0x20, 0x00, 0x11, 0x00, 0x00, 0x0b, // call_indirect entry i
    ];

    /// Page faults this thread has taken so far.
    fn page_faults() -> i64 {
        // SAFETY: getrusage only writes the struct it is given.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut usage) };
        usage.ru_minflt
    }

    #[test]
    fn function_references_made_at_instantiation_reach_their_functions() {
        use wasmtime::{Global, GlobalType, Mutability, Val, ValType};
        let engine = new_engine(Tier::Optimized).unwrap();
        let module = Module::new(&engine, TABLE_AT_IMPORTED_OFFSET).unwrap();
        // Several instances, so later ones use the entry points the first one looked up.
        for base in [1, 2, 1] {
            let mut store = Store::new(&engine, ());
            store.set_epoch_deadline(1 << 20);
            let ty = GlobalType::new(ValType::I32, Mutability::Const);
            let global = Global::new(&mut store, ty, Val::I32(base)).unwrap();
            let instance = Instance::new(&mut store, &module, &[global.into()]).unwrap();
            // From wasm (`call_indirect`: the functions' wasm entry points) ...
            let call = instance
                .get_typed_func::<i32, i32>(&mut store, "call")
                .unwrap();
            assert_eq!(call.call(&mut store, base).unwrap(), 7);
            assert_eq!(call.call(&mut store, base + 1).unwrap(), 9);
            assert!(call.call(&mut store, 0).is_err(), "entry 0 is empty");
            // ... and from the host (their array-call entry points).
            let table = instance.get_table(&mut store, "t").unwrap();
            let entry = table.get(&mut store, base as u64 + 1).unwrap();
            let nine = entry
                .unwrap_func()
                .unwrap()
                .typed::<(), i32>(&store)
                .unwrap();
            assert_eq!(nine.call(&mut store, ()).unwrap(), 9);
        }
    }

    #[test]
    fn a_returned_memory_keeps_every_page_it_wrote() {
        let engine = new_engine(Tier::Optimized).unwrap();
        let module = Module::new(&engine, TOUCH).unwrap();
        let faults: Vec<i64> = (0..3)
            .map(|_| {
                let before = page_faults();
                let mut store = Store::new(&engine, ());
                store.set_epoch_deadline(1 << 20);
                let instance = Instance::new(&mut store, &module, &[]).unwrap();
                let touch = instance
                    .get_typed_func::<(), ()>(&mut store, "touch")
                    .unwrap();
                touch.call(&mut store, ()).unwrap();
                drop(store);
                page_faults() - before
            })
            .collect();
        // The first instance faults in every page it writes; the pool then keeps them all
        // (far under KEEP_RESIDENT), not only the first 32 runs, so later ones fault little.
        assert!(faults[0] >= PAGES_WRITTEN, "{faults:?}");
        assert!(faults[2] < PAGES_WRITTEN / 8, "{faults:?}");
    }
}
