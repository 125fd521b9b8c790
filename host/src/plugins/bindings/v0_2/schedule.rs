//! `schedule`: a plugin asking for its entity provider or search collection to run now.

use super::greenroom::plugin::schedule;
use crate::plugins::bindings::HostState;
use crate::plugins::schedule::Job;

impl schedule::Host for HostState {
    fn run_soon(&mut self, job: schedule::Job) -> wasmtime::Result<Result<(), String>> {
        let job = match job {
            schedule::Job::EntityProvider if !self.grants.catalog_write => {
                return Ok(Err(format!(
                    "schedule.run-soon: plugin {} is not granted catalogWrite, so its entity \
                     provider does not run",
                    self.plugin_id
                )));
            }
            schedule::Job::EntityProvider => Job::Provider,
            schedule::Job::SearchDocuments => Job::SearchDocuments,
        };
        self.soon.ask(&self.plugin_id, job);
        Ok(Ok(()))
    }
}
