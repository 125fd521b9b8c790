//! What keeps other web sites out even before anyone signs in. A page the operator happens
//! to visit can make their browser send requests to the portal; it cannot make the browser
//! send a JSON body, custom headers or a matching `Origin` without a CORS preflight, which
//! the portal never grants. So a request that changes state is refused when the browser
//! says it comes from another site (`Sec-Fetch-Site`, `Origin`) or when its body has one of
//! the types a page may send anywhere (form, multipart, plain text). And every request must
//! name the portal by an IP address, `localhost` or a configured host name: a DNS-rebinding
//! page reaches a loopback server only under its own domain name.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::ApiError;

/// The host names (besides IP addresses and `localhost`) the portal is served under: the
/// config's `hostNames`.
#[derive(Debug, Clone, Default)]
pub struct AllowedHosts(std::sync::Arc<[String]>);

impl AllowedHosts {
    pub fn new(names: impl IntoIterator<Item = String>) -> Self {
        Self(names.into_iter().map(|n| n.to_ascii_lowercase()).collect())
    }

    /// Whether `name` is one of the configured names (not merely an address).
    fn names(&self, name: &str) -> bool {
        self.0
            .iter()
            .any(|allowed| name.eq_ignore_ascii_case(allowed))
    }

    fn allows(&self, host: &str) -> bool {
        let name = host_name(host);
        name.parse::<std::net::IpAddr>().is_ok()
            || name.eq_ignore_ascii_case("localhost")
            || self.names(name)
    }
}

/// The middleware: refuses what [`check`] refuses, in Backstage's error body.
pub async fn guard(State(hosts): State<AllowedHosts>, request: Request, next: Next) -> Response {
    match check(&hosts, request.method(), request.headers()) {
        Ok(()) => next.run(request).await,
        Err(error) => error.into_response(),
    }
}

fn check(hosts: &AllowedHosts, method: &Method, headers: &HeaderMap) -> Result<(), ApiError> {
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let host =
        match headers.get(header::HOST) {
            None => None,
            Some(value) => Some(value.to_str().map_err(|_| {
                ApiError::not_allowed("a Host header that is not ASCII is refused")
            })?),
        };
    if let Some(host) = host
        && !hosts.allows(host)
    {
        return Err(ApiError::not_allowed(format!(
            "this portal is not served as '{}'; an operator can add it to the config's hostNames",
            host_name(host)
        )));
    }
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    // The browser's own word on where a request comes from, when it gives it (secure and
    // loopback origins), decides; a proxy may have rewritten Host, so Origin need not match.
    if let Some(site) = text(header::HeaderName::from_static("sec-fetch-site")) {
        if !matches!(site, "same-origin" | "none") {
            return Err(ApiError::not_allowed(format!(
                "{method} from another site ({site}) is refused"
            )));
        }
    } else if let Some(origin) = text(header::ORIGIN) {
        // Otherwise the Origin must be the portal: this very host, or one of its names.
        let origin_host = origin.split_once("://").map(|(_, rest)| rest);
        let same = match (origin_host, host) {
            (Some(origin_host), Some(host)) => {
                origin_host.eq_ignore_ascii_case(host) || hosts.names(host_name(origin_host))
            }
            _ => false,
        };
        if !same {
            return Err(ApiError::not_allowed(format!(
                "{method} from origin '{origin}' is refused: it is not this portal"
            )));
        }
    }
    if let Some(content_type) = text(header::CONTENT_TYPE) {
        let essence = content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        if matches!(
            essence.as_str(),
            "application/x-www-form-urlencoded" | "multipart/form-data" | "text/plain"
        ) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "InputError",
                format!(
                    "{method} with content type '{essence}' is refused: send application/json (a plugin upload: application/wasm)"
                ),
            ));
        }
    }
    Ok(())
}

/// `host[:port]` or `[v6]:port` without the port and brackets.
fn host_name(host: &str) -> &str {
    match host.strip_prefix('[') {
        // Anything after the bracket but a port makes it no address at all.
        Some(v6) => match v6.split_once(']') {
            Some((address, rest)) if rest.is_empty() || rest.starts_with(':') => address,
            _ => host,
        },
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| (header::HeaderName::from_static(k), v.parse().unwrap()))
            .collect()
    }

    #[test]
    fn hosts_are_ip_addresses_localhost_or_allowed_names() {
        let hosts = AllowedHosts::new(["Portal.Example.com".to_string()]);
        for host in [
            "127.0.0.1:7007",
            "[::1]:7007",
            "localhost:7007",
            "10.1.2.3",
            "portal.example.com:443",
        ] {
            assert!(
                check(&hosts, &Method::GET, &headers(&[("host", host)])).is_ok(),
                "{host}"
            );
        }
        let refused = check(
            &hosts,
            &Method::GET,
            &headers(&[("host", "evil.example:7007")]),
        );
        assert_eq!(refused.unwrap_err().status, StatusCode::FORBIDDEN);
    }

    #[test]
    fn state_changes_from_other_sites_or_with_form_bodies_are_refused() {
        let hosts = AllowedHosts::default();
        let post = |pairs: &[(&'static str, &str)]| check(&hosts, &Method::POST, &headers(pairs));
        let host = ("host", "127.0.0.1:7007");
        assert!(post(&[host, ("content-type", "application/json")]).is_ok());
        assert!(
            post(&[
                host,
                ("origin", "http://127.0.0.1:7007"),
                ("sec-fetch-site", "same-origin")
            ])
            .is_ok()
        );
        assert!(
            post(&[host]).is_ok(),
            "scripts and CLIs send neither header"
        );
        // Behind a proxy that rewrites Host: the browser's same-origin word, or the portal's
        // configured name as Origin, still passes.
        let named = AllowedHosts::new(["portal.example.com".to_string()]);
        for headers_ in [
            headers(&[
                host,
                ("origin", "https://portal.example.com"),
                ("sec-fetch-site", "same-origin"),
            ]),
            headers(&[host, ("origin", "null"), ("sec-fetch-site", "same-origin")]),
            headers(&[host, ("origin", "http://portal.example.com:8080")]),
        ] {
            assert!(
                check(&named, &Method::POST, &headers_).is_ok(),
                "{headers_:?}"
            );
        }
        assert!(
            check(
                &named,
                &Method::GET,
                &headers(&[("host", "[::1]evil.example")])
            )
            .is_err()
        );
        for refused in [
            post(&[host, ("origin", "http://evil.example")]),
            post(&[host, ("origin", "null")]),
            post(&[host, ("sec-fetch-site", "cross-site")]),
            post(&[host, ("sec-fetch-site", "same-site")]),
        ] {
            assert_eq!(refused.unwrap_err().status, StatusCode::FORBIDDEN);
        }
        for form in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
        ] {
            let refused = post(&[host, ("content-type", form)]).unwrap_err();
            assert_eq!(refused.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{form}");
        }
        // Reading is not changing: a GET from another site is the browser's own business.
        assert!(
            check(
                &hosts,
                &Method::GET,
                &headers(&[host, ("sec-fetch-site", "cross-site")])
            )
            .is_ok()
        );
    }
}
