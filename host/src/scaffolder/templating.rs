//! Text templates with Nunjucks/Jinja syntax (minijinja): the engine the scaffolder uses and
//! plugins reach through the `templating` import. Templates come from untrusted authors, so
//! every render runs on a fuel budget and undefined variables are errors.

use minijinja::{Environment, UndefinedBehavior};
use serde_json::Value;

/// Enough for any real template; stops `{% for %}` bombs.
const FUEL: u64 = 1_000_000;

/// Renders `template` with the fields of `values` (a JSON object) as its variables.
pub fn render(template: &str, values: &Value) -> Result<String, String> {
    if !values.is_object() {
        return Err("template values must be a JSON object".into());
    }
    let (template, values) = (template.to_owned(), values.clone());
    // Templates come from plugins: a string doubled in a loop must not take the host down.
    crate::support::allocator::within_memory(MEMORY, move || render_here(&template, &values))?
}

/// Most memory one render may take.
const MEMORY: usize = 128 << 20;

fn render_here(template: &str, values: &Value) -> Result<String, String> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(FUEL));
    env.render_str(template, values)
        .map_err(|e| match e.line() {
            Some(line) => format!(
                "template line {line}: {}",
                e.detail().unwrap_or(&e.to_string())
            ),
            None => e.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_jinja_syntax_with_filters_and_loops() {
        let out = render(
            "{{ name | upper }}:{% for t in tags %} {{ t }}{% endfor %}",
            &json!({"name": "svc", "tags": ["a", "b"]}),
        )
        .unwrap();
        assert_eq!(out, "SVC: a b");
    }

    #[test]
    fn undefined_variables_and_syntax_errors_are_reported() {
        let err = render("{{ nmae }}", &json!({"name": "x"})).unwrap_err();
        assert!(err.contains("undefined"), "{err}");
        let err = render("line one\n{% if %}", &json!({})).unwrap_err();
        assert!(err.contains("line 2"), "{err}");
        assert!(render("x", &json!([1])).is_err());
    }

    #[test]
    fn runaway_loops_run_out_of_fuel() {
        let err = render(
            "{% for a in range(10000) %}{% for b in range(10000) %}x{% endfor %}{% endfor %}",
            &json!({}),
        )
        .unwrap_err();
        assert!(err.contains("fuel"), "{err}");
    }
}
