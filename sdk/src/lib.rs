//! Write Greenroom plugins in Rust.
//!
//! An entity-tab plugin implements [`TabPlugin`] and exports it with one macro:
//!
//! ```ignore
//! use greenroom_sdk::{PluginInfo, Tab, TabPlugin, export_tab_plugin, types::{Entity, NodeId, Viewer}, ui::TreeBuilder};
//! struct Hello;
//! impl TabPlugin for Hello {
//!     fn info() -> PluginInfo { /* id, name, version, description */ }
//!     fn tabs(entity: &Entity, viewer: &Viewer) -> Vec<Tab> { /* often none */ }
//!     fn render(tab: &str, entity: &Entity, viewer: &Viewer, ui: &mut TreeBuilder) -> Result<NodeId, String> {
//!         Ok(ui.text(format!("Hello, {}", entity.display_name())))
//!     }
//! }
//! export_tab_plugin!(Hello);
//! ```
//!
//! Beside that: typed reads of entities ([`entity`]), UI builders with buttons and forms
//! ([`ui`]), outgoing HTTP ([`http`]), and the contract's imports (`catalog`, `config`,
//! `docs`, `log`, `schedule`, `storage`, `templating`). Plugins that contribute other things
//! (cards, pages, interactions, search documents, scaffolder actions, entity providers, or
//! several at once) bind a
//! world with [`bind_world!`] and implement the generated traits.

pub mod entity;
pub mod http;
pub mod routes;
mod tab_plugin;
pub mod ui;

pub use tab_plugin::TabPlugin;

/// Generated bindings. `export_plugin!` (exported at the crate root) exports a type that
/// implements [`meta::Guest`] and [`entity_tabs::Guest`] as the plugin.
#[allow(missing_docs, clippy::all)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit/v0.2.0",
        world: "entity-tabs-plugin",
        generate_all,
        pub_export_macro: true,
        export_macro_name: "export_plugin",
        default_bindings_module: "greenroom_sdk::bindings",
    });
}

/// Binds another world of the contract in the calling crate, sharing this SDK's imports so
/// its helpers ([`http`], [`ui`], the entity methods) work with it: a world of the contract
/// (`bind_world!("provider-plugin", PATH)`), or a world of your own that includes several
/// (`bind_world!(inline: r#"package my:plugin; world plugin { include
/// greenroom:plugin/entity-cards-plugin@0.2.0; include greenroom:plugin/interactive@0.2.0;
/// }"#, PATH)`). `PATH` is the contract's folder relative to the calling crate; the crate
/// needs `wit-bindgen` as a dependency. Afterwards implement the generated
/// `exports::...::Guest` traits and call `export!`.
#[macro_export]
macro_rules! bind_world {
    (inline: $inline:literal, $path:literal) => {
        $crate::bind_world!(@generate inline: $inline, path: $path);
    };
    ($world:literal, $path:literal) => {
        $crate::bind_world!(@generate world: $world, path: $path);
    };
    (@generate $($key:ident: $value:literal),*) => {
        wit_bindgen::generate!({
            $($key: $value,)*
            generate_all,
            with: {
                "greenroom:plugin/types@0.2.0": greenroom_sdk::types,
                "greenroom:plugin/catalog@0.2.0": greenroom_sdk::catalog,
                "greenroom:plugin/templating@0.2.0": greenroom_sdk::templating,
                "greenroom:plugin/docs@0.2.0": greenroom_sdk::docs,
                "greenroom:plugin/config@0.2.0": greenroom_sdk::config,
                "greenroom:plugin/log@0.2.0": greenroom_sdk::log,
                "greenroom:plugin/storage@0.2.0": greenroom_sdk::storage,
                "greenroom:plugin/schedule@0.2.0": greenroom_sdk::schedule,
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

pub use bindings::exports::greenroom::plugin::entity_tabs::{self, Tab};
pub use bindings::exports::greenroom::plugin::meta::{self, PluginInfo};
pub use bindings::greenroom::plugin::{
    catalog, config, docs, log, schedule, storage, templating, types,
};
