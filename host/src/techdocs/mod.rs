//! TechDocs: entities' documentation sites (`backstage.io/techdocs-ref: dir:<path>`), their
//! navigation and pages, and markdown rendered to sanitized HTML (which plugin UI trees use
//! too). The `docs` plugin import reads sites through here.

mod markdown;
mod site;

pub use markdown::to_safe_html;
pub use site::{Page, PageInfo, Site, TECHDOCS_REF};
