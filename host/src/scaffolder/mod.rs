//! The scaffolder's building blocks: the template engine (also the `templating` plugin
//! import) and a task's scratch workspace (also the `workspace` plugin resource that
//! scaffolder actions write through).

mod templating;
mod workspace;

pub use templating::render;
pub use workspace::Workspace;
