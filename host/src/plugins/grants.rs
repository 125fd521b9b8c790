//! What a plugin asks for (its manifest) and what the operator grants it (`plugins.<id>` in
//! the server config). A capability is usable only when both agree: the manifest says what the
//! plugin needs, the config says what the operator allows, and the intersection is granted.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use greenroom_api::{Capabilities, Grants};
use serde::Deserialize;

use super::engine::{self, CallLimits};

/// Name of the custom section that carries a manifest inside a component.
pub const MANIFEST_SECTION: &str = "greenroom:manifest";

/// A plugin manifest (TOML):
///
/// ```toml
/// [capabilities]
/// hosts = ["ci.example.com", "127.0.0.1:8080"]  # or ["*"]: whichever hosts the operator grants
/// config = ["base-url", "token"]
/// catalog-write = false
/// ```
#[derive(Deserialize, Default, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    #[serde(default)]
    capabilities: Requested,
    /// `[build]` is for `greenroom plugin build` (the world a Python or JavaScript plugin
    /// targets); accepted here so one file serves both, never read.
    #[serde(default, rename = "build")]
    _build: toml::Table,
}

#[derive(Deserialize, Default, Debug, Clone)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Requested {
    #[serde(default)]
    hosts: Vec<String>,
    #[serde(default)]
    config: Vec<String>,
    #[serde(default)]
    catalog_write: bool,
}

impl Manifest {
    /// The manifest of `wasm`: `<file stem>.toml` beside the file when present (so an operator
    /// can inspect and edit it), else the component's `greenroom:manifest` section, else none
    /// (a plugin that asks for nothing).
    pub fn find(file: &Path, wasm: &[u8]) -> Result<Self, String> {
        let sidecar = file.with_extension("toml");
        if let Ok(text) = std::fs::read_to_string(&sidecar) {
            return Self::parse(&text).map_err(|e| format!("{}: {e}", sidecar.display()));
        }
        match embedded_section(wasm)? {
            Some(bytes) => {
                let text = std::str::from_utf8(&bytes)
                    .map_err(|_| format!("the {MANIFEST_SECTION} section is not UTF-8"))?;
                Self::parse(text).map_err(|e| format!("the {MANIFEST_SECTION} section: {e}"))
            }
            None => Ok(Self::default()),
        }
    }

    fn parse(text: &str) -> Result<Self, String> {
        toml::from_str(text).map_err(|e| e.message().to_string())
    }

    pub fn requested(&self) -> Capabilities {
        Capabilities {
            hosts: self.capabilities.hosts.clone(),
            config: self.capabilities.config.clone(),
            catalog_write: self.capabilities.catalog_write,
        }
    }
}

/// The payload of the top-level `greenroom:manifest` custom section, if any.
fn embedded_section(wasm: &[u8]) -> Result<Option<Vec<u8>>, String> {
    let mut depth = 0usize;
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        match payload.map_err(|e| format!("cannot read the component: {e}"))? {
            wasmparser::Payload::ModuleSection { .. }
            | wasmparser::Payload::ComponentSection { .. } => depth += 1,
            wasmparser::Payload::End(_) => depth = depth.saturating_sub(1),
            wasmparser::Payload::CustomSection(section)
                if depth == 0 && section.name() == MANIFEST_SECTION =>
            {
                return Ok(Some(section.data().to_vec()));
            }
            _ => {}
        }
    }
    Ok(None)
}

/// `plugins.<id>` in the server config: what the operator allows one plugin.
#[derive(Deserialize, Debug, Clone, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct OperatorGrant {
    /// `false` keeps the plugin loaded but never called.
    pub enabled: Option<bool>,
    /// `name[:port]` or an IP address; `*.example.com` matches subdomains. Loopback, private
    /// and link-local addresses are reachable only when granted as literal addresses.
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    /// Plain config values.
    #[serde(default)]
    pub config: BTreeMap<String, String>,
    /// Config values read from environment variables at start-up: key -> variable name.
    #[serde(default)]
    pub secrets: BTreeMap<String, String>,
    #[serde(default)]
    pub catalog_write: bool,
    #[serde(default)]
    pub limits: LimitsGrant,
    /// Paths of the plugin's HTTP routes (`/hook` for `/api/plugins/<id>/http/hook` and
    /// below) anyone may call without signing in: webhooks that check their own signature.
    #[serde(default)]
    pub public_routes: Vec<String>,
}

impl OperatorGrant {
    /// The full API paths of the public routes, after checking each is a path.
    pub fn public_paths(&self, id: &str) -> Result<Vec<String>, String> {
        self.public_routes
            .iter()
            .map(|route| {
                let plain = route.starts_with('/')
                    && !route.contains(['?', '#', '\\'])
                    && !route.split('/').any(|segment| segment == ".." || segment == ".");
                if plain {
                    Ok(format!("/api/plugins/{id}/http{}", route.trim_end_matches('/')))
                } else {
                    Err(format!(
                        "publicRoutes: '{route}' must be a path starting with '/', without '..', '?' or '#'"
                    ))
                }
            })
            .collect()
    }
}

#[derive(Deserialize, Debug, Clone, Copy, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LimitsGrant {
    pub timeout_ms: Option<u64>,
    /// At most 256.
    #[serde(rename = "memoryMiB")]
    pub memory_mib: Option<u64>,
    /// Calls that may run at once (1 to 256); more are refused with 503 at once.
    pub concurrency: Option<u32>,
    /// Bytes of keys and values the plugin may keep in its storage.
    pub storage_bytes: Option<u64>,
    /// Button presses and form submissions one viewer may send the plugin per second (a
    /// burst of twice that), default 10.
    pub actions_per_second: Option<u32>,
}

/// Actions per second per viewer when the operator sets no rate.
pub const DEFAULT_ACTIONS_PER_SECOND: u32 = 10;

/// Storage a plugin may keep when the operator sets no quota.
pub const DEFAULT_STORAGE_QUOTA: u64 = 1 << 20;

/// What one plugin may use, worked out when it is loaded.
#[derive(Debug, Clone, Default)]
pub struct Effective {
    pub hosts: Vec<String>,
    /// Granted config keys and their values (`None`: asked for, not given by the operator).
    pub config: BTreeMap<String, Option<String>>,
    pub secret_keys: BTreeSet<String>,
    pub catalog_write: bool,
    pub limits: CallLimits,
    /// Bytes of storage it may keep (0 while it loads: `meta.info` stores nothing).
    pub storage_quota: u64,
    /// Actions per second one viewer may send it.
    pub actions_per_second: u32,
    /// Asked for but not granted, for the admin API and the log.
    pub missing: Vec<String>,
}

impl Effective {
    /// Intersects the manifest's request with the operator's grant. `env` reads secrets.
    pub fn new(
        manifest: &Manifest,
        grant: &OperatorGrant,
        env: impl Fn(&str) -> Option<String>,
    ) -> Self {
        let asked = &manifest.capabilities;
        let mut missing = Vec::new();
        // `*` asks for whatever the operator grants: for plugins whose hosts are deployment
        // choices (a provider reading a configured URL).
        let hosts = if asked.hosts.iter().any(|h| h == "*") {
            grant
                .allowed_hosts
                .iter()
                .map(|h| h.to_ascii_lowercase())
                .collect()
        } else {
            asked
                .hosts
                .iter()
                .filter(|host| {
                    let granted = grant
                        .allowed_hosts
                        .iter()
                        .any(|g| g.eq_ignore_ascii_case(host));
                    if !granted {
                        missing.push(format!("host {host}"));
                    }
                    granted
                })
                .map(|h| h.to_ascii_lowercase())
                .collect()
        };
        let mut config = BTreeMap::new();
        let mut secret_keys = BTreeSet::new();
        for key in &asked.config {
            let value = if let Some(var) = grant.secrets.get(key) {
                secret_keys.insert(key.clone());
                env(var)
            } else {
                grant.config.get(key).cloned()
            };
            if value.is_none() {
                missing.push(format!("config {key}"));
            }
            config.insert(key.clone(), value);
        }
        if asked.catalog_write && !grant.catalog_write {
            missing.push("catalog-write".into());
        }
        let defaults = CallLimits::default();
        let limits = CallLimits {
            deadline: grant
                .limits
                .timeout_ms
                .map_or(defaults.deadline, Duration::from_millis),
            memory_bytes: grant
                .limits
                .memory_mib
                .map_or(defaults.memory_bytes, |mib| {
                    ((mib as usize) << 20).min(engine::MAX_MEMORY_BYTES)
                }),
            concurrency: grant.limits.concurrency.map_or(defaults.concurrency, |n| {
                n.clamp(1, engine::MAX_CONCURRENT_CALLS)
            }),
        };
        Self {
            hosts,
            config,
            secret_keys,
            catalog_write: asked.catalog_write && grant.catalog_write,
            limits,
            storage_quota: grant.limits.storage_bytes.unwrap_or(DEFAULT_STORAGE_QUOTA),
            actions_per_second: grant
                .limits
                .actions_per_second
                .unwrap_or(DEFAULT_ACTIONS_PER_SECOND)
                .max(1),
            missing,
        }
    }

    pub fn summary(&self) -> Grants {
        Grants {
            hosts: self.hosts.clone(),
            config: self
                .config
                .iter()
                .filter(|(key, value)| value.is_some() && !self.secret_keys.contains(*key))
                .map(|(key, _)| key.clone())
                .collect(),
            secrets: self.secret_keys.iter().cloned().collect(),
            catalog_write: self.catalog_write,
            missing: self.missing.clone(),
            timeout_ms: self.limits.deadline.as_millis() as u64,
            memory_mib: (self.limits.memory_bytes >> 20) as u64,
            concurrency: self.limits.concurrency,
            storage_quota_bytes: self.storage_quota,
            actions_per_second: self.actions_per_second,
        }
    }

    /// `config.get`: the value of a key this plugin asked for; an error for any other key.
    pub fn config_value(&self, key: &str) -> Result<Option<String>, String> {
        self.config.get(key).cloned().ok_or_else(|| {
            format!("config key '{key}' is not in the plugin's manifest, so it is not granted")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(text: &str) -> Manifest {
        Manifest::parse(text).unwrap()
    }

    #[test]
    fn only_what_is_both_asked_and_granted_is_usable() {
        let manifest = manifest(
            "[capabilities]\nhosts = [\"ci.example.com\", \"evil.example.com\"]\nconfig = [\"url\", \"token\", \"unset\"]\ncatalog-write = true\n",
        );
        let grant: OperatorGrant = serde_yaml::from_str(
            "allowedHosts: [CI.example.com, other.example.com]\nconfig: {url: 'https://ci', extra: x}\nsecrets: {token: CI_TOKEN}\nlimits: {timeoutMs: 500, memoryMiB: 16, concurrency: 4}\n",
        )
        .unwrap();
        let effective = Effective::new(&manifest, &grant, |var| {
            (var == "CI_TOKEN").then(|| "s3cret".to_string())
        });
        assert_eq!(effective.hosts, vec!["ci.example.com"]);
        assert_eq!(
            effective.config_value("url").unwrap().as_deref(),
            Some("https://ci")
        );
        assert_eq!(
            effective.config_value("token").unwrap().as_deref(),
            Some("s3cret")
        );
        assert_eq!(effective.config_value("unset").unwrap(), None);
        let refused = effective.config_value("extra").unwrap_err();
        assert!(
            refused.contains("'extra'") && refused.contains("not granted"),
            "{refused}"
        );
        assert!(!effective.catalog_write);
        assert_eq!(
            effective.missing,
            vec!["host evil.example.com", "config unset", "catalog-write"]
        );
        assert_eq!(effective.limits.deadline, Duration::from_millis(500));
        assert_eq!(effective.limits.memory_bytes, 16 << 20);
        assert_eq!(effective.limits.concurrency, 4);
        let summary = effective.summary();
        assert_eq!(summary.config, vec!["url"]);
        assert_eq!(summary.secrets, vec!["token"]);
    }

    #[test]
    fn a_wildcard_host_request_takes_the_operators_hosts() {
        let grant: OperatorGrant =
            serde_yaml::from_str("allowedHosts: [A.example, 10.0.0.1:8080]\n").unwrap();
        let effective = Effective::new(
            &manifest("[capabilities]\nhosts = [\"*\"]\n"),
            &grant,
            |_| None,
        );
        assert_eq!(effective.hosts, vec!["a.example", "10.0.0.1:8080"]);
        assert!(effective.missing.is_empty());
        let none = Effective::new(
            &manifest("[capabilities]\nhosts = [\"*\"]\n"),
            &OperatorGrant::default(),
            |_| None,
        );
        assert!(none.hosts.is_empty());
    }

    #[test]
    fn a_plugin_without_a_manifest_gets_nothing_but_default_limits() {
        let grant: OperatorGrant =
            serde_yaml::from_str("allowedHosts: [ci.example.com]\nconfig: {url: x}\n").unwrap();
        let effective = Effective::new(&Manifest::default(), &grant, |_| None);
        assert!(effective.hosts.is_empty());
        assert!(effective.config_value("url").is_err());
        assert_eq!(effective.limits.deadline, CallLimits::default().deadline);
    }

    fn custom_section(name: &str, payload: &[u8]) -> Vec<u8> {
        let mut body = vec![name.len() as u8];
        body.extend_from_slice(name.as_bytes());
        body.extend_from_slice(payload);
        let mut section = vec![0, body.len() as u8];
        section.extend(body);
        section
    }

    #[test]
    fn the_embedded_manifest_is_the_components_own_not_a_nested_modules() {
        let mut module = b"\0asm\x01\0\0\0".to_vec();
        module.extend(custom_section(MANIFEST_SECTION, b"inner"));
        let mut component = b"\0asm\x0d\0\x01\0".to_vec();
        component.push(1);
        component.push(module.len() as u8);
        component.extend(&module);
        assert_eq!(embedded_section(&component).unwrap(), None);
        component.extend(custom_section(
            MANIFEST_SECTION,
            b"[capabilities]\nconfig = [\"token\"]\n",
        ));
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("p.wasm");
        let manifest = Manifest::find(&file, &component).unwrap();
        assert_eq!(manifest.requested().config, vec!["token"]);
        // A manifest beside the file wins over the embedded one.
        std::fs::write(
            tmp.path().join("p.toml"),
            "[capabilities]\nhosts = [\"a.example\"]\n",
        )
        .unwrap();
        let manifest = Manifest::find(&file, &component).unwrap();
        assert_eq!(manifest.requested().hosts, vec!["a.example"]);
        assert!(manifest.requested().config.is_empty());
    }

    #[test]
    fn unknown_manifest_keys_are_refused() {
        let err = Manifest::parse("[capabilities]\nhostz = []\n").unwrap_err();
        assert!(err.contains("hostz"), "{err}");
    }
}
