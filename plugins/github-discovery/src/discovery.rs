//! One run of the provider: the repositories webhooks marked first, then the full scan when
//! one is due (or under way), within the run's time budget; what is left goes on in the next
//! run, which the plugin asks for at once (`schedule.run-soon`).

use greenroom_sdk::log::{self, Level};

use crate::entities::{self, Repository};
use crate::github::{Error, GitHub, Listed, PER_PAGE, Settings};
use crate::store::{self, Mark, Record, Scan};

/// How a run ended.
pub enum Outcome {
    /// Nothing left to do until the next interval or webhook.
    Done,
    /// The budget ran out with work left: run again soon.
    More,
}

/// Handles the marked repositories and the full scan, as far as the budget goes. An error
/// stops the run (GitHub refused the token, the listing failed, storage is full); what was
/// done until then is kept.
pub fn run(settings: &Settings) -> Result<Outcome, String> {
    store::forget_other_settings(&settings.fingerprint())?;
    let github = GitHub::new(settings);
    if let Outcome::More = marked(&github)? {
        return Ok(Outcome::More);
    }
    let scan = match store::scan()? {
        Some(scan) => scan,
        None => {
            let asks = store::full_scan_asks()?;
            let fresh = asks.is_empty()
                && store::last_scan()?.is_some_and(|last| {
                    store::now().saturating_sub(last) < u64::from(settings.interval)
                });
            if fresh {
                return Ok(Outcome::Done);
            }
            // Asks made from here on are for the next scan.
            store::unmark(&asks)?;
            let scan = Scan {
                started: store::now(),
                page: 1,
                listed: false,
                repos: Vec::new(),
            };
            store::save_scan(&scan)?;
            store::set_scan_next(0)?;
            scan
        }
    };
    full_scan(&github, scan)
}

/// Reads again each repository a webhook marked (or drops it when it was deleted or
/// archived). A mark is taken away before its repository is read, so a repository that
/// breaks the call is not read again on every run; it is put back when the read failed.
fn marked(github: &GitHub) -> Result<Outcome, String> {
    for (keys, mark) in store::marked()? {
        if github.out_of_time() {
            return Ok(Outcome::More);
        }
        store::unmark(&keys)?;
        if mark.remove {
            store::remove_record(&mark.name)?;
            log::log(
                Level::Info,
                &format!(
                    "{}/{}: deleted or archived, its entities are removed",
                    github.settings().org,
                    mark.name
                ),
            );
            continue;
        }
        match read(github, &mark.name, &mark.branch, &mark.html_url, None) {
            Ok(()) => {}
            Err(Error::OutOfTime) => {
                store::remark(&keys, &mark)?;
                return Ok(Outcome::More);
            }
            Err(Error::Refused(message)) => {
                store::remark(&keys, &mark)?;
                return Err(message);
            }
            Err(Error::Failed(message)) => {
                store::remark(&keys, &mark)?;
                warn_kept(github, &mark, &message);
            }
        }
    }
    Ok(Outcome::Done)
}

fn warn_kept(github: &GitHub, mark: &Mark, message: &str) {
    log::log(
        Level::Warn,
        &format!(
            "{}/{}: {message}; its last entities are kept and it is read again on the next run",
            github.settings().org,
            mark.name
        ),
    );
}

/// Goes on with a full scan: the listing page by page, then each repository in turn. A
/// repository whose `pushed_at`, branch and path are those of its record is not read again.
/// When the scan ends, repositories no longer listed (or archived) lose their entities.
fn full_scan(github: &GitHub, mut scan: Scan) -> Result<Outcome, String> {
    let org = &github.settings().org;
    while !scan.listed {
        let page = match github.repositories(scan.page) {
            Ok(page) => page,
            Err(Error::OutOfTime) => return Ok(Outcome::More),
            Err(Error::Refused(message) | Error::Failed(message)) => return Err(message),
        };
        scan.listed = page.len() < PER_PAGE;
        scan.page += 1;
        scan.repos.extend(page);
        store::save_scan(&scan)?;
    }
    let mut next = store::scan_next()?;
    while let Some(listed) = scan.repos.get(next) {
        if github.out_of_time() {
            return Ok(Outcome::More);
        }
        // Moved on before reading, so a repository that breaks the call is skipped (keeping
        // its last entities) rather than tried again on every run.
        store::set_scan_next(next + 1)?;
        match refresh(github, listed) {
            Ok(()) => {}
            Err(Error::OutOfTime) => {
                store::set_scan_next(next)?;
                return Ok(Outcome::More);
            }
            Err(Error::Refused(message)) => {
                store::set_scan_next(next)?;
                return Err(message);
            }
            Err(Error::Failed(message)) => log::log(
                Level::Warn,
                &format!(
                    "{org}/{}: {message}; its last entities are kept until the next scan",
                    listed.name
                ),
            ),
        }
        next += 1;
    }
    // Repositories gone from the organisation (deleted, renamed, moved) or archived.
    let current: Vec<String> = scan
        .repos
        .iter()
        .filter(|r| !skipped(r))
        .map(|r| r.name.to_ascii_lowercase())
        .collect();
    for name in store::recorded()? {
        if !current.contains(&name) {
            store::remove_record(&name)?;
        }
    }
    store::finish_scan(scan.started)?;
    let found = scan.repos.iter().filter(|r| !skipped(r)).count();
    log::log(
        Level::Info,
        &format!(
            "full scan of {org} done: {} repositories listed, {found} read ({} archived or \
             empty skipped)",
            scan.repos.len(),
            scan.repos.len() - found
        ),
    );
    Ok(Outcome::Done)
}

/// Archived, disabled or without any branch: not discovered, as in Backstage.
fn skipped(repo: &Listed) -> bool {
    repo.archived || repo.disabled || repo.default_branch.is_none()
}

/// One listed repository brought up to date.
fn refresh(github: &GitHub, listed: &Listed) -> Result<(), Error> {
    let branch = match &listed.default_branch {
        Some(branch) if !skipped(listed) => branch,
        _ => {
            store::remove_record(&listed.name).map_err(Error::Failed)?;
            return Ok(());
        }
    };
    let current = store::record(&listed.name)
        .map_err(Error::Failed)?
        .is_some_and(|record| {
            record.pushed_at.is_some()
                && record.pushed_at == listed.pushed_at
                && record.branch == *branch
                && record.path == github.settings().path
        });
    if current {
        return Ok(());
    }
    read(
        github,
        &listed.name,
        branch,
        &listed.html_url,
        listed.pushed_at.clone(),
    )
}

/// Reads a repository's catalog file (and what it refers to) and stores its entities,
/// logging each document or file skipped.
fn read(
    github: &GitHub,
    name: &str,
    branch: &str,
    html_url: &str,
    pushed_at: Option<String>,
) -> Result<(), Error> {
    let settings = github.settings();
    let repository = Repository {
        org: &settings.org,
        name,
        html_url: html_url.trim_end_matches('/'),
        branch,
    };
    let read_file = |path: &str| match github.file(name, branch, path) {
        Ok(found) => Ok(Ok(found)),
        Err(Error::Failed(message)) => Ok(Err(message)),
        Err(stop) => Err(stop),
    };
    // The catalog file itself failing is the repository failing: its last entities stay.
    let mut first = true;
    let mut failed = None;
    let discovered = entities::discover(&repository, &settings.path, &mut |path| {
        let result = read_file(path);
        if std::mem::take(&mut first)
            && let Ok(Err(message)) = &result
        {
            failed = Some(message.clone());
        }
        result
    })?;
    if let Some(message) = failed {
        return Err(Error::Failed(message));
    }
    for problem in &discovered.problems {
        log::log(Level::Warn, problem);
    }
    store::save_record(&Record {
        name: name.to_string(),
        branch: branch.to_string(),
        path: settings.path.clone(),
        pushed_at,
        entities: discovered.entities,
    })
    .map_err(Error::Failed)
}
