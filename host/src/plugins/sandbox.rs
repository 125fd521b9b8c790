//! Running one plugin call: a fresh store under the plugin's limits, the instance, the call,
//! and every way it can go wrong turned into a message that names the plugin and the call.

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use wasmtime::component::{Instance, InstancePre, Linker};
use wasmtime::{Engine, Store, Trap};

use super::bindings::{self, HostState};
use super::engine;
use super::grants::Effective;
use super::stats::Outcome;
use crate::catalog::Catalog;

/// The engine, the linker with every host import, and the services host functions reach.
pub struct Sandbox {
    pub engine: Engine,
    pub linker: Linker<HostState>,
    catalog: Arc<Catalog>,
    /// Calls running now, at most `engine::MAX_CONCURRENT_CALLS`.
    running: Mutex<u32>,
    finished: Condvar,
}

/// A call that did not return normally.
#[derive(Debug)]
pub struct CallError {
    pub outcome: Outcome,
    pub reason: String,
}

impl Sandbox {
    pub fn new(catalog: Arc<Catalog>) -> anyhow::Result<Self> {
        let engine = engine::new_engine()?;
        let mut linker = Linker::new(&engine);
        bindings::add_to_linker(&mut linker)?;
        Ok(Self {
            engine,
            linker,
            catalog,
            running: Mutex::new(0),
            finished: Condvar::new(),
        })
    }

    pub fn catalog(&self) -> &Arc<Catalog> {
        &self.catalog
    }

    /// Runs `f` on a fresh instance. Returns how long it took along with the result.
    pub fn run<R>(
        &self,
        plugin_id: &Arc<str>,
        pre: &InstancePre<HostState>,
        grants: &Arc<Effective>,
        f: impl FnOnce(&mut Store<HostState>, &Instance) -> wasmtime::Result<R>,
    ) -> (Duration, Result<R, CallError>) {
        let _slot = self.slot();
        let started = Instant::now();
        let state = HostState::new(plugin_id.clone(), self.catalog.clone(), grants.clone());
        let mut store = engine::new_store(&self.engine, state, grants.limits);
        let result = pre
            .instantiate(&mut store)
            .and_then(|instance| f(&mut store, &instance));
        let took = started.elapsed();
        (
            took,
            result.map_err(|error| describe(&error, grants.limits)),
        )
    }
}

/// One of the pool's instance slots, given back when dropped.
struct Slot<'a>(&'a Sandbox);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        *self.0.running.lock().unwrap_or_else(|e| e.into_inner()) -= 1;
        self.0.finished.notify_one();
    }
}

impl Sandbox {
    /// Waits for a free instance slot: a burst of calls queues instead of failing.
    fn slot(&self) -> Slot<'_> {
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        while *running >= engine::MAX_CONCURRENT_CALLS {
            running = self
                .finished
                .wait(running)
                .unwrap_or_else(|e| e.into_inner());
        }
        *running += 1;
        Slot(self)
    }
}

fn describe(error: &wasmtime::Error, limits: engine::CallLimits) -> CallError {
    if let Some(Trap::Interrupt) = error.downcast_ref::<Trap>() {
        return CallError {
            outcome: Outcome::TimedOut,
            reason: format!("timed out after {:?}", limits.deadline),
        };
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
