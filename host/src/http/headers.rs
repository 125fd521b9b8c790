//! Security headers on every response. The Content Security Policy lets the web UI run (its
//! own scripts and wasm, which needs `'wasm-unsafe-eval'`) and nothing else: no inline or
//! foreign scripts, no plugins, no framing by other sites. A response that brings its own
//! policy (a docs site's static files, sandboxed) keeps it.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

/// The headers, worked out once from the configuration.
#[derive(Clone)]
pub struct SecurityHeaders {
    policy: HeaderValue,
}

impl SecurityHeaders {
    /// `frame_hosts`: hosts whose https pages docs may embed (`techdocs.allowedIframeHosts`).
    pub fn new(frame_hosts: &[String]) -> Self {
        let frames: String = frame_hosts
            .iter()
            .filter(|h| {
                !h.is_empty()
                    && h.chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'))
            })
            .map(|h| format!(" https://{h}"))
            .collect();
        let frames = if frames.is_empty() {
            " 'none'".to_string()
        } else {
            frames
        };
        let policy = format!(
            "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; \
             img-src 'self' data: https:; font-src 'self' data:; connect-src 'self'; frame-src{frames}; \
             object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
        );
        Self {
            policy: HeaderValue::from_str(&policy).expect("the policy is ASCII"),
        }
    }
}

pub async fn security_headers(
    State(headers): State<SecurityHeaders>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    let set = response.headers_mut();
    if !set.contains_key(header::CONTENT_SECURITY_POLICY) {
        set.insert(header::CONTENT_SECURITY_POLICY, headers.policy.clone());
    }
    set.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    set.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    set.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_only_from_configured_hosts() {
        let none = SecurityHeaders::new(&[]);
        assert!(none.policy.to_str().unwrap().contains("frame-src 'none';"));
        let some = SecurityHeaders::new(&["www.youtube.com".into(), "evil; script-src *".into()]);
        let policy = some.policy.to_str().unwrap();
        assert!(
            policy.contains("frame-src https://www.youtube.com;"),
            "{policy}"
        );
        assert!(!policy.contains("evil"), "{policy}");
        assert!(policy.contains("script-src 'self' 'wasm-unsafe-eval';"));
    }
}
