//! Helpers every capability may use and that know none of them: confining untrusted paths to
//! a root, reading untrusted files within bounds, the process allocator, the server's own outbound HTTP, and
//! watching folders for changes.

pub mod allocator;
pub mod cpu;
pub mod files;
pub mod outbound;
pub mod paths;
pub mod walk;
pub mod watch;
