//! Running one plugin call: an instance slot, a fresh store under the plugin's limits, the
//! instance, the call, and every way it can go wrong turned into a message that names the
//! plugin and the call.
//!
//! A plugin whose instantiation is costly (Python's runtime: about a third of a millisecond)
//! has its next instance made ahead, after each call and off its path ([`Prepared`]); the
//! call still gets a store and an instance no other call has touched.
//!
//! Calls run on the sandbox's own runtime, never on the server's: it has one worker thread
//! fewer than the machine has cores, at a lower CPU priority, so catalog, docs and admin
//! requests keep a core and their latency however busy plugins are.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use wasmtime::component::{Instance, InstancePre, Linker};
use wasmtime::{Engine, Store, Trap};

use super::bindings::{self, HostState, Services};
use super::engine::{self, Tier};
use super::grants::Effective;
use super::stats::Outcome;
use crate::catalog::{Catalog, Predicate};

/// Instantiation that costs at least this much is done ahead of the call. Python's runtime
/// (CPython linked from several libraries, each placing thousands of functions in the shared
/// table) takes about a third of a millisecond; JavaScript's and Rust's take tens of
/// microseconds, no more than the cold caches an instance made elsewhere would cost the call.
const WORTH_MAKING_AHEAD: Duration = Duration::from_micros(150);

/// One plugin version's instance made ahead of its next call, when making one is worth it
/// (see [`WORTH_MAKING_AHEAD`]: measured on the instances its calls make, and on those made
/// ahead). Each is made in its own store, has run nothing but its own start-up (under a
/// catalog view that shows nothing, so what it read cannot depend on whom it will serve),
/// and serves exactly one call. Dropped with the plugin version it belongs to.
#[derive(Default)]
pub struct Prepared {
    ready: Mutex<Option<Ready>>,
    making: AtomicBool,
    worth: AtomicBool,
}

struct Ready {
    store: Store<HostState>,
    instance: Instance,
    /// The CPU time making it took.
    cost: Duration,
    /// Its place among the [`engine::MAX_PREPARED`] that may wait at once.
    _waiting: OwnedSemaphorePermit,
}

impl Prepared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Ready>> {
        self.ready.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// What a call does with its fresh instance. Boxed because it borrows the store.
pub type CallFuture<'a, R> = Pin<Box<dyn Future<Output = wasmtime::Result<R>> + Send + 'a>>;

/// How long a call waits for one of the `MAX_CONCURRENT_CALLS` slots before it is refused: a
/// short queue absorbs a burst, a long one would eat the caller's own deadline.
const QUEUE_WAIT: Duration = Duration::from_millis(250);

/// Host-side waits (a timer the plugin sleeps on) are not interrupted by epochs; the whole call
/// is dropped this long after its deadline.
const DEADLINE_GRACE: Duration = Duration::from_millis(100);

/// The engines (one per [`Tier`]) with a linker holding every host import, the services host
/// functions reach, and the runtime calls run on.
pub struct Sandbox {
    optimized: Linker<HostState>,
    baseline: Linker<HostState>,
    services: Services,
    slots: Semaphore,
    /// Places for instances made ahead, over all plugins.
    ahead: Arc<Semaphore>,
    /// Dropped without waiting (see `Drop`), so they are `Option`s.
    runtime: Option<tokio::runtime::Runtime>,
    /// Where instances are made ahead: one thread on the workers' CPUs that runs only when
    /// they are idle, so making them never delays a call (when it falls behind, calls make
    /// their own) and what it made is in the caches of the core that will use it.
    ahead_runtime: Option<tokio::runtime::Runtime>,
}

/// A call that did not return normally.
#[derive(Debug)]
pub struct CallError {
    pub outcome: Outcome,
    pub reason: String,
}

/// One call's result with how long it ran and how long it waited for a slot.
pub struct Ran<R> {
    pub took: Duration,
    pub queued: Duration,
    /// How long making its instance took, when that was done ahead of the call.
    pub prepared: Option<Duration>,
    pub result: Result<R, CallError>,
}

impl Sandbox {
    pub fn new(services: Services) -> anyhow::Result<Self> {
        let linker = |tier| -> anyhow::Result<Linker<HostState>> {
            let mut linker = Linker::new(&engine::new_engine(tier)?);
            bindings::add_to_linker(&mut linker)?;
            Ok(linker)
        };
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let workers = cores.saturating_sub(1).max(1);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .max_blocking_threads(8)
            .thread_name("plugin-worker")
            .on_thread_start(crate::support::cpu::background)
            .enable_all()
            .build()?;
        let ahead_runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("plugin-ahead")
            .on_thread_start(crate::support::cpu::idle)
            .enable_all()
            .build()?;
        Ok(Self {
            optimized: linker(Tier::Optimized)?,
            baseline: linker(Tier::Baseline)?,
            services,
            slots: Semaphore::new(engine::MAX_CONCURRENT_CALLS as usize),
            ahead: Arc::new(Semaphore::new(engine::MAX_PREPARED as usize)),
            runtime: Some(runtime),
            ahead_runtime: Some(ahead_runtime),
        })
    }

    pub fn catalog(&self) -> &Arc<Catalog> {
        &self.services.catalog
    }

    pub fn services(&self) -> &Services {
        &self.services
    }

    /// The linker of the engine that compiles `tier`'s code.
    pub fn linker(&self, tier: Tier) -> &Linker<HostState> {
        match tier {
            Tier::Optimized => &self.optimized,
            Tier::Baseline => &self.baseline,
        }
    }

    pub fn engine(&self, tier: Tier) -> &Engine {
        self.linker(tier).engine()
    }

    fn runtime(&self) -> &tokio::runtime::Runtime {
        self.runtime
            .as_ref()
            .expect("the runtime lives as long as the sandbox")
    }

    /// Runs `work` on the plugin runtime; awaiting it holds no thread of the caller's.
    pub async fn spawn<T: Send + 'static>(
        &self,
        work: impl Future<Output = T> + Send + 'static,
    ) -> anyhow::Result<T> {
        self.runtime()
            .spawn(work)
            .await
            .map_err(|e| anyhow::anyhow!("plugin task ended abnormally: {e}"))
    }

    /// Runs `work` to completion from a thread outside any async context (start-up, the
    /// folder watcher, the provider scheduler, the CLI).
    pub fn block_on<T>(&self, work: impl Future<Output = T>) -> T {
        self.runtime().block_on(work)
    }

    /// Runs `f` on a fresh instance once a slot is free: the one `prepared` holds if there is
    /// one, else one made now. With `prepared`, the next call's instance is made afterwards.
    pub async fn run<R, F>(
        &self,
        plugin_id: &Arc<str>,
        pre: &InstancePre<HostState>,
        prepared: Option<&Arc<Prepared>>,
        grants: &Arc<Effective>,
        visible: Option<Predicate>,
        f: F,
    ) -> Ran<R>
    where
        F: for<'a> FnOnce(&'a mut Store<HostState>, &'a Instance) -> CallFuture<'a, R> + Send,
    {
        let queued_at = Instant::now();
        let Ok(Ok(_slot)) = tokio::time::timeout(QUEUE_WAIT, self.slots.acquire()).await else {
            return Ran {
                took: Duration::ZERO,
                queued: queued_at.elapsed(),
                prepared: None,
                result: Err(CallError {
                    outcome: Outcome::Refused,
                    reason: format!(
                        "all {} plugin call slots stayed busy for {QUEUE_WAIT:?}",
                        engine::MAX_CONCURRENT_CALLS
                    ),
                }),
            };
        };
        let queued = queued_at.elapsed();
        let started = Instant::now();
        let limits = grants.limits;
        let ready = prepared.and_then(|p| p.lock().take());
        let made_in = ready.as_ref().map(|r| r.cost);
        let (mut store, instance) = match ready {
            Some(Ready {
                mut store,
                instance,
                ..
            }) => {
                store.data_mut().begin(visible);
                store.set_epoch_deadline(1);
                (store, Some(instance))
            }
            None => {
                let state =
                    HostState::new(plugin_id.clone(), &self.services, grants.clone(), visible);
                // The engine that compiled this plugin's code runs it.
                (engine::new_store(pre.engine(), state, limits), None)
            }
        };
        let call = async {
            let instance = match instance {
                Some(instance) => instance,
                None => {
                    let (instance, cost) = on_cpu(pre.instantiate_async(&mut store)).await;
                    let instance = instance?;
                    if let Some(prepared) = prepared
                        && cost >= WORTH_MAKING_AHEAD
                    {
                        prepared.worth.store(true, Ordering::Release);
                    }
                    instance
                }
            };
            f(&mut store, &instance).await
        };
        let result = match tokio::time::timeout(limits.deadline + DEADLINE_GRACE, call).await {
            Ok(result) => result.map_err(|error| describe(&error, limits)),
            Err(_) => Err(timed_out(limits)),
        };
        let took = started.elapsed();
        // The next call's instance is made once this one is over: made meanwhile, it would
        // slow this call (they contend for the address space), and this call's slot, free
        // now, is the warm one to make it in.
        drop(store);
        if let Some(prepared) = prepared {
            self.prepare(plugin_id, pre, grants, prepared);
        }
        Ran {
            took,
            queued,
            prepared: made_in,
            result,
        }
    }

    /// Makes `prepared`'s next instance on the idle runtime, unless that is not worth it, one
    /// is ready or being made, or [`engine::MAX_PREPARED`] already wait. A failure is only
    /// logged: the next call makes its own instance and meets the failure itself.
    fn prepare(
        &self,
        plugin_id: &Arc<str>,
        pre: &InstancePre<HostState>,
        grants: &Arc<Effective>,
        prepared: &Arc<Prepared>,
    ) {
        if !prepared.worth.load(Ordering::Acquire)
            || prepared.lock().is_some()
            || prepared.making.swap(true, Ordering::AcqRel)
        {
            return;
        }
        let Ok(waiting) = self.ahead.clone().try_acquire_owned() else {
            prepared.making.store(false, Ordering::Release);
            return;
        };
        let into: Weak<Prepared> = Arc::downgrade(prepared);
        let (id, pre, limits) = (plugin_id.clone(), pre.clone(), grants.limits);
        let state = HostState::ahead(plugin_id.clone(), &self.services, grants.clone());
        let ahead = self
            .ahead_runtime
            .as_ref()
            .expect("the runtime lives as long as the sandbox");
        ahead.spawn(async move {
            let mut store = engine::new_store(pre.engine(), state, limits);
            let (made, cost) = on_cpu(tokio::time::timeout(
                limits.deadline,
                pre.instantiate_async(&mut store),
            ))
            .await;
            let Some(prepared) = into.upgrade() else {
                return;
            };
            if cost < WORTH_MAKING_AHEAD {
                prepared.worth.store(false, Ordering::Release);
            }
            match made {
                Ok(Ok(instance)) => {
                    *prepared.lock() = Some(Ready {
                        store,
                        instance,
                        cost,
                        _waiting: waiting,
                    })
                }
                Ok(Err(e)) => {
                    tracing::debug!(plugin = %id, "making an instance ahead failed: {e:#}")
                }
                Err(_) => tracing::debug!(plugin = %id, "making an instance ahead timed out"),
            }
            prepared.making.store(false, Ordering::Release);
        });
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        // Dropping a runtime waits for its tasks, which is not allowed inside another runtime
        // (the server's, when the last handle goes); calls in flight are abandoned instead.
        for runtime in [self.runtime.take(), self.ahead_runtime.take()]
            .into_iter()
            .flatten()
        {
            runtime.shutdown_background();
        }
    }
}

/// `work`'s result with the CPU time its thread spent meanwhile: what an instantiation
/// costs however busy the cores are (wall time would count the other work they run, and the
/// idle-only thread's waits). Should the task run something else or move threads meanwhile,
/// the figure is off for that once; the next instantiation measures again.
async fn on_cpu<T>(work: impl Future<Output = T>) -> (T, Duration) {
    let started = crate::support::cpu::thread_time();
    let done = work.await;
    (
        done,
        crate::support::cpu::thread_time().saturating_sub(started),
    )
}

fn timed_out(limits: engine::CallLimits) -> CallError {
    CallError {
        outcome: Outcome::TimedOut,
        reason: format!("timed out after {:?}", limits.deadline),
    }
}

fn describe(error: &wasmtime::Error, limits: engine::CallLimits) -> CallError {
    if let Some(Trap::Interrupt) = error.downcast_ref::<Trap>() {
        return timed_out(limits);
    }
    let reason = match error.downcast_ref::<engine::MemoryLimitExceeded>() {
        Some(exceeded) => exceeded.to_string(),
        None => format!("trapped: {error:#}"),
    };
    CallError {
        outcome: Outcome::Trapped,
        reason,
    }
}
