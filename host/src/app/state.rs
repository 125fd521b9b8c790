//! The application state: every capability service, each handed to the routes that need it
//! through axum's `FromRef`, so no capability's routes know the others.

use std::sync::Arc;

use axum::extract::FromRef;

use crate::auth::Auth;
use crate::catalog::Catalog;
use crate::permissions::Permissions;
use crate::plugins::PluginHost;
use crate::scaffolder::Scaffolder;
use crate::search::Search;
use crate::techdocs::TechDocs;

#[derive(Clone)]
pub struct AppState {
    pub catalog: Arc<Catalog>,
    pub plugins: Arc<PluginHost>,
    pub docs: Arc<TechDocs>,
    pub scaffolder: Arc<Scaffolder>,
    pub auth: Arc<Auth>,
    pub permissions: Arc<Permissions>,
    pub search: Arc<Search>,
}

impl FromRef<AppState> for Arc<Search> {
    fn from_ref(state: &AppState) -> Self {
        state.search.clone()
    }
}

impl FromRef<AppState> for Arc<Permissions> {
    fn from_ref(state: &AppState) -> Self {
        state.permissions.clone()
    }
}

impl FromRef<AppState> for Arc<Auth> {
    fn from_ref(state: &AppState) -> Self {
        state.auth.clone()
    }
}

impl FromRef<AppState> for Arc<Scaffolder> {
    fn from_ref(state: &AppState) -> Self {
        state.scaffolder.clone()
    }
}

impl FromRef<AppState> for Arc<TechDocs> {
    fn from_ref(state: &AppState) -> Self {
        state.docs.clone()
    }
}

impl FromRef<AppState> for Arc<Catalog> {
    fn from_ref(state: &AppState) -> Self {
        state.catalog.clone()
    }
}

impl FromRef<AppState> for Arc<PluginHost> {
    fn from_ref(state: &AppState) -> Self {
        state.plugins.clone()
    }
}
