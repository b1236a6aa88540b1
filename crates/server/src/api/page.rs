//! Keyset pagination of the list endpoints: `?limit=` (default [`DEFAULT_LIMIT`], at most
//! [`MAX_LIMIT`]) and an opaque `?cursor=`. The body stays the JSON array of the page; when more
//! entries follow, the answer carries `Link: <…&cursor=…>; rel="next"` and `X-Next-Cursor`.
//! A cursor is the sort key of the last entry of a page, so the next page starts at an index
//! lookup (no OFFSET scan) and entries added meanwhile neither repeat nor shift the pages.

use crate::error::ApiError;
use axum::Json;
use axum::http::Uri;
use axum::http::header::{HeaderName, HeaderValue, LINK};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;

/// Entries per page when the request names no `limit`: a small site gets everything at once.
pub const DEFAULT_LIMIT: u32 = 1000;

/// The most entries one page may hold (`limit` above it is refused).
pub const MAX_LIMIT: u32 = 5000;

/// The header naming the next page's cursor (also in `Link`).
pub const NEXT_CURSOR: HeaderName = HeaderName::from_static("x-next-cursor");

/// The page of a list endpoint with no filters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// Entries per page: 1 to 5000, default 1000.
    #[param(minimum = 1, maximum = 5000)]
    pub limit: Option<u32>,
    /// Opaque: the `X-Next-Cursor` of the previous page (absent: the first page).
    pub cursor: Option<String>,
}

/// The page size a request asked for, checked (400 `INVALID_QUERY` outside 1..=[`MAX_LIMIT`]).
pub fn limit(requested: Option<u32>) -> Result<usize, ApiError> {
    match requested.unwrap_or(DEFAULT_LIMIT) {
        n @ 1..=MAX_LIMIT => Ok(n as usize),
        n => Err(ApiError::bad_request("INVALID_QUERY", format!("limit must be 1 to {MAX_LIMIT} (got {n})"))),
    }
}

/// Encodes a sort key as a cursor (hex of its `\u{1f}`-joined parts: opaque, URL-safe).
pub fn encode(key: &[&str]) -> String {
    key.join("\u{1f}").bytes().map(|b| format!("{b:02x}")).collect()
}

/// 400 `INVALID_CURSOR`.
pub fn bad_cursor() -> ApiError {
    ApiError::bad_request("INVALID_CURSOR", "cursor is not one this server gave (start again without it)")
}

/// Decodes a cursor made by [`encode`] with `parts` parts; 400 `INVALID_CURSOR` otherwise.
pub fn decode(cursor: &str, parts: usize) -> Result<Vec<String>, ApiError> {
    let bad = bad_cursor;
    if !cursor.len().is_multiple_of(2) || cursor.len() > 512 {
        return Err(bad());
    }
    let bytes = (0..cursor.len())
        .step_by(2)
        .map(|i| cursor.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect::<Option<Vec<u8>>>()
        .ok_or_else(bad)?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let key: Vec<String> = text.split('\u{1f}').map(str::to_owned).collect();
    if key.len() != parts || key.iter().any(String::is_empty) {
        return Err(bad());
    }
    Ok(key)
}

/// Decodes a cursor whose parts are integers (ids, instants).
pub fn decode_ints<const N: usize>(cursor: &str) -> Result<[i64; N], ApiError> {
    let parts = decode(cursor, N)?;
    let mut out = [0; N];
    for (slot, part) in out.iter_mut().zip(&parts) {
        *slot = part.parse().map_err(|_| bad_cursor())?;
    }
    Ok(out)
}

/// One page of a list: the entries, and the cursor of the next page when more follow.
#[derive(Debug)]
pub struct Page<T> {
    items: Vec<T>,
    next: Option<String>,
    uri: Uri,
}

impl<T> Page<T> {
    /// A page from `rows` fetched with `limit + 1`: the extra row, when present, only says that
    /// more follow; `key` gives the cursor of the page's last entry. `uri` is the request's.
    pub fn new(mut rows: Vec<T>, limit: usize, uri: Uri, key: impl Fn(&T) -> String) -> Self {
        let next = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(key)
        } else {
            None
        };
        Page { items: rows, next, uri }
    }

    /// The same page with each entry converted (the cursor is taken from the stored rows, before
    /// their instants become RFC 3339 strings).
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page { items: self.items.into_iter().map(f).collect(), next: self.next, uri: self.uri }
    }
}

/// The request's path and query with `cursor` set to `next`.
fn next_link(uri: &Uri, next: &str) -> String {
    let mut query: Vec<&str> =
        uri.query().unwrap_or("").split('&').filter(|p| !p.is_empty() && !p.starts_with("cursor=")).collect();
    let cursor = format!("cursor={next}");
    query.push(&cursor);
    format!("<{}?{}>; rel=\"next\"", uri.path(), query.join("&"))
}

impl<T: Serialize> IntoResponse for Page<T> {
    fn into_response(self) -> Response {
        let mut response = Json(self.items).into_response();
        if let Some(next) = self.next {
            let headers = response.headers_mut();
            if let Ok(link) = HeaderValue::from_str(&next_link(&self.uri, &next)) {
                headers.insert(LINK, link);
            }
            if let Ok(cursor) = HeaderValue::from_str(&next) {
                headers.insert(NEXT_CURSOR, cursor);
            }
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        let c = encode(&["BRG-6204"]);
        assert_eq!(decode(&c, 1).unwrap(), vec!["BRG-6204"]);
        assert_eq!(decode_ints::<2>(&encode(&["17", "-3"])).unwrap(), [17, -3]);
        for bad in ["zz", "4", "", &encode(&["a", "b"])] {
            assert!(decode(bad, 1).is_err(), "{bad:?}");
        }
        assert!(decode_ints::<1>(&encode(&["x"])).is_err());
    }

    #[test]
    fn limits_are_bounded() {
        assert_eq!(limit(None).unwrap(), DEFAULT_LIMIT as usize);
        assert_eq!(limit(Some(MAX_LIMIT)).unwrap(), MAX_LIMIT as usize);
        assert!(limit(Some(0)).is_err() && limit(Some(MAX_LIMIT + 1)).is_err());
    }

    #[test]
    fn the_next_link_keeps_the_filters() {
        let uri: Uri = "/api/v1/parts?below_reorder=true&cursor=00&limit=2".parse().unwrap();
        assert_eq!(next_link(&uri, "41"), "</api/v1/parts?below_reorder=true&limit=2&cursor=41>; rel=\"next\"");
    }
}
