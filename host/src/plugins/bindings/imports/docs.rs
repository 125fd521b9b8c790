//! `docs`: an entity's TechDocs site, its pages and their sanitized HTML.

use super::greenroom::plugin::docs;
use crate::plugins::bindings::HostState;

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
        let built = &site.built;
        let pages: Vec<docs::PageInfo> = built
            .pages_in_order()
            .into_iter()
            .map(|src| docs::PageInfo {
                title: built.title_of(&src),
                path: src,
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
        let Some(page) = site.built.pages.get(&path) else {
            return Ok(Err(format!("{call}: the docs site has no page '{path}'")));
        };
        let markdown = match site.built.markdown_of(&path) {
            Ok(markdown) => markdown,
            Err(message) => return Ok(Err(format!("{call}: {message}"))),
        };
        let size = markdown.len() + page.html.len();
        Ok(self.charge(call, size).map(|()| docs::Page {
            path,
            title: page.title.clone(),
            markdown,
            html: page.html.clone(),
        }))
    }
}
