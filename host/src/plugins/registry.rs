//! The set of plugins, by file, and loading one file into it: compile (or take the cached
//! compilation), link against the contract, find which contribution interfaces it exports,
//! ask `meta.info` who it is, and work out its grants. The set is immutable; a change builds a
//! new one that is swapped in whole, so a call always sees one consistent version.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use greenroom_api::{ActionSummary, Capabilities};
use sha2::{Digest, Sha256};
use wasmtime::component::InstancePre;

use super::bindings::{Exports, HostState, PluginInfo, pages, scaffolder_actions};
use super::engine::{self, Tier};
use super::grants::{Effective, Manifest, OperatorGrant};
use super::sandbox::{Prepared, Sandbox};

/// A plugin ready to be called.
pub struct LoadedPlugin {
    pub id: Arc<str>,
    pub info: PluginInfo,
    pub file: PathBuf,
    pub content_hash: String,
    /// Baseline code serves only until the optimised code replaces it.
    pub tier: Tier,
    pub pre: InstancePre<HostState>,
    /// Its next instance, made ahead when instantiating it is costly (on optimised code;
    /// baseline code serves only briefly).
    pub prepared: Option<Arc<Prepared>>,
    pub exports: Arc<Exports>,
    /// The scaffolder actions it offers, as listed when it was loaded.
    pub actions: Vec<Action>,
    /// The pages it contributes, as listed when it was loaded.
    pub pages: Vec<pages::Page>,
    /// The interfaces it imports, by name.
    pub imports: Vec<String>,
    pub requested: Capabilities,
    pub grants: Arc<Effective>,
}

/// A scaffolder action with its input schema compiled.
pub struct Action {
    pub id: String,
    pub description: String,
    pub schema: serde_json::Value,
    pub validator: jsonschema::Validator,
}

impl Action {
    fn new(listed: scaffolder_actions::Action) -> Result<Self, String> {
        let context = || format!("scaffolder-actions.list-actions: action '{}'", listed.id);
        if listed.id.is_empty() {
            return Err("scaffolder-actions.list-actions: an action has an empty id".into());
        }
        let schema: serde_json::Value = serde_json::from_str(&listed.input_schema_json)
            .map_err(|e| format!("{}: input schema is not JSON: {e}", context()))?;
        let validator = jsonschema::validator_for(&schema).map_err(|e| {
            format!(
                "{}: input schema is not a valid JSON Schema: {e}",
                context()
            )
        })?;
        Ok(Self {
            id: listed.id,
            description: listed.description,
            schema,
            validator,
        })
    }

    pub fn summary(&self) -> ActionSummary {
        ActionSummary {
            id: self.id.clone(),
            description: self.description.clone(),
            input_schema: self.schema.clone(),
        }
    }
}

/// What one file in the plugins folder currently is.
#[derive(Clone)]
pub enum Slot {
    /// A new file being compiled; nothing served from it yet.
    Loading {
        file: PathBuf,
        content_hash: String,
    },
    /// Serving. `refused` holds why a newer version of the file was not taken.
    Loaded {
        plugin: Arc<LoadedPlugin>,
        refused: Option<Arc<Failure>>,
    },
    Failed(Arc<Failure>),
}

/// A version of a file that could not be loaded.
pub struct Failure {
    pub file: PathBuf,
    pub content_hash: String,
    pub error: String,
}

/// Every plugin file, loaded or not.
#[derive(Clone, Default)]
pub struct Registry {
    slots: BTreeMap<PathBuf, Slot>,
    /// What each slot was made from: hashes of the `.wasm` and of its `.toml` manifest.
    sources: BTreeMap<PathBuf, Source>,
}

impl Registry {
    pub fn slots(&self) -> impl Iterator<Item = &Slot> {
        self.slots.values()
    }

    pub fn slot(&self, file: &Path) -> Option<&Slot> {
        self.slots.get(file)
    }

    /// Every plugin file it has a slot for.
    pub fn files(&self) -> impl Iterator<Item = &PathBuf> {
        self.slots.keys()
    }

    pub fn loaded(&self) -> impl Iterator<Item = &Arc<LoadedPlugin>> {
        self.slots.values().filter_map(|slot| match slot {
            Slot::Loaded { plugin, .. } => Some(plugin),
            Slot::Loading { .. } | Slot::Failed(_) => None,
        })
    }

    /// The registry with a load of `file` from `source` under way: a serving version keeps
    /// serving meanwhile; anything else shows as loading.
    pub fn loading(&self, file: &Path, source: Source) -> Self {
        let mut next = self.clone();
        let content_hash = source.content_hash.clone();
        next.sources.insert(file.to_path_buf(), source);
        if !matches!(self.slots.get(file), Some(Slot::Loaded { .. })) {
            next.slots.insert(
                file.to_path_buf(),
                Slot::Loading {
                    file: file.to_path_buf(),
                    content_hash,
                },
            );
        }
        next
    }

    pub fn find(&self, id: &str) -> Option<&Arc<LoadedPlugin>> {
        self.loaded().find(|p| &*p.id == id)
    }

    /// The [`source`] the file's slot was last made from (loaded or refused).
    pub fn seen_source(&self, file: &Path) -> Option<&Source> {
        self.sources.get(file)
    }

    /// The registry with `file` now holding `outcome`. A failure never replaces a working
    /// version; a plugin id already served from another file is refused.
    pub fn with(
        &self,
        file: &Path,
        source: Source,
        outcome: Result<LoadedPlugin, Failure>,
    ) -> Self {
        let mut next = self.clone();
        next.sources.insert(file.to_path_buf(), source);
        let outcome = outcome.and_then(|plugin| {
            match self.find(&plugin.id).filter(|other| other.file != file) {
                Some(other) => Err(Failure {
                    file: file.to_path_buf(),
                    content_hash: plugin.content_hash.clone(),
                    error: format!(
                        "plugin id '{}' is already served from {}",
                        plugin.id,
                        other.file.display()
                    ),
                }),
                None => Ok(plugin),
            }
        });
        let slot = match (outcome, self.slots.get(file)) {
            (Ok(plugin), _) => Slot::Loaded {
                plugin: Arc::new(plugin),
                refused: None,
            },
            (Err(failure), Some(Slot::Loaded { plugin, .. })) => {
                tracing::error!(
                    plugin = %plugin.id,
                    "new version of {} refused, the previous one keeps serving: {}",
                    file.display(),
                    failure.error
                );
                Slot::Loaded {
                    plugin: plugin.clone(),
                    refused: Some(Arc::new(failure)),
                }
            }
            (Err(failure), _) => {
                tracing::error!("plugin {}: {}", file.display(), failure.error);
                Slot::Failed(Arc::new(failure))
            }
        };
        next.slots.insert(file.to_path_buf(), slot);
        next
    }

    pub fn without(&self, file: &Path) -> Self {
        let mut next = self.clone();
        next.slots.remove(file);
        next.sources.remove(file);
        next
    }
}

/// Loads plugin files: the sandbox to run `meta.info` in, the compilation cache, and the
/// operator's grants by plugin id.
pub struct Loader<'a> {
    pub sandbox: &'a Sandbox,
    pub cache: &'a Path,
    pub grants: &'a BTreeMap<String, OperatorGrant>,
}

impl Loader<'_> {
    /// Loads `bytes` as the plugin in `file`, from code of at least the `lowest` tier: the
    /// cached optimised code if there is some, else a baseline compile when `lowest` allows
    /// it and the component is large, else an optimised compile (cached).
    pub fn load(
        &self,
        file: &Path,
        bytes: &[u8],
        content_hash: String,
        lowest: Tier,
    ) -> Result<LoadedPlugin, Failure> {
        let fail = |error: String| Failure {
            file: file.to_path_buf(),
            content_hash: content_hash.clone(),
            error,
        };
        let optimizing = self.sandbox.engine(Tier::Optimized);
        let (component, tier, cached) = match engine::cached(optimizing, &content_hash, self.cache)
        {
            Some(component) => Ok((component, Tier::Optimized, true)),
            None if lowest == Tier::Baseline && bytes.len() >= engine::BASELINE_FROM_BYTES => {
                let baseline = self.sandbox.engine(Tier::Baseline);
                engine::compile(baseline, bytes, &content_hash, None)
                    .map(|c| (c, Tier::Baseline, false))
            }
            None => engine::compile(optimizing, bytes, &content_hash, Some(self.cache))
                .map(|c| (c, Tier::Optimized, false)),
        }
        .map_err(|e| fail(format!("not a valid WebAssembly component: {e:#}")))?;
        let pre = self
            .sandbox
            .linker(tier)
            .instantiate_pre(&component)
            .map_err(|e| {
                fail(format!(
                    "needs an import no contract version provides: {e:#}"
                ))
            })?;
        let exports = Arc::new(Exports::of(&pre).map_err(fail)?);
        let manifest = Manifest::find(file, bytes).map_err(|e| fail(format!("manifest: {e}")))?;
        let unnamed: Arc<str> = Arc::from(file.display().to_string());
        let asked = exports.clone();
        let described = self
            .sandbox
            .block_on(self.sandbox.run(
                &unnamed,
                &pre,
                None,
                &Arc::new(Effective::default()),
                None,
                move |store, instance| {
                    Box::pin(async move {
                        asked.check(store, instance)?;
                        let actions = match &asked.actions {
                            Some(actions) => actions.list(store, instance).await?,
                            None => Vec::new(),
                        };
                        let pages = match &asked.pages {
                            Some(pages) => {
                                pages
                                    .load(&mut *store, instance)?
                                    .call_list_pages(&mut *store)
                                    .await?
                            }
                            None => Vec::new(),
                        };
                        let info = asked.info(store, instance).await?;
                        Ok((info, actions, pages))
                    })
                },
            ))
            .result;
        let (info, actions, pages) =
            described.map_err(|e| fail(format!("meta.info failed: {}", e.reason)))?;
        check_id(&info.id).map_err(fail)?;
        let actions = actions
            .into_iter()
            .map(Action::new)
            .collect::<Result<Vec<_>, _>>()
            .map_err(fail)?;
        let pages = checked_pages(pages).map_err(fail)?;
        let grant = self.grants.get(&info.id).cloned().unwrap_or_default();
        let grants = Effective::new(&manifest, &grant, |var| std::env::var(var).ok());
        if !grants.missing.is_empty() {
            tracing::warn!(plugin = %info.id, "asks for capabilities not granted: {}", grants.missing.join(", "));
        }
        tracing::info!(
            plugin = %info.id,
            version = %info.version,
            cached,
            tier = tier.name(),
            "loaded {} ({})",
            file.display(),
            exports.names().join(", ")
        );
        let imports = component
            .component_type()
            .imports(self.sandbox.engine(tier))
            .map(|(name, _)| name.to_string())
            .collect();
        Ok(LoadedPlugin {
            imports,
            id: Arc::from(info.id.as_str()),
            info,
            file: file.to_path_buf(),
            content_hash,
            tier,
            prepared: (tier == Tier::Optimized).then(Arc::default),
            pre,
            exports,
            actions,
            pages,
            requested: manifest.requested(),
            grants: Arc::new(grants),
        })
    }
}

pub fn hash(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// What a plugin file is made from: its bytes and the manifest beside it, so editing either
/// reloads it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Source {
    pub content_hash: String,
    manifest_hash: String,
}

impl Source {
    pub fn of(file: &Path, bytes: &[u8]) -> Self {
        let manifest = std::fs::read(file.with_extension("toml")).unwrap_or_default();
        Self {
            content_hash: hash(bytes),
            manifest_hash: hash(&manifest),
        }
    }
}

/// The `.wasm` files of a folder, sorted. A missing folder holds no plugins.
pub fn wasm_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        tracing::warn!(
            "plugins folder {} cannot be read; no plugins loaded",
            dir.display()
        );
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| is_plugin_file(p) && p.is_file())
        .collect();
    files.sort();
    files
}

pub fn is_plugin_file(path: &Path) -> bool {
    path.extension().is_some_and(|ext| ext == "wasm")
}

/// Most pages one plugin may contribute.
const MAX_PAGES: usize = 16;

/// Page ids are path segments: the same rule as plugin ids, unique within the plugin.
fn checked_pages(pages: Vec<pages::Page>) -> Result<Vec<pages::Page>, String> {
    if pages.len() > MAX_PAGES {
        return Err(format!(
            "pages.list-pages: {} pages; at most {MAX_PAGES}",
            pages.len()
        ));
    }
    for (i, page) in pages.iter().enumerate() {
        greenroom_toolchain::project::check_plugin_id(&page.id)
            .map_err(|e| format!("pages.list-pages: page {e}"))?;
        if pages[..i].iter().any(|p| p.id == page.id) {
            return Err(format!("pages.list-pages: page id '{}' twice", page.id));
        }
    }
    Ok(pages)
}

/// Ids appear in URLs and config keys: lowercase letters, digits and single dashes.
pub fn check_id(id: &str) -> Result<(), String> {
    greenroom_toolchain::project::check_plugin_id(id).map_err(|e| format!("meta.info: {e}"))
}
