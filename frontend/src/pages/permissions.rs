//! `/settings/permissions`: the permission policy in force, read only: its roles with their
//! members and grants, the permissions there are and the rules conditions may use. Also
//! why the newest edit of the policy file was refused, when it was; and, for a viewer who
//! may not read the policy, the server's reason.

use leptos::prelude::*;
use serde_json::Value;

use crate::api::{Failure, get_json_or_failure, text};

#[component]
pub fn PermissionsPage() -> impl IntoView {
    let status = LocalResource::new(|| get_json_or_failure::<Value>("/api/permission/policy"));
    view! {
        <div class="permissions-page" id="permissions-page">
            <h1>"Permissions"</h1>
            <p class="subtitle">"Who may do what in this portal: the policy in force, read only. It is edited in its file, which the server reloads by itself."</p>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || status.get().map(|result| match result {
                    Err(failure) => refused(failure).into_any(),
                    Ok(status) if status["enabled"] != true => view! {
                        <p class="empty" id="no-policy">"No permission policy is configured: everyone signed in may do everything."</p>
                    }.into_any(),
                    Ok(status) => policy_view(&status).into_any(),
                })}
            </Transition>
        </div>
    }
}

fn refused(failure: Failure) -> impl IntoView {
    if failure.is_denied() {
        view! {
            <div class="error" id="permission-denied">
                <strong>"You may not read the permission policy."</strong>
                <div class="reason">{failure.message}</div>
            </div>
        }
        .into_any()
    } else {
        view! { <div class="error" id="policy-error">{failure.message}</div> }.into_any()
    }
}

fn strings(value: &Value) -> Vec<String> {
    value.as_array().into_iter().flatten().map(text).collect()
}

fn policy_view(status: &Value) -> impl IntoView + use<> {
    let problem = status["problem"].as_str().map(str::to_string);
    let file = text(&status["file"]);
    let policy = &status["policy"];
    let default_role = policy["defaultRole"].as_str().map(str::to_string);
    let roles = policy["roles"].as_array().cloned().unwrap_or_default();
    let permissions = status["permissions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let rules = status["rules"].as_array().cloned().unwrap_or_default();
    let in_force = !policy.is_null();
    view! {
        {problem.map(|problem| view! {
            <div class="warning" id="policy-problem">
                <strong>"The newest edit of the policy file was refused: "
                    {if in_force { "the last good policy is still in force." } else { "no policy is in force." }}</strong>
                <div class="problem">{problem}</div>
            </div>
        })}
        <dl class="kv policy-summary">
            <dt>"Policy file"</dt><dd><code id="policy-file">{file}</code></dd>
            <dt>"Default role"</dt>
            <dd id="default-role">{default_role.clone().unwrap_or_else(|| "none".into())}</dd>
        </dl>
        <p class="muted">"Everyone signed in has the default role besides the roles listing them. A deny overrides the allows no more specific than itself."</p>
        <h2>"Roles"</h2>
        {if roles.is_empty() {
            view! { <p class="empty" id="no-roles">"The policy has no roles: nothing is allowed."</p> }.into_any()
        } else {
            roles_table(&roles, default_role.as_deref()).into_any()
        }}
        <h2>"Permissions"</h2>
        <table id="permission-list">
            <thead><tr><th>"Permission"</th><th>"Type"</th><th>"Resource type"</th><th>"Action"</th></tr></thead>
            <tbody>{permissions.iter().map(|p| {
                let (name, key) = (text(&p["name"]), text(&p["name"]));
                let or_dash = |value: &Value| value.as_str().unwrap_or("—").to_string();
                view! {
                    <tr class="permission" data-permission=key>
                        <td><code>{name}</code></td>
                        <td>{text(&p["type"])}</td>
                        <td>{or_dash(&p["resourceType"])}</td>
                        <td>{or_dash(&p["action"])}</td>
                    </tr>
                }
            }).collect_view()}</tbody>
        </table>
        <h2>"Rules"</h2>
        <p class="muted">"What conditions in the policy may test, by resource type."</p>
        <ul id="rules" class="rules">{rules.iter().map(|r| {
            let (name, key) = (text(&r["name"]), text(&r["name"]));
            let params = strings(&r["params"]).join(", ");
            view! {
                <li class="rule" data-rule=key>
                    <code>{format!("{name}({params})")}</code>
                    " on "<span class="resource-type">{text(&r["resourceType"])}</span>
                    ": "<span class="description">{text(&r["description"])}</span>
                </li>
            }
        }).collect_view()}</ul>
    }
}

fn roles_table(roles: &[Value], default_role: Option<&str>) -> impl IntoView + use<> {
    let grants = |value: &Value| {
        let list = strings(value);
        if list.is_empty() {
            return view! { <span class="muted">"—"</span> }.into_any();
        }
        view! {
            <ul class="grants">{list.into_iter().map(|g| view! { <li class="grant"><code>{g}</code></li> }).collect_view()}</ul>
        }
        .into_any()
    };
    let rows = roles
        .iter()
        .map(|role| {
            let (name, key) = (text(&role["name"]), text(&role["name"]));
            let is_default = default_role == Some(name.as_str());
            let mut members: Vec<String> = strings(&role["members"])
                .into_iter()
                .map(|m| if m == "*" { "everyone".into() } else { m })
                .collect();
            if is_default && !members.iter().any(|m| m == "everyone") {
                members.push("everyone (the default role)".into());
            }
            let members = if members.is_empty() {
                view! { <span class="muted">"nobody"</span> }.into_any()
            } else {
                view! {
                    <ul class="members">{members.into_iter().map(|m| view! { <li class="member">{m}</li> }).collect_view()}</ul>
                }
                .into_any()
            };
            view! {
                <tr class="role" data-role=key>
                    <td class="role-name"><strong>{name}</strong>
                        {is_default.then(|| view! { " "<span class="badge info">"default"</span> })}
                    </td>
                    <td>{members}</td>
                    <td class="allow">{grants(&role["allow"])}</td>
                    <td class="deny">{grants(&role["deny"])}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table id="roles">
            <thead><tr><th>"Role"</th><th>"Members"</th><th>"Allows"</th><th>"Denies"</th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
}
