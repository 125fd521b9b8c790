//! `publish:git`: the workspace (or a folder of it) committed into a new bare git repository
//! on a configured local git host, so a created service is a repository people can clone.
//! A copy of the committed tree is kept as a folder the catalog can register from.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::json;

use super::{ActionInfo, Output, Step, object_schema};

/// Where repositories are created: host name (the part of `repoUrl` before `?`) -> folder.
#[derive(Debug, Clone)]
pub struct GitHosts {
    pub hosts: BTreeMap<String, PathBuf>,
    /// `<published>/<host>/<owner>/<repo>/`: the committed tree, as files.
    pub published: PathBuf,
}

pub fn info() -> ActionInfo {
    ActionInfo {
        id: "publish:git".into(),
        description: "Initializes a git repository of the content in the workspace on a configured git host (a folder of bare repositories), and publishes it.".into(),
        input: object_schema(
            json!({
                "repoUrl": {"title": "Repository Location", "type": "string",
                    "description": "host?owner=OWNER&repo=REPO; the host is one of the server's scaffolder.gitHosts"},
                "description": {"title": "Repository Description", "type": "string"},
                "defaultBranch": {"title": "Default Branch", "type": "string", "description": "Defaults to 'main'"},
                "sourcePath": {"title": "Source Path", "type": "string",
                    "description": "Path within the workspace that will be used as the repository root."},
                "gitCommitMessage": {"title": "Git Commit Message", "type": "string", "description": "Defaults to 'initial commit'"},
                "gitAuthorName": {"title": "Default Author Name", "type": "string", "description": "Defaults to 'Scaffolder'"},
                "gitAuthorEmail": {"title": "Default Author Email", "type": "string"},
            }),
            &["repoUrl"],
        ),
        output: json!({"type": "object", "properties": {
            "remoteUrl": {"title": "A URL to the repository with the provider", "type": "string"},
            "repoContentsUrl": {"title": "A URL to the root of the repository", "type": "string"},
            "commitHash": {"title": "The git commit hash of the initial commit", "type": "string"}}}),
        supports_dry_run: false,
    }
}

/// `host?owner=o&repo=r` read as Backstage's `parseRepoUrl` reads it.
fn parse_repo_url(url: &str) -> Result<(String, String, String), String> {
    let (host, query) = url.split_once('?').ok_or_else(|| {
        format!("input.repoUrl '{url}' must look like host?owner=OWNER&repo=REPO")
    })?;
    let mut owner = None;
    let mut repo = None;
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        match key.as_ref() {
            "owner" | "organization" | "workspace" => owner = Some(value.into_owned()),
            "repo" => repo = Some(value.into_owned()),
            _ => {}
        }
    }
    let valid = |s: &str| {
        !s.is_empty()
            && !s.starts_with('.')
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    match (owner, repo) {
        (Some(owner), Some(repo)) if valid(&owner) && valid(&repo) => {
            Ok((host.to_string(), owner, repo))
        }
        _ => Err(format!(
            "input.repoUrl '{url}' needs an owner and a repo made of letters, digits, '-', '_' and '.'"
        )),
    }
}

pub fn publish(step: &mut Step) -> Result<Output, String> {
    let (host, owner, repo) = parse_repo_url(step.required("repoUrl")?)?;
    let hosts = &step.services.git;
    let Some(root) = hosts.hosts.get(&host) else {
        return Err(format!(
            "input.repoUrl: '{host}' is not a git host of this server (configured: {})",
            hosts.hosts.keys().cloned().collect::<Vec<_>>().join(", ")
        ));
    };
    let source = step
        .workspace
        .resolve(step.string("sourcePath").unwrap_or("."))?;
    if !source.is_dir() {
        return Err("input.sourcePath must be a folder of the workspace".into());
    }
    let branch = step.string("defaultBranch").unwrap_or("main").to_string();
    if !git2::Reference::is_valid_name(&format!("refs/heads/{branch}")) {
        return Err(format!(
            "input.defaultBranch '{branch}' is not a valid branch name"
        ));
    }
    let message = step.string("gitCommitMessage").unwrap_or("initial commit");
    let author = git2::Signature::now(
        step.string("gitAuthorName").unwrap_or("Scaffolder"),
        step.string("gitAuthorEmail")
            .unwrap_or("scaffolder@greenroom.local"),
    )
    .map_err(|e| format!("git author: {}", e.message()))?;
    let path = root.join(&owner).join(format!("{repo}.git"));
    let commit = commit_tree(&path, &source, &branch, message, &author, step)?;
    let published = hosts.published.join(&host).join(&owner).join(&repo);
    copy_tree(&source, &published)?;
    (step.log)(format!(
        "Published {owner}/{repo} to {host} at commit {commit}"
    ));
    let mut output = Output::new();
    output.insert(
        "remoteUrl".into(),
        format!("file://{}", path.display()).into(),
    );
    output.insert(
        "repoContentsUrl".into(),
        format!("file://{}", published.display()).into(),
    );
    output.insert("commitHash".into(), commit.into());
    Ok(output)
}

/// Creates the bare repository and its first commit of `source`. A repository that exists
/// already is refused unless it holds exactly this tree on `branch` (the same task resumed
/// after a restart), which is answered with its commit.
fn commit_tree(
    path: &Path,
    source: &Path,
    branch: &str,
    message: &str,
    author: &git2::Signature,
    step: &Step,
) -> Result<String, String> {
    let git = |e: git2::Error| format!("git: {}", e.message());
    let existed = path.exists();
    if !existed {
        std::fs::create_dir_all(path).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    let repo = git2::Repository::init_opts(
        path,
        git2::RepositoryInitOptions::new()
            .bare(true)
            .initial_head(branch)
            .no_reinit(false),
    )
    .map_err(git)?;
    let tree_id = write_tree(&repo, source, step)?;
    let reference = format!("refs/heads/{branch}");
    let resumed = match repo.refname_to_id(&reference) {
        Ok(head) if repo.find_commit(head).map_err(git)?.tree_id() == tree_id => Some(head),
        _ => None,
    };
    let commit = match resumed {
        Some(head) => head,
        None => {
            if existed && repo.references().map_err(git)?.next().is_some() {
                return Err(format!(
                    "a repository already exists at {}",
                    path.file_name().unwrap_or_default().to_string_lossy()
                ));
            }
            let tree = repo.find_tree(tree_id).map_err(git)?;
            repo.commit(Some(&reference), author, author, message, &tree, &[])
                .map_err(git)?
        }
    };
    // The dumb HTTP protocol and `git clone` of a copied folder need this list of refs;
    // written again on a resumed step, which may have stopped before it.
    std::fs::create_dir_all(path.join("info")).map_err(|e| e.to_string())?;
    std::fs::write(path.join("info/refs"), format!("{commit}\t{reference}\n"))
        .map_err(|e| e.to_string())?;
    Ok(commit.to_string())
}

/// The tree of a folder, written into `repo` (files, executable bits, links as links).
fn write_tree(repo: &git2::Repository, folder: &Path, step: &Step) -> Result<git2::Oid, String> {
    let git = |e: git2::Error| format!("git: {}", e.message());
    let mut builder = repo.treebuilder(None).map_err(git)?;
    let mut entries: Vec<_> = std::fs::read_dir(folder)
        .map_err(|e| format!("{}: {e}", folder.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        step.stop.check()?;
        let name = entry.file_name();
        if name == ".git" {
            continue;
        }
        let kind = entry.file_type().map_err(|e| e.to_string())?;
        let (oid, mode) = if kind.is_dir() {
            (write_tree(repo, &entry.path(), step)?, 0o040000)
        } else if kind.is_symlink() {
            let target = std::fs::read_link(entry.path()).map_err(|e| e.to_string())?;
            let oid = repo
                .blob(target.to_string_lossy().as_bytes())
                .map_err(git)?;
            (oid, 0o120000)
        } else {
            use std::os::unix::fs::PermissionsExt;
            let meta = entry.metadata().map_err(|e| e.to_string())?;
            let bytes = std::fs::read(entry.path()).map_err(|e| e.to_string())?;
            let mode = if meta.permissions().mode() & 0o111 != 0 {
                0o100755
            } else {
                0o100644
            };
            (repo.blob(&bytes).map_err(git)?, mode)
        };
        builder.insert(&name, oid, mode).map_err(git)?;
    }
    builder.write().map_err(git)
}

/// Replaces `to` with a copy of the files under `from` (links are not followed).
fn copy_tree(from: &Path, to: &Path) -> Result<(), String> {
    if to.exists() {
        std::fs::remove_dir_all(to).map_err(|e| format!("{}: {e}", to.display()))?;
    }
    std::fs::create_dir_all(to).map_err(|e| format!("{}: {e}", to.display()))?;
    for entry in std::fs::read_dir(from).map_err(|e| e.to_string())? {
        let entry = entry.map_err(|e| e.to_string())?;
        let kind = entry.file_type().map_err(|e| e.to_string())?;
        let target = to.join(entry.file_name());
        if kind.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else if kind.is_file() {
            std::fs::copy(entry.path(), &target).map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_urls_are_read_like_backstage_and_bad_names_refused() {
        assert_eq!(
            parse_repo_url("local?owner=team-a&repo=svc").unwrap(),
            ("local".into(), "team-a".into(), "svc".into())
        );
        for bad in [
            "local",
            "local?owner=a",
            "local?owner=..&repo=x",
            "local?owner=a&repo=../x",
            "local?owner=a&repo=%2e%2e",
        ] {
            assert!(parse_repo_url(bad).is_err(), "{bad}");
        }
    }
}
