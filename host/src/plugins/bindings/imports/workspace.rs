//! `workspace`: a scaffolder task's files, confined to its folder.

use wasmtime::component::Resource;

use super::greenroom::plugin::workspace;
use crate::plugins::bindings::HostState;
use crate::scaffolder::Workspace;

impl workspace::Host for HostState {}

impl workspace::HostWorkspace for HostState {
    fn list_files(
        &mut self,
        workspace: Resource<Workspace>,
    ) -> wasmtime::Result<Result<Vec<String>, String>> {
        Ok(self.table.get(&workspace)?.list_files())
    }

    fn read_file(
        &mut self,
        workspace: Resource<Workspace>,
        path: String,
    ) -> wasmtime::Result<Result<Vec<u8>, String>> {
        let contents = self.table.get(&workspace)?.read_file(&path);
        Ok(contents.and_then(|bytes| {
            self.charge("workspace.read-file", bytes.len())
                .map(|()| bytes)
        }))
    }

    fn write_file(
        &mut self,
        workspace: Resource<Workspace>,
        path: String,
        contents: Vec<u8>,
    ) -> wasmtime::Result<Result<(), String>> {
        // Writes count against the call's host-data budget too: a plugin cannot fill the disk.
        if let Err(message) = self.charge("workspace.write-file", contents.len()) {
            return Ok(Err(message));
        }
        Ok(self.table.get(&workspace)?.write_file(&path, &contents))
    }

    fn delete_file(
        &mut self,
        workspace: Resource<Workspace>,
        path: String,
    ) -> wasmtime::Result<Result<(), String>> {
        Ok(self.table.get(&workspace)?.delete_file(&path))
    }

    fn drop(&mut self, workspace: Resource<Workspace>) -> wasmtime::Result<()> {
        self.table.delete(workspace)?;
        Ok(())
    }
}
