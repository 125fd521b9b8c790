//! Server configuration: a YAML file (`--config`) with command-line flags on top.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

/// `greenroom serve` flags. Each one overrides the same setting in the config file.
#[derive(clap::Args, Debug)]
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
    /// A catalog file, or a folder scanned for catalog-info.yaml. Repeatable.
    #[arg(long = "catalog")]
    pub catalogs: Vec<PathBuf>,
    /// Folder of plugin `.wasm` components [default: ./plugins].
    #[arg(long)]
    pub plugins: Option<PathBuf>,
    /// Folder of the built web UI (index.html and its assets) [default: ./frontend/dist].
    #[arg(long)]
    pub ui: Option<PathBuf>,
}

/// The config file's shape. Every key is optional.
#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    listen: Option<SocketAddr>,
    data: Option<PathBuf>,
    #[serde(default)]
    catalog: Vec<PathBuf>,
    plugins: Option<PathBuf>,
    ui: Option<PathBuf>,
}

/// The settings the server runs with.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub catalog_paths: Vec<PathBuf>,
    pub plugins_dir: PathBuf,
    pub ui_dir: PathBuf,
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
        let catalog_paths = if args.catalogs.is_empty() {
            file.catalog.into_iter().map(rebase).collect()
        } else {
            args.catalogs.clone()
        };
        Ok(Self {
            listen: args
                .listen
                .or(file.listen)
                .unwrap_or(([127, 0, 0, 1], 7007).into()),
            data_dir: args
                .data
                .clone()
                .or(file.data.map(rebase))
                .unwrap_or("data".into()),
            catalog_paths,
            plugins_dir: args
                .plugins
                .clone()
                .or(file.plugins.map(rebase))
                .unwrap_or("plugins".into()),
            ui_dir: args
                .ui
                .clone()
                .or(file.ui.map(rebase))
                .unwrap_or("frontend/dist".into()),
        })
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
            listen: None,
            data: None,
            catalogs: vec![],
            plugins: None,
            ui: None,
        }
    }

    #[test]
    fn file_paths_are_relative_to_the_file_and_flags_win() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let file = dir.join("greenroom.yaml");
        std::fs::write(
            &file,
            "listen: 127.0.0.1:9000\ndata: state\ncatalog: [cat]\n",
        )
        .unwrap();
        let from_file = Config::load(&args(Some(file.clone()))).unwrap();
        assert_eq!(from_file.listen.port(), 9000);
        assert_eq!(from_file.data_dir, dir.join("state"));
        assert_eq!(from_file.catalog_paths, vec![dir.join("cat")]);
        let mut flagged = args(Some(file));
        flagged.listen = Some("127.0.0.1:9001".parse().unwrap());
        flagged.catalogs = vec!["other".into()];
        let config = Config::load(&flagged).unwrap();
        assert_eq!(config.listen.port(), 9001);
        assert_eq!(config.catalog_paths, vec![PathBuf::from("other")]);
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
}
