//! `greenroom catalog validate PATH...`: the server's catalog walk, nothing stored.

use std::path::PathBuf;
use std::process::ExitCode;

/// Prints every problem with file, document and field; fails when there is any.
pub fn validate(paths: &[PathBuf], file_name: &str) -> ExitCode {
    let report = crate::catalog::lint(paths, file_name);
    for problem in &report.problems {
        println!("{problem}");
    }
    println!(
        "{} files, {} entities, {} problems",
        report.files,
        report.entities,
        report.problems.len()
    );
    if report.problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
