//! The `proxy` sign-in provider: identity from headers a reverse proxy (oauth2-proxy or
//! similar) sets after signing the user in itself, believed only when the request comes
//! from one of the configured peers.

use std::net::IpAddr;

use axum::http::HeaderMap;

use super::Identity;
use super::resolve::{Claimed, SignIn};
use crate::catalog::Catalog;
use crate::http::ApiError;

#[derive(Debug, Clone)]
pub struct ProxySettings {
    pub trusted_peers: Vec<IpAddr>,
    pub user_header: String,
    pub email_header: String,
    pub sign_in: SignIn,
}

impl ProxySettings {
    /// The identity the proxy vouches for; `None` when the request carries none, or does
    /// not come from a trusted peer (its headers could be anyone's).
    pub fn identity(
        &self,
        headers: &HeaderMap,
        peer: Option<IpAddr>,
        catalog: &Catalog,
    ) -> Result<Option<Identity>, ApiError> {
        if !peer.is_some_and(|p| self.trusted_peers.contains(&p)) {
            return Ok(None);
        }
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let claimed = Claimed {
            username: header(&self.user_header),
            email: header(&self.email_header),
        };
        self.sign_in.resolve(&claimed, catalog)
    }
}
