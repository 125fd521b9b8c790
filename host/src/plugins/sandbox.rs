//! Running one plugin call: a fresh store under the plugin's limits, the instance, the call,
//! and every way it can go wrong turned into a message that names the plugin and the call.

use std::sync::Arc;
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

fn describe(error: &wasmtime::Error, limits: engine::CallLimits) -> CallError {
    match error.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => CallError {
            outcome: Outcome::TimedOut,
            reason: format!("timed out after {:?}", limits.deadline),
        },
        _ => {
            let text = format!("{error:#}");
            let reason = if text.contains("forcing trap when growing memory") {
                format!(
                    "exceeded its memory limit of {} MiB",
                    limits.memory_bytes >> 20
                )
            } else {
                format!("trapped: {text}")
            };
            CallError {
                outcome: Outcome::Trapped,
                reason,
            }
        }
    }
}
