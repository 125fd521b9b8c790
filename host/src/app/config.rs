//! Server configuration: a YAML file (`--config`) with command-line flags on top.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

use crate::auth::{AuthSettings, ProxySettings, Resolver, StaticToken};
use crate::catalog::{self, CatalogSettings, OrphanStrategy};
use crate::plugins::{OperatorGrant, PluginSettings};
use crate::scaffolder::ScaffolderSettings;
use crate::techdocs::DocsSettings;

/// `greenroom serve` flags. Each one overrides the same setting in the config file.
#[derive(clap::Args, Debug, Default)]
pub struct ServeArgs {
    /// YAML config file; relative paths inside it are relative to the file.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:7007].
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// Folder for the SQLite database and caches [default: ./data].
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// A catalog location: a file, a folder scanned for catalog-info.yaml, or a glob.
    /// Repeatable; replaces the config file's `catalog.locations`.
    #[arg(long = "catalog")]
    pub catalogs: Vec<PathBuf>,
    /// What happens to entities no location defines any more [default: delete].
    #[arg(long, value_parser = ["keep", "delete"])]
    pub orphan_strategy: Option<String>,
    /// Folder of plugin `.wasm` components [default: ./plugins].
    #[arg(long)]
    pub plugins: Option<PathBuf>,
    /// Folder for compiled plugin code [default: <data>/plugin-cache]. Servers (and
    /// `greenroom plugin` commands) may share one.
    #[arg(long)]
    pub plugin_cache: Option<PathBuf>,
    /// Folder of the built web UI (index.html and its assets) [default: ./frontend/dist].
    #[arg(long)]
    pub ui: Option<PathBuf>,
    /// Serve on an address other machines reach although nobody signs in: anyone who
    /// reaches it can change the portal. Without it such a `--listen` is refused.
    #[arg(long)]
    pub allow_anonymous: bool,
}

/// The config file's shape. Every key is optional.
#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ConfigFile {
    listen: Option<SocketAddr>,
    data: Option<PathBuf>,
    #[serde(default)]
    catalog: CatalogSection,
    /// The folder of plugin `.wasm` files.
    plugin_folder: Option<PathBuf>,
    /// Compiled plugin code.
    plugin_cache: Option<PathBuf>,
    /// `plugins.<id>`: what the operator grants each plugin.
    #[serde(default)]
    plugins: BTreeMap<String, OperatorGrant>,
    ui: Option<PathBuf>,
    /// Host names the portal is served under besides IP addresses and `localhost` (what a
    /// reverse proxy forwards as `Host`); requests naming any other host are refused.
    #[serde(default)]
    host_names: Vec<String>,
    #[serde(default)]
    techdocs: TechDocsSection,
    #[serde(default)]
    scaffolder: ScaffolderSection,
    #[serde(default)]
    auth: AuthSection,
    #[serde(default)]
    backend: BackendSection,
}

/// `auth:` in the config file, after Backstage's: `providers.guest: {}` enables the guest.
#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct AuthSection {
    #[serde(default)]
    providers: ProvidersSection,
}

#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ProvidersSection {
    guest: Option<serde_yaml::Value>,
    proxy: Option<ProxySection>,
}

/// `auth.providers.proxy`: identity from a reverse proxy's headers (oauth2-proxy and kin).
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ProxySection {
    /// Addresses of the proxies whose headers are believed.
    trusted_peers: Vec<std::net::IpAddr>,
    user_header: Option<String>,
    email_header: Option<String>,
    sign_in: SignInSection,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct SignInSection {
    resolvers: Vec<ResolverEntry>,
    #[serde(default)]
    dangerously_allow_sign_in_without_user_in_catalog: bool,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct ResolverEntry {
    resolver: String,
}

/// `backend.auth.externalAccess`: Backstage's static tokens for scripts and CI.
#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct BackendSection {
    #[serde(default)]
    auth: BackendAuthSection,
}

#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct BackendAuthSection {
    #[serde(default)]
    external_access: Vec<ExternalAccess>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ExternalAccess {
    #[serde(rename = "type")]
    kind: String,
    options: StaticOptions,
    #[serde(default)]
    access_restrictions: Vec<AccessRestriction>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct StaticOptions {
    token: String,
    subject: String,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct AccessRestriction {
    plugin: String,
}

/// `scaffolder:` in the config file.
#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ScaffolderSection {
    /// `publish:git` hosts: name -> folder of bare repositories (default `local`:
    /// `<data>/git`).
    #[serde(default)]
    git_hosts: BTreeMap<String, PathBuf>,
    /// Tasks run at once (default 4).
    workers: Option<usize>,
    /// Hosts templates may fetch single files from over http(s); none by default.
    #[serde(default)]
    allowed_hosts: Vec<String>,
    /// Longest a task may run, in seconds (default 900).
    task_timeout_seconds: Option<u64>,
}

/// `techdocs:` in the config file.
#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct TechDocsSection {
    /// Hosts whose https pages docs may embed as iframes; none by default.
    #[serde(default)]
    allowed_iframe_hosts: Vec<String>,
}

/// `catalog:` in the config file, after Backstage's `catalog.*` settings.
#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CatalogSection {
    #[serde(default)]
    locations: Vec<LocationEntry>,
    file_name: Option<String>,
    orphan_strategy: Option<OrphanStrategy>,
    registration_roots: Option<Vec<PathBuf>>,
    /// Most MiB one reconcile reads (it holds them until written); default 1024.
    #[serde(rename = "readLimitMiB")]
    read_limit_mib: Option<u64>,
}

/// A configured location: a path, or Backstage's `{type: file, target: path}`.
#[derive(Deserialize, Debug)]
#[serde(untagged)]
enum LocationEntry {
    Path(PathBuf),
    Typed {
        #[serde(rename = "type")]
        _kind: FileType,
        target: PathBuf,
    },
}

#[derive(Deserialize, Debug)]
#[serde(rename_all = "lowercase")]
enum FileType {
    File,
}

/// The settings the server runs with.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub catalog: CatalogSettings,
    pub plugins: PluginSettings,
    pub ui_dir: PathBuf,
    pub host_names: Vec<String>,
    pub docs: DocsSettings,
    pub scaffolder: ScaffolderSettings,
    /// Serve beyond loopback without sign-in (`--allow-anonymous`).
    pub allow_anonymous: bool,
    pub auth: AuthSettings,
}

impl Config {
    pub fn load(args: &ServeArgs) -> anyhow::Result<Self> {
        let (file, base) = match &args.config {
            Some(path) => (
                read_file(path)?,
                path.parent().unwrap_or(Path::new("")).to_path_buf(),
            ),
            None => (ConfigFile::default(), PathBuf::new()),
        };
        let rebase = |p: PathBuf| if p.is_absolute() { p } else { base.join(p) };
        let section = file.catalog;
        let locations: Vec<PathBuf> = if args.catalogs.is_empty() {
            section
                .locations
                .into_iter()
                .map(|entry| match entry {
                    LocationEntry::Path(path) | LocationEntry::Typed { target: path, .. } => {
                        rebase(path)
                    }
                })
                .collect()
        } else {
            args.catalogs.clone()
        };
        let orphan_strategy = match args.orphan_strategy.as_deref() {
            Some("keep") => OrphanStrategy::Keep,
            Some(_) => OrphanStrategy::Delete,
            None => section.orphan_strategy.unwrap_or(OrphanStrategy::Delete),
        };
        // By default locations may be registered from the configured locations' folders.
        let registration_roots = match section.registration_roots {
            Some(roots) => roots.into_iter().map(rebase).collect(),
            None => locations.iter().map(|l| catalog::folder_of(l)).collect(),
        };
        let catalog = CatalogSettings {
            locations,
            file_name: section
                .file_name
                .unwrap_or_else(|| "catalog-info.yaml".into()),
            orphan_strategy,
            registration_roots,
            read_limit: section
                .read_limit_mib
                .map_or(catalog::DEFAULT_READ_LIMIT, |mib| mib.max(1) << 20),
        };
        let data_dir = args
            .data
            .clone()
            .or(file.data.map(rebase))
            .unwrap_or("data".into());
        for id in file.plugins.keys() {
            crate::plugins::check_id(id)
                .map_err(|e| anyhow::anyhow!("config plugins.{id}: {e}"))?;
        }
        let plugins = PluginSettings {
            dir: args
                .plugins
                .clone()
                .or(file.plugin_folder.map(rebase))
                .unwrap_or("plugins".into()),
            cache_dir: args
                .plugin_cache
                .clone()
                .or(file.plugin_cache.map(rebase))
                .unwrap_or_else(|| data_dir.join("plugin-cache")),
            data_dir: data_dir.clone(),
            grants: file.plugins,
        };
        Ok(Self {
            listen: args
                .listen
                .or(file.listen)
                .unwrap_or(([127, 0, 0, 1], 7007).into()),
            data_dir,
            catalog,
            plugins,
            ui_dir: args
                .ui
                .clone()
                .or(file.ui.map(rebase))
                .unwrap_or("frontend/dist".into()),
            host_names: file.host_names,
            docs: DocsSettings {
                allowed_iframe_hosts: file.techdocs.allowed_iframe_hosts,
            },
            scaffolder: scaffolder_settings(file.scaffolder, rebase),
            allow_anonymous: args.allow_anonymous,
            auth: auth_settings(file.auth, file.backend)?,
        })
    }
}

fn auth_settings(auth: AuthSection, backend: BackendSection) -> anyhow::Result<AuthSettings> {
    let mut static_tokens = Vec::new();
    for (i, access) in backend.auth.external_access.into_iter().enumerate() {
        let at = format!("config backend.auth.externalAccess[{i}]");
        if access.kind != "static" {
            anyhow::bail!(
                "{at}.type: only 'static' is supported, not '{}'",
                access.kind
            );
        }
        // Backstage asks for at least 8 characters without whitespace.
        let token = access.options.token;
        if token.len() < 8 || token.chars().any(char::is_whitespace) {
            anyhow::bail!("{at}.options.token: must be 8 or more characters without spaces");
        }
        static_tokens.push(StaticToken {
            token,
            subject: access.options.subject,
            plugins: access
                .access_restrictions
                .into_iter()
                .map(|r| r.plugin)
                .collect(),
        });
    }
    let proxy = match auth.providers.proxy {
        None => None,
        Some(proxy) => {
            let at = "config auth.providers.proxy";
            let [entry] = proxy.sign_in.resolvers.as_slice() else {
                anyhow::bail!("{at}.signIn.resolvers: give exactly one resolver");
            };
            let resolver = Resolver::parse(&entry.resolver).ok_or_else(|| {
                anyhow::anyhow!(
                    "{at}.signIn.resolvers[0].resolver: '{}' is not one of usernameMatchingUserEntityName, emailLocalPartMatchingUserEntityName, emailMatchingUserEntityProfileEmail",
                    entry.resolver
                )
            })?;
            if proxy.trusted_peers.is_empty() {
                anyhow::bail!("{at}.trustedPeers: name the proxies whose headers are believed");
            }
            Some(ProxySettings {
                trusted_peers: proxy.trusted_peers,
                user_header: proxy
                    .user_header
                    .unwrap_or_else(|| "x-forwarded-user".into()),
                email_header: proxy
                    .email_header
                    .unwrap_or_else(|| "x-forwarded-email".into()),
                resolver,
                allow_without_catalog_user: proxy
                    .sign_in
                    .dangerously_allow_sign_in_without_user_in_catalog,
            })
        }
    };
    Ok(AuthSettings {
        guest: auth.providers.guest.is_some(),
        proxy,
        static_tokens,
    })
}

fn scaffolder_settings(
    section: ScaffolderSection,
    rebase: impl Fn(PathBuf) -> PathBuf,
) -> ScaffolderSettings {
    let defaults = ScaffolderSettings::default();
    let mut limits = defaults.limits;
    if let Some(seconds) = section.task_timeout_seconds {
        limits.task_time = std::time::Duration::from_secs(seconds.max(1));
    }
    ScaffolderSettings {
        git_hosts: section
            .git_hosts
            .into_iter()
            .map(|(host, dir)| (host, rebase(dir)))
            .collect(),
        workers: section.workers.unwrap_or(defaults.workers),
        allowed_hosts: section.allowed_hosts,
        limits,
    }
}

fn read_file(path: &Path) -> anyhow::Result<ConfigFile> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config file {}", path.display()))?;
    serde_yaml::from_str(&text).with_context(|| format!("invalid config file {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(config: Option<PathBuf>) -> ServeArgs {
        ServeArgs {
            config,
            ..ServeArgs::default()
        }
    }

    #[test]
    fn file_paths_are_relative_to_the_file_and_flags_win() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let file = dir.join("greenroom.yaml");
        std::fs::create_dir(dir.join("cat")).unwrap();
        std::fs::write(
            &file,
            "listen: 127.0.0.1:9000\ndata: state\ncatalog:\n  locations: [cat, {type: file, target: more/x.yaml}]\n  orphanStrategy: keep\npluginFolder: wasm\npluginCache: compiled\nhostNames: [portal.example.com]\ntechdocs:\n  allowedIframeHosts: [www.youtube.com]\nplugins:\n  ci-status:\n    allowedHosts: [ci.example.com]\n    limits: {timeoutMs: 500}\n",
        )
        .unwrap();
        let from_file = Config::load(&args(Some(file.clone()))).unwrap();
        assert_eq!(from_file.listen.port(), 9000);
        assert_eq!(from_file.data_dir, dir.join("state"));
        assert_eq!(
            from_file.catalog.locations,
            vec![dir.join("cat"), dir.join("more/x.yaml")]
        );
        assert_eq!(from_file.catalog.orphan_strategy, OrphanStrategy::Keep);
        assert_eq!(from_file.catalog.file_name, "catalog-info.yaml");
        assert_eq!(from_file.plugins.dir, dir.join("wasm"));
        assert_eq!(from_file.plugins.cache_dir, dir.join("compiled"));
        assert_eq!(from_file.host_names, ["portal.example.com"]);
        assert_eq!(from_file.docs.allowed_iframe_hosts, ["www.youtube.com"]);
        assert_eq!(
            from_file.plugins.grants["ci-status"].allowed_hosts,
            vec!["ci.example.com"]
        );
        assert_eq!(
            from_file.catalog.registration_roots,
            vec![dir.join("cat"), dir.join("more")]
        );
        let mut flagged = args(Some(file));
        flagged.listen = Some("127.0.0.1:9001".parse().unwrap());
        flagged.catalogs = vec!["other".into()];
        let config = Config::load(&flagged).unwrap();
        assert_eq!(config.listen.port(), 9001);
        assert_eq!(config.catalog.locations, vec![PathBuf::from("other")]);
    }

    #[test]
    fn unknown_keys_are_refused_with_the_file_name() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let file = dir.join("bad.yaml");
        std::fs::write(&file, "listn: 1\n").unwrap();
        let err = format!("{:#}", Config::load(&args(Some(file))).unwrap_err());
        assert!(err.contains("bad.yaml") && err.contains("listn"), "{err}");
    }

    #[test]
    fn a_bad_plugin_id_or_grant_key_names_the_plugin() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("g.yaml");
        std::fs::write(&file, "plugins:\n  Bad_Id: {}\n").unwrap();
        let err = format!("{:#}", Config::load(&args(Some(file.clone()))).unwrap_err());
        assert!(err.contains("plugins.Bad_Id"), "{err}");
        std::fs::write(&file, "plugins:\n  ci: {allowedHost: [x]}\n").unwrap();
        let err = format!("{:#}", Config::load(&args(Some(file))).unwrap_err());
        assert!(
            err.contains("g.yaml") && err.contains("allowedHost"),
            "{err}"
        );
    }
}
