//! Errors on the wire: RFC 9457 `application/problem+json` documents.
//!
//! Every refusal the server sends is a [`Problem`]: `type` (`about:blank`, so `title` is the
//! HTTP status phrase), `title`, `status`, and `detail` — a stable, machine-readable reason code
//! such as `token_expired` or `jti_replayed`. Nothing else goes into a secrets problem: never
//! a secret value, never a token, never the text of an internal error. The evidence API adds
//! two extension members (RFC 9457 §3.2), `reason` and `fix`: why its input was refused (a
//! bundle's verification failure, an unknown field) and what to do.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

/// The media type of a problem document (RFC 9457 §3).
pub const PROBLEM_JSON: &str = "application/problem+json";

/// The reason code of a refusal, carried in the response's extensions for the server's log.
#[derive(Debug, Clone)]
pub(crate) struct Reason(pub(crate) String);

/// An RFC 9457 problem details document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// The problem type: `about:blank` (RFC 9457 §4.2.1), so `title` is the status phrase.
    #[serde(rename = "type", default = "about_blank")]
    pub type_: String,
    /// The HTTP status phrase.
    #[serde(default)]
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// The reason code, e.g. `token_expired`.
    #[serde(default)]
    pub detail: String,
    /// The extension members (RFC 9457 §3.2) of the evidence API's refusals. The secrets
    /// routes never set them.
    #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
    pub explanation: Option<Box<Explanation>>,
}

/// Why the evidence API refused a request and what to do: two extension members of its
/// problem documents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Explanation {
    /// What in the request is wrong, as a sentence.
    pub reason: String,
    /// How to fix the request.
    pub fix: String,
}

fn about_blank() -> String {
    "about:blank".to_owned()
}

impl Problem {
    /// A problem with this status and reason code. An invalid status becomes 500.
    pub fn new(status: u16, reason: &str) -> Self {
        let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        Self {
            type_: about_blank(),
            title: code.canonical_reason().unwrap_or("Error").to_owned(),
            status: code.as_u16(),
            detail: reason.to_owned(),
            explanation: None,
        }
    }

    /// A problem with this status and reason code, explained (the evidence API's refusals).
    pub fn explained(status: u16, code: &str, reason: &str, fix: &str) -> Self {
        let mut p = Self::new(status, code);
        p.explanation = Some(Box::new(Explanation {
            reason: reason.to_owned(),
            fix: fix.to_owned(),
        }));
        p
    }

    /// 404 for a path no route serves.
    pub fn not_found() -> Self {
        Self::new(404, "no_such_route")
    }

    /// The status as an HTTP status code.
    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status_code();
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut response = (status, body).into_response();
        response.extensions_mut().insert(Reason(self.detail));
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if status == StatusCode::UNAUTHORIZED {
            // RFC 6750 §3: a bearer-token resource names its scheme on 401.
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"zt\""),
            );
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problem_carries_status_phrase_and_reason_only() {
        let p = Problem::new(403, "secret_not_in_token");
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "type": "about:blank",
                "title": "Forbidden",
                "status": 403,
                "detail": "secret_not_in_token",
            })
        );
    }

    #[test]
    fn explained_problems_carry_reason_and_fix_and_read_back() {
        let p = Problem::explained(422, "bundle_not_verified", "bad signature", "sign again");
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(json["reason"], "bad signature");
        assert_eq!(json["fix"], "sign again");
        assert_eq!(json["detail"], "bundle_not_verified");
        let back: Problem = serde_json::from_value(json).unwrap();
        assert_eq!(back, p);
        let plain: Problem =
            serde_json::from_str(r#"{"type":"about:blank","title":"x","status":400,"detail":"d"}"#)
                .unwrap();
        assert_eq!(plain.explanation, None);
    }

    #[test]
    fn invalid_status_becomes_500() {
        assert_eq!(Problem::new(42, "x").status, 500);
        assert_eq!(Problem::new(42, "x").title, "Internal Server Error");
    }

    #[test]
    fn response_is_problem_json_and_401_names_bearer() {
        let r = Problem::new(401, "missing_bearer").into_response();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(r.headers()[header::CONTENT_TYPE], PROBLEM_JSON);
        assert!(
            r.headers()[header::WWW_AUTHENTICATE]
                .to_str()
                .unwrap()
                .starts_with("Bearer")
        );
    }
}
