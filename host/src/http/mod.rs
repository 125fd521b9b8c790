//! HTTP plumbing shared by every capability's routes: Backstage's error body, a JSON body
//! extractor that fails in that body, responses that are JSON text already, and running
//! blocking work off the async workers. A leaf: it imports no capability.

mod error;
mod json_text;

pub use error::{ApiError, JsonBody, blocking, error_body};
pub use json_text::{JsonText, array as json_array};
