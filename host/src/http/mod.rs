//! HTTP plumbing shared by every capability's routes: Backstage's error body, a JSON body
//! extractor that fails in that body, responses that are JSON text already, running
//! blocking work off the async workers, the guard against other sites and rebound host
//! names, and the security headers every response carries. A leaf: it imports no capability.

mod error;
mod guard;
mod headers;
mod json_text;

pub use error::{ApiError, JsonBody, blocking, error_body};
pub use guard::{AllowedHosts, guard};
pub use headers::{SecurityHeaders, security_headers};
pub use json_text::{JsonText, array as json_array};
