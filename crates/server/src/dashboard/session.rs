//! The dashboard's session cookie and its cross-site request check.
//!
//! The cookie holds only a session id (see `cmms_pipeline::auth::open_session`), never the API
//! token. It is `HttpOnly; SameSite=Strict; Path=/` with `Max-Age` the session's lifetime, and,
//! when the dashboard is reached over HTTPS, `Secure` under the name `__Host-cmms_session` (a
//! `__Host-` cookie can be set only by this host over HTTPS, so a sibling subdomain cannot plant
//! one). The service itself speaks plain HTTP; it knows HTTPS is in front of it when configured
//! so: `secure_cookies = true` (every request came over HTTPS, through a TLS-terminating proxy),
//! or `trust_proxy_headers = true` (the proxy's `X-Forwarded-Proto: https` says so per request;
//! only for a service that nothing but the proxy can reach, as any client could send the header).
//!
//! Every state-changing request (any method but GET, HEAD, OPTIONS) must come from the dashboard
//! itself: a `Sec-Fetch-Site` header, when sent, must be `same-origin` or `none`, and an `Origin`
//! header, when sent, must name this host (the `Host` header, or `X-Forwarded-Host` when proxy
//! headers are trusted). A request carrying neither header is not from a current browser (curl,
//! scripts) and passes; browsers send `Origin` on every POST.

use axum::http::{HeaderMap, Method, header};
use cmms_core::session::SessionPolicy;

/// The cookie's name over HTTPS (the `__Host-` prefix requires `Secure` and `Path=/`).
pub const SECURE_COOKIE: &str = "__Host-cmms_session";

/// The cookie's name over plain HTTP.
pub const PLAIN_COOKIE: &str = "cmms_session";

/// How the dashboard keeps sessions: their lifetime and idle timeout, and whether it is reached
/// over HTTPS.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DashboardSettings {
    /// Session lifetime and idle timeout.
    pub policy: SessionPolicy,
    /// Every request reaches the service over HTTPS (a TLS-terminating proxy in front): cookies
    /// are `Secure` with the `__Host-` prefix.
    pub secure_cookies: bool,
    /// Trust `X-Forwarded-Proto` and `X-Forwarded-Host` from a reverse proxy.
    pub trust_proxy_headers: bool,
    /// The dashboard's fixed "now" (the demo's today), when set: overdue marks, plot axes and
    /// the default completion time use it instead of the clock.
    pub as_of: Option<jiff::Timestamp>,
}

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim)
}

/// The first value of a proxy header that may carry a comma-separated chain.
fn forwarded<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    header_text(headers, name).and_then(|v| v.split(',').next()).map(str::trim).filter(|v| !v.is_empty())
}

impl DashboardSettings {
    /// The dashboard's "now", epoch ms: the fixed `as_of` when set, else the clock.
    pub fn now_ms(&self) -> i64 {
        self.as_of.map_or_else(crate::api::now_ms, |t| t.as_millisecond())
    }

    /// Whether this request reached the service over HTTPS, as far as the settings let it know.
    pub fn is_https(&self, headers: &HeaderMap) -> bool {
        self.secure_cookies
            || (self.trust_proxy_headers
                && forwarded(headers, "x-forwarded-proto").is_some_and(|p| p.eq_ignore_ascii_case("https")))
    }

    fn cookie_name(&self, headers: &HeaderMap) -> &'static str {
        if self.is_https(headers) { SECURE_COOKIE } else { PLAIN_COOKIE }
    }

    /// The session id in the request's cookie (the `__Host-` one over HTTPS, the plain one
    /// otherwise).
    pub fn session_id(&self, headers: &HeaderMap) -> Option<String> {
        let name = self.cookie_name(headers);
        headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(
            |c| {
                let (k, v) = c.trim().split_once('=')?;
                (k == name).then(|| v.trim().to_owned())
            },
        )
    }

    fn attributes(&self, headers: &HeaderMap) -> &'static str {
        if self.is_https(headers) {
            "Secure; HttpOnly; SameSite=Strict; Path=/"
        } else {
            "HttpOnly; SameSite=Strict; Path=/"
        }
    }

    /// The `Set-Cookie` value carrying a new session `id` (a session id is hex: always a valid
    /// header value).
    pub fn set_cookie(&self, headers: &HeaderMap, id: &str) -> String {
        let max_age = self.policy.lifetime_ms() / 1000;
        format!("{}={id}; {}; Max-Age={max_age}", self.cookie_name(headers), self.attributes(headers))
    }

    /// The `Set-Cookie` value that removes the session cookie.
    pub fn clear_cookie(&self, headers: &HeaderMap) -> String {
        format!("{}=; {}; Max-Age=0", self.cookie_name(headers), self.attributes(headers))
    }

    /// This service's host as the client addressed it: `X-Forwarded-Host` when proxy headers are
    /// trusted, else `Host`, else the request target's authority (HTTP/2).
    fn host<'a>(&self, headers: &'a HeaderMap, authority: Option<&'a str>) -> Option<&'a str> {
        let proxied = if self.trust_proxy_headers { forwarded(headers, "x-forwarded-host") } else { None };
        proxied.or_else(|| header_text(headers, "host")).or(authority)
    }

    /// Why a request must be refused as cross-site, or `None` when it may proceed: safe methods
    /// always may; any other needs `Sec-Fetch-Site` (when sent) to be `same-origin` or `none` and
    /// `Origin` (when sent) to name this host.
    pub fn cross_site_refusal(&self, method: &Method, headers: &HeaderMap, authority: Option<&str>) -> Option<String> {
        if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
            return None;
        }
        if let Some(site) = header_text(headers, "sec-fetch-site")
            && !matches!(site.to_ascii_lowercase().as_str(), "same-origin" | "none")
        {
            return Some(format!("the browser marked this request Sec-Fetch-Site: {site}"));
        }
        let origin = header_text(headers, header::ORIGIN.as_str())?;
        let host = self.host(headers, authority);
        match (origin_authority(origin), host) {
            (Some((scheme, from)), Some(host)) if same_authority(scheme, from, host) => None,
            _ => Some(format!("it comes from {origin:?}, not from this dashboard")),
        }
    }
}

/// The scheme and authority of an `Origin` value (`https://host:port`); `None` for `null` or
/// anything else that is not an http(s) origin.
fn origin_authority(origin: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = origin.split_once("://")?;
    let scheme_ok = scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https");
    (scheme_ok && !rest.is_empty() && !rest.contains(['/', '?', '#', '@'])).then_some((scheme, rest))
}

/// Whether an origin's authority and a host header name the same host and port (a default port
/// written or not; letters in any case).
fn same_authority(scheme: &str, origin: &str, host: &str) -> bool {
    let default = if scheme.eq_ignore_ascii_case("https") { ":443" } else { ":80" };
    let norm = |a: &str| {
        let a = a.to_ascii_lowercase();
        a.strip_suffix(default).map_or_else(|| a.clone(), str::to_owned)
    };
    norm(origin) == norm(host)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn only_same_origin_browser_posts_pass() {
        let s = DashboardSettings::default();
        let post = |pairs: &[(&'static str, &str)]| s.cross_site_refusal(&Method::POST, &headers(pairs), None);
        let host = ("host", "127.0.0.1:8080");
        assert_eq!(post(&[host, ("origin", "http://127.0.0.1:8080"), ("sec-fetch-site", "same-origin")]), None);
        assert_eq!(post(&[host]), None, "no browser headers: curl or a script");
        assert_eq!(post(&[host, ("sec-fetch-site", "none")]), None, "typed by the user");
        assert_eq!(post(&[("host", "cmms.plant"), ("origin", "https://CMMS.plant:443")]), None);
        assert!(post(&[host, ("origin", "http://evil.example"), ("sec-fetch-site", "cross-site")]).is_some());
        assert!(post(&[host, ("sec-fetch-site", "cross-site")]).is_some());
        assert!(post(&[host, ("sec-fetch-site", "same-site")]).is_some());
        assert!(post(&[host, ("origin", "http://evil.example")]).is_some());
        assert!(post(&[host, ("origin", "null")]).is_some());
        assert!(post(&[host, ("origin", "http://127.0.0.1:9090")]).is_some());
        assert!(post(&[host, ("origin", "https://127.0.0.1:8080@evil.example")]).is_some());
        assert!(post(&[("origin", "http://127.0.0.1:8080")]).is_some(), "no host to compare with");
        let get = s.cross_site_refusal(&Method::GET, &headers(&[("sec-fetch-site", "cross-site")]), None);
        assert_eq!(get, None, "links from elsewhere still open pages");
    }

    #[test]
    fn forwarded_host_counts_only_when_proxy_headers_are_trusted() {
        let h = headers(&[
            ("host", "127.0.0.1:8080"),
            ("x-forwarded-host", "cmms.plant"),
            ("origin", "https://cmms.plant"),
        ]);
        assert!(DashboardSettings::default().cross_site_refusal(&Method::POST, &h, None).is_some());
        let trusting = DashboardSettings { trust_proxy_headers: true, ..DashboardSettings::default() };
        assert_eq!(trusting.cross_site_refusal(&Method::POST, &h, None), None);
    }

    #[test]
    fn the_cookie_is_secure_with_the_host_prefix_only_over_https() {
        let plain = DashboardSettings::default();
        let none = HeaderMap::new();
        let proxied = headers(&[("x-forwarded-proto", "https")]);
        assert_eq!(plain.set_cookie(&none, "ab"), "cmms_session=ab; HttpOnly; SameSite=Strict; Path=/; Max-Age=43200");
        assert_eq!(plain.set_cookie(&proxied, "ab"), plain.set_cookie(&none, "ab"), "the header is not trusted");
        let secure = DashboardSettings { secure_cookies: true, ..plain };
        assert_eq!(
            secure.set_cookie(&none, "ab"),
            "__Host-cmms_session=ab; Secure; HttpOnly; SameSite=Strict; Path=/; Max-Age=43200"
        );
        let trusting = DashboardSettings { trust_proxy_headers: true, ..plain };
        assert!(trusting.set_cookie(&proxied, "ab").starts_with("__Host-cmms_session=ab; Secure;"));
        assert!(trusting.set_cookie(&none, "ab").starts_with("cmms_session=ab; HttpOnly;"));
        assert!(secure.clear_cookie(&none).starts_with("__Host-cmms_session=; Secure;"));
        assert!(secure.clear_cookie(&none).ends_with("Max-Age=0"));
    }

    #[test]
    fn the_session_id_is_read_from_the_cookie_of_the_right_name() {
        let h = headers(&[("cookie", "a=b; cmms_session=plain"), ("cookie", "__Host-cmms_session=secure")]);
        assert_eq!(DashboardSettings::default().session_id(&h).as_deref(), Some("plain"));
        let secure = DashboardSettings { secure_cookies: true, ..DashboardSettings::default() };
        assert_eq!(secure.session_id(&h).as_deref(), Some("secure"));
        assert_eq!(secure.session_id(&headers(&[("cookie", "cmms_session=plain")])), None);
    }
}
