//! Outgoing HTTP for plugins (`wasi:http/outgoing-handler`): a request leaves only when its
//! host is granted to the plugin, and never reaches loopback, private or link-local addresses
//! (cloud metadata included) unless the operator granted that address literally.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::http::{Request, Uri, uri::Scheme};
use http_body_util::BodyExt;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks};

/// The per-call hook that vets each request of one plugin.
pub struct HttpGate {
    plugin_id: Arc<str>,
    hosts: Arc<[String]>,
    /// The call's deadline also bounds every network wait, which epochs cannot interrupt.
    timeout: Duration,
}

impl HttpGate {
    pub fn new(plugin_id: Arc<str>, hosts: Arc<[String]>, timeout: Duration) -> Self {
        Self {
            plugin_id,
            hosts,
            timeout,
        }
    }
}

impl WasiHttpHooks for HttpGate {
    fn send_request(
        &mut self,
        mut request: Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: Box<dyn Future<Output = Result<(), Error>> + Send>,
    ) -> Box<
        dyn Future<
                Output = Result<
                    (
                        axum::http::Response<WasiBody>,
                        Box<dyn Future<Output = Result<(), Error>> + Send>,
                    ),
                    Error,
                >,
            > + Send,
    > {
        drop(fut);
        let plugin_id = self.plugin_id.clone();
        let hosts = self.hosts.clone();
        let options = bounded(options, self.timeout);
        Box::new(async move {
            let pinned = admit(&plugin_id, &hosts, request.uri()).await?;
            if let Some(addr) = pinned {
                // Plain HTTP connects to the address that was checked, so a second DNS answer
                // cannot redirect it; HTTPS keeps the name, and the certificate pins it.
                *request.uri_mut() = with_authority(request.uri(), addr)?;
            }
            let (response, io) =
                wasmtime_wasi_http::default_send_request(request, Some(options)).await?;
            Ok((
                response.map(BodyExt::boxed_unsync),
                Box::new(io) as Box<dyn Future<Output = Result<(), Error>> + Send>,
            ))
        })
    }
}

fn bounded(options: Option<RequestOptions>, limit: Duration) -> RequestOptions {
    let cap = |t: Option<Duration>| Some(t.map_or(limit, |t| t.min(limit)));
    let options = options.unwrap_or_default();
    RequestOptions {
        connect_timeout: cap(options.connect_timeout),
        first_byte_timeout: cap(options.first_byte_timeout),
        between_bytes_timeout: cap(options.between_bytes_timeout),
    }
}

/// Checks a request against the grants. For plain HTTP returns the address to connect to.
async fn admit(plugin_id: &str, hosts: &[String], uri: &Uri) -> Result<Option<SocketAddr>, Error> {
    // The plugin gets the reason as text (wasi:http's `internal-error`), so every SDK can
    // show its author what was refused and why, not a bare error code.
    let refuse = |why: String| {
        tracing::warn!(plugin = plugin_id, "outgoing HTTP to {uri} refused: {why}");
        Error::InternalError(Some(why))
    };
    let tls = uri.scheme() == Some(&Scheme::HTTPS);
    let Some(host) = uri
        .host()
        .map(|h| h.trim_matches(['[', ']']).to_ascii_lowercase())
    else {
        return Err(Error::HttpRequestUriInvalid);
    };
    let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
    let Some(grant) = hosts.iter().find(|g| grant_matches(g, &host, port)) else {
        return Err(refuse(format!(
            "denied: host {host}:{port} is not granted to plugin {plugin_id}"
        )));
    };
    let explicit = is_literal_grant(grant);
    let addrs: Vec<SocketAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|e| refuse(format!("cannot resolve host {host}: {e}")))?
            .collect(),
    };
    if !explicit && let Some(addr) = addrs.iter().find(|a| !is_public(a.ip())) {
        return Err(refuse(format!(
            "denied: host {host} resolves to the non-public address {}, which plugin {plugin_id} may reach only if the operator grants that address itself",
            addr.ip()
        )));
    }
    match (tls, addrs.first()) {
        (false, Some(addr)) => Ok(Some(*addr)),
        (false, None) => Err(Error::DestinationNotFound),
        (true, _) => Ok(None),
    }
}

fn with_authority(uri: &Uri, addr: SocketAddr) -> Result<Uri, Error> {
    let mut parts = uri.clone().into_parts();
    parts.authority = Some(
        addr.to_string()
            .parse()
            .map_err(|_| Error::HttpRequestUriInvalid)?,
    );
    Uri::from_parts(parts).map_err(|_| Error::HttpRequestUriInvalid)
}

/// `grant` is `host`, `host:port`, `*.domain[:port]` or an IP address (v6 in brackets).
fn grant_matches(grant: &str, host: &str, port: u16) -> bool {
    let (grant_host, grant_port) = split_port(grant);
    if grant_port.is_some_and(|p| p != port) {
        return false;
    }
    let grant_host = grant_host.trim_matches(['[', ']']);
    match grant_host.strip_prefix("*.") {
        Some(domain) => host
            .strip_suffix(domain)
            .is_some_and(|sub| sub.ends_with('.') && sub.len() > 1),
        None => grant_host.eq_ignore_ascii_case(host),
    }
}

fn split_port(grant: &str) -> (&str, Option<u16>) {
    match grant.rsplit_once(':') {
        Some((host, port))
            if !host.ends_with(':') && (!host.contains(':') || host.ends_with(']')) =>
        {
            match port.parse() {
                Ok(port) => (host, Some(port)),
                Err(_) => (grant, None),
            }
        }
        _ => (grant, None),
    }
}

/// An address or `localhost` granted by name is the operator's explicit consent to reach it.
fn is_literal_grant(grant: &str) -> bool {
    let host = split_port(grant).0.trim_matches(['[', ']']);
    host.parse::<IpAddr>().is_ok() || host.eq_ignore_ascii_case("localhost")
}

/// Publicly routable: not loopback, private, link-local (169.254.169.254 metadata included),
/// shared (CGNAT), unspecified, multicast or documentation space.
fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || (a == 100 && (64..128).contains(&b))
                || a == 0)
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public(IpAddr::V4(v4)),
            None => {
                let first = v6.segments()[0];
                !(v6.is_loopback()
                    || v6.is_unspecified()
                    || v6.is_multicast()
                    || (first & 0xfe00) == 0xfc00
                    || (first & 0xffc0) == 0xfe80)
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_match_host_port_and_subdomains() {
        assert!(grant_matches("ci.example.com", "ci.example.com", 443));
        assert!(grant_matches("CI.example.com:8080", "ci.example.com", 8080));
        assert!(!grant_matches("ci.example.com:8080", "ci.example.com", 80));
        assert!(grant_matches("*.example.com", "a.b.example.com", 443));
        assert!(!grant_matches("*.example.com", "example.com", 443));
        assert!(!grant_matches("*.example.com", "badexample.com", 443));
        assert!(grant_matches("127.0.0.1:9000", "127.0.0.1", 9000));
        assert!(grant_matches("[::1]:9000", "::1", 9000));
        assert!(!grant_matches("example.com", "example.com.evil.net", 443));
    }

    #[test]
    fn non_public_addresses_are_recognised() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "2606:4700::1111", "8.8.8.8"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
        assert!(is_literal_grant("127.0.0.1:9000"));
        assert!(is_literal_grant("[::1]"));
        assert!(!is_literal_grant("ci.internal:9000"));
    }

    #[tokio::test]
    async fn ungranted_hosts_are_denied_and_literal_grants_pin_the_address() {
        let hosts = vec!["127.0.0.1:9".to_string()];
        let uri: Uri = "http://evil.example.com/".parse().unwrap();
        assert!(matches!(
            admit("p", &hosts, &uri).await,
            Err(Error::InternalError(Some(why)))
                if why == "denied: host evil.example.com:80 is not granted to plugin p"
        ));
        let literal: Uri = "http://127.0.0.1:9/x".parse().unwrap();
        assert_eq!(
            admit("p", &hosts, &literal).await.unwrap(),
            Some("127.0.0.1:9".parse().unwrap())
        );
        let other_port: Uri = "http://127.0.0.1:10/x".parse().unwrap();
        assert!(matches!(
            admit("p", &hosts, &other_port).await,
            Err(Error::InternalError(Some(why))) if why.starts_with("denied: host 127.0.0.1:10 ")
        ));
    }
}
