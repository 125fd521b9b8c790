//! The server's own outbound HTTP (template fetches, sign-in providers): redirects are not
//! followed (they could lead to hosts nobody allowed), every call is bounded in time, and an
//! HTTP error status is an answer to read, not a transport failure.

use std::time::Duration;

pub fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .max_redirects(0)
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .build()
        .into()
}
