//! The one-shot commands: `greenroom catalog validate` and `greenroom plugin ...`. Each is a
//! thin adapter over the same capability services the server uses.

mod catalog;
mod plugin;
mod ui_text;

pub use catalog::validate;
pub use plugin::{PluginCommand, run as plugin};
