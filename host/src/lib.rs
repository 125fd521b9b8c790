//! Greenroom, a developer portal: every capability as a library, with the `greenroom` binary
//! (`main.rs`) on top. One folder per capability, each with a narrow public surface:
//!
//! - [`catalog`] — Backstage's software catalog: ingestion, store, `/api/catalog`.
//! - [`plugins`] — the WebAssembly plugin host: loading, sandbox, host imports, `/api/plugins`.
//! - [`techdocs`] — documentation sites built natively from MkDocs sources, Backstage's TechDocs
//!   API and the reader's, sanitized markdown.
//! - [`scaffolder`] — Software Templates: templates, actions, tasks, Backstage's
//!   `/api/scaffolder/v2`, the template engine.
//! - [`auth`] — identity: sign-in providers, user tokens, static tokens, the API closed to
//!   anonymous callers once sign-in is configured.
//! - [`permissions`] — who may do what: Backstage's permission model decided by a policy
//!   file; capabilities ask it and answer for their own resources.
//! - [`search`] — one full-text index over the catalog, its docs and plugins' documents,
//!   Backstage's `/api/search`.
//! - [`http`] — HTTP plumbing every capability's routes share; imports no capability.
//! - [`support`] — path confinement, the allocator, folder watching; imports no capability.
//! - [`app`] — the composition root: config, start-up order, state, router.
//! - [`cli`] — the one-shot commands.
//!
//! Dependencies point one way: `support`, `http` <- `permissions` <- `catalog` <- `auth`,
//! `techdocs`, `scaffolder` <- `plugins` <- `app`, `cli` (`scaffolder` uses `auth`; `search`
//! uses `catalog` and `techdocs`, and `plugins` feeds it).

pub mod app;
pub mod auth;
pub mod catalog;
pub mod cli;
pub mod http;
pub mod permissions;
pub mod plugins;
pub mod scaffolder;
pub mod search;
pub mod support;
pub mod techdocs;

/// The dependency order above, checked on the sources: a `crate::<module>` path in a module
/// that may not use it fails the test, so a cycle cannot creep back in.
#[cfg(test)]
mod layering {
    use std::path::Path;

    /// Each top-level module with the modules it may use.
    const ALLOWED: &[(&str, &[&str])] = &[
        ("support", &[]),
        ("http", &[]),
        ("permissions", &["support", "http"]),
        ("catalog", &["support", "http", "permissions"]),
        ("auth", &["support", "http", "permissions", "catalog"]),
        ("techdocs", &["support", "http", "permissions", "catalog"]),
        (
            "search",
            &["support", "http", "permissions", "catalog", "techdocs"],
        ),
        (
            "scaffolder",
            &["support", "http", "permissions", "auth", "catalog"],
        ),
        (
            "plugins",
            &[
                "support",
                "http",
                "permissions",
                "catalog",
                "techdocs",
                "scaffolder",
                // Plugins feed search their documents; search never calls plugins.
                "search",
            ],
        ),
        (
            "app",
            &[
                "support",
                "http",
                "permissions",
                "auth",
                "catalog",
                "techdocs",
                "scaffolder",
                "search",
                "plugins",
            ],
        ),
        (
            "cli",
            &[
                "support",
                "permissions",
                "auth",
                "catalog",
                "techdocs",
                "plugins",
                "app",
            ],
        ),
    ];

    fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    #[test]
    fn modules_use_only_the_modules_below_them() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut problems = Vec::new();
        for (module, allowed) in ALLOWED {
            let mut files = Vec::new();
            sources(&src.join(module), &mut files);
            assert!(!files.is_empty(), "no sources for module {module}");
            for file in files {
                let text = std::fs::read_to_string(&file).unwrap();
                for (other, _) in ALLOWED {
                    if other != module
                        && !allowed.contains(other)
                        && text.contains(&format!("crate::{other}"))
                    {
                        problems.push(format!("{} uses crate::{other}", file.display()));
                    }
                }
            }
        }
        assert!(problems.is_empty(), "{problems:#?}");
    }
}
