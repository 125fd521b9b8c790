//! The docs reader's JSON (`/api/docs/...`): a site's navigation and build, and one page
//! with its table of contents and neighbours. Backstage's TechDocs endpoints
//! (`/api/techdocs/...`) keep Backstage's shapes and are not here.

use serde::{Deserialize, Serialize};

/// `GET /api/docs/site/:namespace/:kind/:name`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DocsSite {
    /// The entity whose site it is (the lender, for a borrowed site).
    pub entity_ref: String,
    /// That entity's `spec.owner` and `spec.lifecycle`, as written.
    pub owner: Option<String>,
    pub lifecycle: Option<String>,
    pub site_name: String,
    pub site_description: Option<String>,
    pub repo_url: Option<String>,
    pub nav: Vec<DocsNavItem>,
    /// The page a reader opens first (a page path, see [`DocsPage::path`]).
    pub home: String,
    pub build: DocsBuild,
}

/// How and when a site was built.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DocsBuild {
    /// Milliseconds since the epoch.
    pub built_at: u64,
    pub took_ms: f64,
    /// Pages rendered by that build (the others were unchanged).
    pub rendered: usize,
    /// The site folder it was built from.
    pub source: String,
    pub etag: String,
    /// Problems that did not stop the build, each naming its file.
    pub warnings: Vec<String>,
    /// Why the latest build failed, when an older one is served.
    pub failed: Option<String>,
}

/// An entry of a site's navigation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum DocsNavItem {
    Page {
        title: String,
        path: String,
    },
    Section {
        title: String,
        children: Vec<DocsNavItem>,
    },
    Link {
        title: String,
        url: String,
    },
}

/// `GET /api/docs/page/:namespace/:kind/:name/<path>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DocsPage {
    /// Where the page is in the site: `` for the home page, `guides/setup/` (or
    /// `guides/setup.html` without directory URLs); links in `html` are relative to it.
    pub path: String,
    pub title: String,
    /// Sanitized.
    pub html: String,
    pub toc: Vec<DocsHeading>,
    pub prev: Option<DocsLink>,
    pub next: Option<DocsLink>,
    /// Where the page's source is edited, when the site says.
    pub edit_url: Option<String>,
    /// The page's file in the docs folder.
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocsHeading {
    pub level: u8,
    pub id: String,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocsLink {
    pub title: String,
    pub path: String,
}
