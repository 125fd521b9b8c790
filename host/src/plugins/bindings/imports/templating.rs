//! `templating`: the scaffolder's template engine.

use serde_json::Value;

use super::greenroom::plugin::templating;
use crate::plugins::bindings::HostState;

/// Largest template or template values a plugin may pass.
const MAX_TEMPLATE_INPUT: usize = 1 << 20;

impl templating::Host for HostState {
    fn render(
        &mut self,
        template: String,
        values_json: String,
    ) -> wasmtime::Result<Result<String, String>> {
        let call = "templating.render";
        if template.len() > MAX_TEMPLATE_INPUT || values_json.len() > MAX_TEMPLATE_INPUT {
            return Ok(Err(format!(
                "{call}: template and values are limited to {} KiB each",
                MAX_TEMPLATE_INPUT >> 10
            )));
        }
        let values: Value = match serde_json::from_str(&values_json) {
            Ok(values) => values,
            Err(e) => return Ok(Err(format!("{call}: values are not JSON: {e}"))),
        };
        let rendered = crate::scaffolder::render(&template, &values)
            .map_err(|e| format!("{call}: {e}"))
            .and_then(|text| self.charge(call, text.len()).map(|()| text));
        Ok(rendered)
    }
}
