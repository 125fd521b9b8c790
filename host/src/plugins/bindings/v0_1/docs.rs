//! `docs`: an entity's TechDocs site, its pages and their sanitized HTML.

use super::greenroom::plugin::docs;
use crate::plugins::bindings::{HostState, parse_ref, store_error};
use crate::techdocs::Site;

impl docs::Host for HostState {
    fn list_pages(
        &mut self,
        entity_ref: String,
    ) -> wasmtime::Result<Result<Vec<docs::PageInfo>, String>> {
        let call = "docs.list-pages";
        let site = match self.site(call, &entity_ref)? {
            Ok(site) => site,
            Err(message) => return Ok(Err(message)),
        };
        let pages: Vec<docs::PageInfo> = site
            .pages()
            .iter()
            .map(|p| docs::PageInfo {
                path: p.path.clone(),
                title: p.title.clone(),
            })
            .collect();
        let size = pages.iter().map(|p| p.path.len() + p.title.len()).sum();
        Ok(self.charge(call, size).map(|()| pages))
    }

    fn get_page(
        &mut self,
        entity_ref: String,
        path: String,
    ) -> wasmtime::Result<Result<docs::Page, String>> {
        let call = "docs.get-page";
        let site = match self.site(call, &entity_ref)? {
            Ok(site) => site,
            Err(message) => return Ok(Err(message)),
        };
        let page = match site.page(&path) {
            Ok(page) => page,
            Err(message) => return Ok(Err(format!("{call}: {message}"))),
        };
        let size = page.markdown.len() + page.html.len();
        Ok(self.charge(call, size).map(|()| docs::Page {
            path: page.path,
            title: page.title,
            markdown: page.markdown,
            html: page.html,
        }))
    }
}

impl HostState {
    /// The docs site of an entity; the outer error is the store's, the inner one the plugin's.
    fn site(&mut self, call: &str, entity_ref: &str) -> wasmtime::Result<Result<Site, String>> {
        let parsed = match parse_ref(call, entity_ref) {
            Ok(r) => r,
            Err(message) => return Ok(Err(message)),
        };
        let Some(body) = self.catalog.get(&parsed).map_err(store_error)? else {
            return Ok(Err(format!("{call}: no entity '{entity_ref}'")));
        };
        Ok(Site::of(&body).map_err(|e| format!("{call}: {parsed}: {e}")))
    }
}
