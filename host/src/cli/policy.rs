//! `greenroom policy check USER PERMISSION [ENTITY]`: what the configured policy decides, and
//! why — the caller's roles, the grants that decided, and for a resource permission whether
//! the entity meets the conditions (the catalog read fresh from the config's locations).
//! `greenroom policy import`: Red Hat Developer Hub's RBAC files as a Greenroom policy.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;

use super::{Scratch, empty_catalog};
use crate::app::{Config, ServeArgs};
use crate::catalog::EntityRef;
use crate::catalog::permissions::EntityResources;
use crate::permissions::{Decision, Identity, PERMISSIONS, Permissions, Policy, permission};

#[derive(clap::Subcommand)]
pub enum PolicyCommand {
    /// Explain a decision; exits 0 when allowed, 1 when denied, 2 when it depends on the
    /// entity and none was given.
    Check {
        /// A user: `ada` or `user:default/ada`.
        user: String,
        /// A permission, e.g. catalog.entity.delete.
        permission: String,
        /// An entity ref, for a resource permission.
        entity: Option<String>,
        /// The server's config file (its permission policy and catalog locations).
        #[arg(long, default_value = "greenroom.yaml")]
        config: PathBuf,
    },
    /// Convert Red Hat Developer Hub RBAC files (the policy CSV and, optionally, the
    /// conditional-policies YAML) into a Greenroom policy file.
    Import {
        /// RHDH's `rbac-policy.csv` (`p` and `g` lines).
        csv: PathBuf,
        /// RHDH's conditional policies YAML.
        #[arg(long)]
        conditional: Option<PathBuf>,
        /// Where to write the policy; standard output without it.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

pub fn run(command: PolicyCommand) -> anyhow::Result<ExitCode> {
    match command {
        PolicyCommand::Check {
            user,
            permission,
            entity,
            config,
        } => check(&user, &permission, entity, config),
        PolicyCommand::Import {
            csv,
            conditional,
            out,
        } => import(&csv, conditional.as_deref(), out.as_deref()),
    }
}

/// Reads RHDH's files, writes Greenroom's policy — after reading it back as the server
/// would, so what is written is a policy the server accepts.
fn import(
    csv: &std::path::Path,
    conditional: Option<&std::path::Path>,
    out: Option<&std::path::Path>,
) -> anyhow::Result<ExitCode> {
    let read = |path: &std::path::Path| {
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
    };
    let conditional = conditional.map(read).transpose()?;
    let policy = crate::permissions::import_rhdh(&read(csv)?, conditional.as_deref())
        .map_err(|e| anyhow::anyhow!("{}: {e}", csv.display()))?;
    Policy::parse(&policy)
        .map_err(|e| anyhow::anyhow!("the imported policy does not read back: {e}"))?;
    match out {
        Some(path) => std::fs::write(path, &policy)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => print!("{policy}"),
    }
    Ok(ExitCode::SUCCESS)
}

fn check(
    user: &str,
    name: &str,
    entity: Option<String>,
    config: PathBuf,
) -> anyhow::Result<ExitCode> {
    let file = config;
    let config = Config::load(&ServeArgs {
        config: Some(file.clone()),
        ..ServeArgs::default()
    })?;
    let policy = config.policy_file.clone().with_context(|| {
        format!(
            "{} has no permission policy (permission.enabled and permission.policyFile)",
            file.display()
        )
    })?;
    let Some(asked) = permission(name) else {
        let known: Vec<&str> = PERMISSIONS.iter().map(|p| p.name).collect();
        anyhow::bail!("'{name}' is not a permission ({})", known.join(", "));
    };
    let permissions = Permissions::open(Some(policy))?;
    let scratch = Scratch::new()?;
    let catalog = empty_catalog(&scratch, config.catalog.locations.clone())?;
    permissions.register(Arc::new(EntityResources(catalog.clone())));
    let user_ref = EntityRef::parse(user, Some("user"), "default").map_err(anyhow::Error::msg)?;
    let ownership_refs = match catalog.get(&user_ref)? {
        Some(entity) => crate::auth::ownership(&catalog, &entity),
        None => {
            println!("note:       the catalog has no User {user_ref}; deciding for the ref alone");
            vec![user_ref.to_string()]
        }
    };
    let access = permissions.access(Some(Identity::User {
        user_ref: user_ref.to_string(),
        ownership_refs: ownership_refs.clone(),
    }));
    let verdict = access.verdict(asked);
    println!("user:       {user_ref}");
    println!("ownership:  {}", ownership_refs.join(", "));
    let roles: Vec<String> = verdict
        .roles
        .iter()
        .map(|(role, why)| format!("{role} ({why})"))
        .collect();
    println!(
        "roles:      {}",
        if roles.is_empty() {
            "none".into()
        } else {
            roles.join(", ")
        }
    );
    println!(
        "permission: {} ({})",
        asked.name,
        asked
            .resource_type
            .map_or("basic".to_string(), |t| format!("resource: {t}"))
    );
    let (text, code) = match &verdict.decision {
        Decision::Allow => ("ALLOW".to_string(), 0),
        Decision::Deny => ("DENY".to_string(), 1),
        Decision::Conditional(criteria) => (format!("CONDITIONAL: {}", criteria.describe()), 2),
    };
    println!("decision:   {text}");
    println!("because:    {}", verdict.reason);
    let (Some(entity), Decision::Conditional(_)) = (entity, &verdict.decision) else {
        return Ok(ExitCode::from(code));
    };
    let entity_ref = EntityRef::parse(&entity, None, "default").map_err(anyhow::Error::msg)?;
    match access.require_on(asked.name, &entity_ref.to_string()) {
        Ok(Some(())) => {
            println!("entity:     {entity_ref} meets the conditions: ALLOW");
            Ok(ExitCode::SUCCESS)
        }
        Ok(None) => anyhow::bail!("the catalog has no entity {entity_ref}"),
        Err(denied) if denied.status == axum::http::StatusCode::FORBIDDEN => {
            println!("entity:     {entity_ref} does not meet the conditions: DENY");
            Ok(ExitCode::from(1))
        }
        Err(error) => anyhow::bail!("{}", error.message),
    }
}
