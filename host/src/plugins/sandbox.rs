//! Running one plugin call: an instance slot, a fresh store under the plugin's limits, the
//! instance, the call, and every way it can go wrong turned into a message that names the
//! plugin and the call.
//!
//! Calls run on the sandbox's own runtime, never on the server's: it has one worker thread
//! fewer than the machine has cores, at a lower CPU priority, so catalog, docs and admin
//! requests keep a core and their latency however busy plugins are.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use wasmtime::component::{Instance, InstancePre, Linker};
use wasmtime::{Engine, Store, Trap};

use super::bindings::{self, HostState, Services};
use super::engine::{self, Tier};
use super::grants::Effective;
use super::stats::Outcome;
use crate::catalog::{Catalog, Predicate};

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
    /// Dropped without waiting (see `Drop`), so it is an `Option`.
    runtime: Option<tokio::runtime::Runtime>,
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
        Ok(Self {
            optimized: linker(Tier::Optimized)?,
            baseline: linker(Tier::Baseline)?,
            services,
            slots: Semaphore::new(engine::MAX_CONCURRENT_CALLS as usize),
            runtime: Some(runtime),
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

    /// Runs `f` on a fresh instance once a slot is free.
    pub async fn run<R, F>(
        &self,
        plugin_id: &Arc<str>,
        pre: &InstancePre<HostState>,
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
        let state = HostState::new(plugin_id.clone(), &self.services, grants.clone(), visible);
        // The engine that compiled this plugin's code runs it.
        let mut store = engine::new_store(pre.engine(), state, limits);
        let call = async {
            let instance = pre.instantiate_async(&mut store).await?;
            f(&mut store, &instance).await
        };
        let result = match tokio::time::timeout(limits.deadline + DEADLINE_GRACE, call).await {
            Ok(result) => result.map_err(|error| describe(&error, limits)),
            Err(_) => Err(timed_out(limits)),
        };
        Ran {
            took: started.elapsed(),
            queued,
            result,
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        // Dropping a runtime waits for its tasks, which is not allowed inside another runtime
        // (the server's, when the last handle goes); calls in flight are abandoned instead.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
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
