//! HTTP plumbing shared by every capability's routes: Backstage's error body, a JSON body
//! extractor that fails in that body, responses that are JSON text already, running
//! blocking work off the async workers, and the guard against other sites and rebound host
//! names. A leaf: it imports no capability.

mod error;
mod guard;
mod json_text;

pub use error::{ApiError, JsonBody, blocking, error_body};
pub use guard::{AllowedHosts, guard};
pub use json_text::{JsonText, array as json_array};
