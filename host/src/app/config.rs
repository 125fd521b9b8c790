//! Server configuration: a YAML file (`--config`) with command-line flags on top.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

use crate::auth::{
    AuthSettings, Flavor, ProxySettings, RedirectSettings, Resolver, ResolverRule, Secret, SignIn,
    StaticToken,
};
use crate::catalog::{self, CatalogSettings, OrphanStrategy};
use crate::plugins::{OperatorGrant, PluginSettings};
use crate::scaffolder::ScaffolderSettings;
use crate::search::SearchSettings;
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
    #[serde(default)]
    permission: PermissionSection,
    #[serde(default)]
    search: SearchSection,
}

/// `search:` as in Backstage: the longest term and the largest page a query may ask for.
#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct SearchSection {
    max_term_length: Option<usize>,
    max_page_limit: Option<usize>,
}

/// `permission:` as in Backstage (`enabled`), with Greenroom's policy file.
#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct PermissionSection {
    #[serde(default)]
    enabled: bool,
    policy_file: Option<PathBuf>,
}

/// `auth:` in the config file, after Backstage's: `providers.guest: {}` enables the guest.
/// A provider's settings may sit under the name of the environment (`auth.environment`,
/// `development` by default), as in Backstage's app-config.
#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct AuthSection {
    environment: Option<String>,
    #[serde(default)]
    providers: BTreeMap<String, serde_yaml::Value>,
}

/// `auth.providers.oidc` and `auth.providers.github`, with Backstage's keys.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RedirectSection {
    /// OIDC: the issuer's `/.well-known/openid-configuration` (or the issuer itself).
    metadata_url: Option<String>,
    /// GitHub Enterprise: the instance's address (github.com by default).
    enterprise_instance_url: Option<String>,
    client_id: String,
    client_secret: String,
    callback_url: Option<String>,
    /// OIDC: scopes besides `openid profile email`, space-separated.
    scope: Option<String>,
    #[serde(default)]
    additional_scopes: Vec<String>,
    prompt: Option<String>,
    /// OIDC: `client_secret_basic` (the default) or `client_secret_post`.
    token_endpoint_auth_method: Option<String>,
    /// How long a sign-in lasts (`12h`, `7d`); a day by default.
    session_duration: Option<String>,
    /// The sign-in button's words.
    title: Option<String>,
    sign_in: Option<SignInSection>,
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
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ResolverEntry {
    resolver: String,
    #[serde(default)]
    dangerously_allow_sign_in_without_user_in_catalog: bool,
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
    /// The permission policy; without one every caller may do everything.
    pub policy_file: Option<PathBuf>,
    pub search: SearchSettings,
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
        let public_paths = public_paths(&plugins.grants)?;
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
            auth: AuthSettings {
                public_paths,
                ..auth_settings(file.auth, file.backend)?
            },
            policy_file: match (file.permission.enabled, file.permission.policy_file) {
                (true, Some(policy)) => Some(rebase(policy)),
                (true, None) => anyhow::bail!(
                    "config permission.policyFile: with permission.enabled the policy file is needed"
                ),
                (false, _) => None,
            },
            search: {
                let defaults = SearchSettings::default();
                SearchSettings {
                    max_term_length: file
                        .search
                        .max_term_length
                        .unwrap_or(defaults.max_term_length),
                    max_page_limit: file
                        .search
                        .max_page_limit
                        .unwrap_or(defaults.max_page_limit),
                }
            },
        })
    }
}

/// The plugin HTTP routes the operator made public, as API paths.
fn public_paths(grants: &BTreeMap<String, OperatorGrant>) -> anyhow::Result<Vec<String>> {
    let mut paths = Vec::new();
    for (id, grant) in grants {
        paths.extend(
            grant
                .public_paths(id)
                .map_err(|e| anyhow::anyhow!("config plugins.{id}.{e}"))?,
        );
    }
    Ok(paths)
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
            token: Secret(token),
            subject: access.options.subject,
            plugins: access
                .access_restrictions
                .into_iter()
                .map(|r| r.plugin)
                .collect(),
        });
    }
    let environment = auth.environment.as_deref().unwrap_or("development");
    let mut proxy = None;
    let mut guest = false;
    let mut redirecting = Vec::new();
    for (name, value) in auth.providers {
        let at = format!("config auth.providers.{name}");
        // Backstage nests a provider's settings under the environment's name.
        let value = match value.get(environment) {
            Some(nested) if name != "guest" => nested.clone(),
            _ => value,
        };
        fn parse<T: serde::de::DeserializeOwned>(
            value: serde_yaml::Value,
            at: &str,
        ) -> anyhow::Result<T> {
            serde_yaml::from_value(value).map_err(|e| anyhow::anyhow!("{at}: {e}"))
        }
        match name.as_str() {
            "guest" => guest = true,
            "proxy" => proxy = Some(proxy_settings(parse(value, &at)?, &at)?),
            "oidc" | "github" => {
                redirecting.push(redirect_settings(&name, parse(value, &at)?, &at)?)
            }
            other => anyhow::bail!(
                "{at}: '{other}' is not a provider Greenroom has (guest, proxy, oidc, github)"
            ),
        }
    }
    Ok(AuthSettings {
        guest,
        proxy,
        redirecting,
        static_tokens,
        public_paths: Vec::new(),
    })
}

fn sign_in(section: Option<SignInSection>, default: Resolver, at: &str) -> anyhow::Result<SignIn> {
    let Some(section) = section else {
        return Ok(SignIn {
            resolvers: vec![ResolverRule {
                resolver: default,
                allow_without_catalog_user: false,
            }],
        });
    };
    if section.resolvers.is_empty() {
        anyhow::bail!("{at}.signIn.resolvers: give at least one resolver");
    }
    let resolvers = section
        .resolvers
        .into_iter()
        .enumerate()
        .map(|(i, entry)| {
            let resolver = Resolver::parse(&entry.resolver).ok_or_else(|| {
                anyhow::anyhow!(
                    "{at}.signIn.resolvers[{i}].resolver: '{}' is not one of {}",
                    entry.resolver,
                    Resolver::NAMES
                )
            })?;
            Ok(ResolverRule {
                resolver,
                allow_without_catalog_user: entry.dangerously_allow_sign_in_without_user_in_catalog,
            })
        })
        .collect::<anyhow::Result<_>>()?;
    Ok(SignIn { resolvers })
}

fn proxy_settings(proxy: ProxySection, at: &str) -> anyhow::Result<ProxySettings> {
    if proxy.trusted_peers.is_empty() {
        anyhow::bail!("{at}.trustedPeers: name the proxies whose headers are believed");
    }
    Ok(ProxySettings {
        trusted_peers: proxy.trusted_peers,
        user_header: proxy
            .user_header
            .unwrap_or_else(|| "x-forwarded-user".into()),
        email_header: proxy
            .email_header
            .unwrap_or_else(|| "x-forwarded-email".into()),
        sign_in: sign_in(
            Some(proxy.sign_in),
            Resolver::UsernameMatchingUserEntityName,
            at,
        )?,
    })
}

fn redirect_settings(
    name: &str,
    section: RedirectSection,
    at: &str,
) -> anyhow::Result<RedirectSettings> {
    let url = |value: &str, key: &str| -> anyhow::Result<String> {
        let parsed = url::Url::parse(value)
            .map_err(|e| anyhow::anyhow!("{at}.{key}: '{value}' is not a URL: {e}"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            anyhow::bail!("{at}.{key}: '{value}' is not an http(s) URL");
        }
        Ok(value.trim_end_matches('/').to_string())
    };
    let (flavor, default_resolver, default_title) = if name == "oidc" {
        let Some(metadata) = &section.metadata_url else {
            anyhow::bail!(
                "{at}.metadataUrl: the issuer's /.well-known/openid-configuration is needed"
            );
        };
        let metadata = url(metadata, "metadataUrl")?;
        let issuer = metadata
            .strip_suffix("/.well-known/openid-configuration")
            .unwrap_or(&metadata)
            .to_string();
        let secret_in_body = match section.token_endpoint_auth_method.as_deref() {
            None | Some("client_secret_basic") => false,
            Some("client_secret_post") => true,
            Some(other) => anyhow::bail!(
                "{at}.tokenEndpointAuthMethod: '{other}' is not client_secret_basic or client_secret_post"
            ),
        };
        (
            Flavor::Oidc {
                issuer,
                prompt: section.prompt.clone(),
                secret_in_body,
            },
            Resolver::EmailMatchingUserEntityProfileEmail,
            "OpenID Connect",
        )
    } else {
        let (web, api) = match &section.enterprise_instance_url {
            Some(instance) => {
                let web = url(instance, "enterpriseInstanceUrl")?;
                let api = format!("{web}/api/v3");
                (web, api)
            }
            None => ("https://github.com".into(), "https://api.github.com".into()),
        };
        (
            Flavor::Github { web, api },
            Resolver::UsernameMatchingUserEntityName,
            "GitHub",
        )
    };
    if let Some(callback) = &section.callback_url {
        url(callback, "callbackUrl")?;
    }
    let session = match &section.session_duration {
        Some(text) => humantime::parse_duration(text)
            .map_err(|e| anyhow::anyhow!("{at}.sessionDuration: '{text}': {e}"))?,
        None => std::time::Duration::from_secs(24 * 3600),
    };
    let mut scopes: Vec<String> = section
        .scope
        .iter()
        .flat_map(|s| s.split_whitespace())
        .map(str::to_string)
        .collect();
    scopes.extend(section.additional_scopes);
    Ok(RedirectSettings {
        flavor,
        client_id: section.client_id,
        client_secret: Secret(section.client_secret),
        callback_url: section.callback_url,
        scopes,
        title: section.title.unwrap_or_else(|| default_title.into()),
        session,
        sign_in: sign_in(section.sign_in, default_resolver, at)?,
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
    let invalid = || format!("invalid config file {}", path.display());
    if !text.contains("${") {
        // Parsed straight from the text, errors keep their line numbers.
        return serde_yaml::from_str(&text).with_context(invalid);
    }
    let mut value: serde_yaml::Value = serde_yaml::from_str(&text).with_context(invalid)?;
    substitute_env(&mut value, &mut String::new()).with_context(invalid)?;
    serde_yaml::from_value(value).with_context(invalid)
}

/// Backstage's `${NAME}` in config strings: the environment variable's value, so secrets
/// (client secrets, API tokens) stay out of the file; `$${` is a literal `${`.
fn substitute_env(value: &mut serde_yaml::Value, at: &mut String) -> anyhow::Result<()> {
    match value {
        serde_yaml::Value::String(text) if text.contains("${") => {
            let mut out = String::with_capacity(text.len());
            let mut rest = text.as_str();
            while let Some(i) = rest.find("${") {
                if rest[..i].ends_with('$') {
                    out.push_str(&rest[..i + 2]);
                    out.remove(out.len() - 3);
                    rest = &rest[i + 2..];
                    continue;
                }
                out.push_str(&rest[..i]);
                let Some(end) = rest[i..].find('}') else {
                    anyhow::bail!("{at}: '${{' without its closing '}}'");
                };
                let name = rest[i + 2..i + end].trim();
                let found = std::env::var(name).map_err(|_| {
                    anyhow::anyhow!("{at}: the environment variable {name} is not set")
                })?;
                out.push_str(&found);
                rest = &rest[i + end + 1..];
            }
            out.push_str(rest);
            *text = out;
        }
        serde_yaml::Value::Mapping(map) => {
            for (key, item) in map.iter_mut() {
                let len = at.len();
                if !at.is_empty() {
                    at.push('.');
                }
                at.push_str(key.as_str().unwrap_or("?"));
                substitute_env(item, at)?;
                at.truncate(len);
            }
        }
        serde_yaml::Value::Sequence(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                let len = at.len();
                at.push_str(&format!("[{i}]"));
                substitute_env(item, at)?;
                at.truncate(len);
            }
        }
        _ => {}
    }
    Ok(())
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
    fn secrets_come_from_the_environment_and_providers_from_their_environment() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("g.yaml");
        // Set once, by this test only; the name is unique to it.
        unsafe { std::env::set_var("GREENROOM_TEST_OIDC_SECRET", "s3cret-value") };
        std::fs::write(
            &file,
            "auth:\n  environment: production\n  providers:\n    oidc:\n      production:\n        metadataUrl: http://127.0.0.1:9/.well-known/openid-configuration\n        clientId: portal\n        clientSecret: ${GREENROOM_TEST_OIDC_SECRET}\n        sessionDuration: 12h\n        signIn:\n          resolvers:\n            - resolver: emailLocalPartMatchingUserEntityName\n              dangerouslyAllowSignInWithoutUserInCatalog: true\n    github:\n      clientId: gh\n      clientSecret: \"$${literal}\"\n",
        )
        .unwrap();
        let config = Config::load(&args(Some(file.clone()))).unwrap();
        let [github, oidc] = config.auth.redirecting.as_slice() else {
            panic!("two providers: {:?}", config.auth.redirecting);
        };
        assert_eq!(oidc.client_secret.0, "s3cret-value");
        assert!(
            matches!(&oidc.flavor, Flavor::Oidc { issuer, .. } if issuer == "http://127.0.0.1:9")
        );
        assert_eq!(oidc.session, std::time::Duration::from_secs(12 * 3600));
        assert_eq!(
            oidc.sign_in.resolvers,
            vec![ResolverRule {
                resolver: Resolver::EmailLocalPartMatchingUserEntityName,
                allow_without_catalog_user: true
            }]
        );
        assert!(!format!("{config:?}").contains("s3cret-value"));
        assert_eq!(github.client_secret.0, "${literal}");
        assert!(
            matches!(&github.flavor, Flavor::Github { api, .. } if api == "https://api.github.com")
        );
        std::fs::write(
            &file,
            "auth:\n  providers:\n    oidc:\n      clientId: x\n      clientSecret: ${GREENROOM_TEST_UNSET_VARIABLE}\n",
        )
        .unwrap();
        let err = format!("{:#}", Config::load(&args(Some(file.clone()))).unwrap_err());
        assert!(
            err.contains("auth.providers.oidc.clientSecret")
                && err.contains("GREENROOM_TEST_UNSET_VARIABLE"),
            "{err}"
        );
        std::fs::write(
            &file,
            "auth:\n  providers:\n    oidc:\n      clientId: x\n      clientSecret: y\n",
        )
        .unwrap();
        let err = format!("{:#}", Config::load(&args(Some(file))).unwrap_err());
        assert!(err.contains("auth.providers.oidc.metadataUrl"), "{err}");
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
