//! Write Greenroom plugins in Rust.
//!
//! The crate carries the bindings for the WIT contract (`wit/v0.1.0`), the `export_plugin!`
//! macro that exports a type implementing the plugin interfaces, and [`ui::TreeBuilder`] for
//! building the declarative UI trees that entity tabs return.
//!
//! ```ignore
//! use greenroom_sdk::{export_plugin, meta, entity_tabs, types};
//! struct MyPlugin;
//! impl meta::Guest for MyPlugin { /* ... */ }
//! impl entity_tabs::Guest for MyPlugin { /* ... */ }
//! export_plugin!(MyPlugin);
//! ```

pub mod http;
pub mod ui;

/// Generated bindings. `export_plugin!` (exported at the crate root) exports a type that
/// implements [`meta::Guest`] and [`entity_tabs::Guest`] as the plugin.
#[allow(missing_docs, clippy::all)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit/v0.1.0",
        world: "entity-tabs-plugin",
        generate_all,
        pub_export_macro: true,
        export_macro_name: "export_plugin",
        default_bindings_module: "greenroom_sdk::bindings",
    });
}

/// Binds another world of the contract (`"provider-plugin"`, `"scaffolder-plugin"`, or a
/// world of your own that includes them) in the calling crate, sharing this SDK's imports so
/// its helpers ([`http`], [`ui`], the entity methods) work with it. `path` is the contract's
/// folder relative to the calling crate; the crate needs `wit-bindgen` as a dependency.
/// Afterwards implement the generated `exports::...::Guest` traits and call `export!`.
#[macro_export]
macro_rules! bind_world {
    ($world:literal, $path:literal) => {
        wit_bindgen::generate!({
            path: $path,
            world: $world,
            generate_all,
            with: {
                "greenroom:plugin/types@0.1.0": greenroom_sdk::types,
                "greenroom:plugin/catalog@0.1.0": greenroom_sdk::catalog,
                "greenroom:plugin/templating@0.1.0": greenroom_sdk::templating,
                "greenroom:plugin/docs@0.1.0": greenroom_sdk::docs,
                "greenroom:plugin/config@0.1.0": greenroom_sdk::config,
                "greenroom:plugin/log@0.1.0": greenroom_sdk::log,
                "wasi:http/types@0.2.12": greenroom_sdk::bindings::wasi::http::types,
                "wasi:http/outgoing-handler@0.2.12": greenroom_sdk::bindings::wasi::http::outgoing_handler,
                "wasi:io/error@0.2.12": greenroom_sdk::bindings::wasi::io::error,
                "wasi:io/poll@0.2.12": greenroom_sdk::bindings::wasi::io::poll,
                "wasi:io/streams@0.2.12": greenroom_sdk::bindings::wasi::io::streams,
                "wasi:clocks/monotonic-clock@0.2.12": greenroom_sdk::bindings::wasi::clocks::monotonic_clock,
            },
        });
    };
}

pub use bindings::export_plugin;

pub use bindings::exports::greenroom::plugin::{entity_tabs, meta};
pub use bindings::greenroom::plugin::{catalog, config, docs, log, templating, types};

impl types::Entity {
    /// The value of an annotation, if the entity has it.
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Target refs of this entity's relations of one type (`ownedBy`, `hasMember`, ...).
    pub fn related(&self, relation_type: &str) -> impl Iterator<Item = &str> {
        self.relations
            .iter()
            .filter(move |r| r.type_ == relation_type)
            .map(|r| r.target_ref.as_str())
    }

    /// The title if set, else the name.
    pub fn display_name(&self) -> &str {
        self.title.as_deref().unwrap_or(&self.name)
    }
}
