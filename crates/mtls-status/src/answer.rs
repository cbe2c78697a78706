//! The HTTP answers for rejected requests: 495, 496, 403 and 497.
//!
//! Two styles:
//! - [`AnswerStyle::Explicit`] (default): the literal status (495 / 496 /
//!   403 / 497) with a reason phrase, `Connection: close` and an RFC 9457
//!   `application/problem+json` body whose `detail` tells the client what to
//!   fix.
//! - [`AnswerStyle::Nginx`]: what nginx puts on the wire, `400 Bad Request`
//!   (403 for authorization) with nginx's exact HTML bodies, for drop-in
//!   compatibility with clients and monitoring written against nginx.
//!
//! No answer ever contains key material: only the reason, the offending
//! certificate's subject and the names of the accepted CAs.

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use serde_json::json;

use crate::judgement::{Judgement, NO_VERIFIED_CERTIFICATE};
use crate::mode::Decision;
use crate::outcome::{
    ClientAuthOutcome, HTTP_REQUEST_SENT_TO_HTTPS_PORT, SSL_CERTIFICATE_ERROR,
    SSL_CERTIFICATE_REQUIRED,
};
use crate::reason::InvalidReason;

/// How rejections are put on the wire.
///
/// ```
/// use mtls_status::{Answer, AnswerStyle};
///
/// let explicit = Answer::certificate_required(AnswerStyle::Explicit, &[]);
/// assert_eq!(explicit.status().as_u16(), 496);
/// let nginx = Answer::certificate_required(AnswerStyle::Nginx, &[]);
/// assert_eq!(nginx.status().as_u16(), 400);
/// assert_eq!(nginx.body().len(), 230); // nginx's own Content-Length
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AnswerStyle {
    /// 495 / 496 / 403 / 497 with problem+json bodies.
    #[default]
    Explicit,
    /// nginx's wire format: 400 with nginx's HTML pages (403 stays 403).
    Nginx,
}

impl AnswerStyle {
    /// `explicit` or `nginx`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Explicit => "explicit",
            Self::Nginx => "nginx",
        }
    }
}

impl std::str::FromStr for AnswerStyle {
    type Err = ParseAnswerStyleError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "explicit" => Ok(Self::Explicit),
            "nginx" => Ok(Self::Nginx),
            _ => Err(ParseAnswerStyleError(s.to_owned())),
        }
    }
}

/// The error for a string that names no [`AnswerStyle`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown answer style {0:?}: expected explicit or nginx")]
pub struct ParseAnswerStyleError(String);

/// How rejections are answered: the [`AnswerStyle`] and the names of the
/// CAs the server accepts, listed in 496 details and in 495 details for an
/// untrusted issuer so the client knows what to present.
///
/// The one set of answer options of every integration: mtls-status-tower's
/// `VerifyClientLayer`, mtls-status-axum's extractors (found in the request
/// extensions), mtls-status-tonic's check and the listener's 497. Cloning
/// is cheap (the names are shared).
///
/// ```
/// use mtls_status::{Answer, AnswerOptions, AnswerStyle, Judgement};
///
/// let options = AnswerOptions::new(AnswerStyle::Explicit).accepted_cas(["CN=Example Root CA"]);
/// let answer = Answer::for_judgement(&Judgement::CertificateRequired, &options).unwrap();
/// assert_eq!(answer.status().as_u16(), 496);
/// assert!(std::str::from_utf8(answer.body()).unwrap().contains(r#"(issued by \"CN=Example Root CA\")"#));
/// assert_eq!(options.accepted_ca_list(), Some(r#""CN=Example Root CA""#.to_owned()));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[must_use]
pub struct AnswerOptions {
    style: AnswerStyle,
    accepted_cas: Arc<[String]>,
}

/// Options in `style`, listing no CA names.
impl From<AnswerStyle> for AnswerOptions {
    fn from(style: AnswerStyle) -> Self {
        Self::new(style)
    }
}

impl AnswerOptions {
    /// Answers in `style`, listing no CA names.
    pub fn new(style: AnswerStyle) -> Self {
        Self {
            style,
            accepted_cas: Arc::new([]),
        }
    }

    /// The same options in `style` instead.
    pub fn with_style(mut self, style: AnswerStyle) -> Self {
        self.style = style;
        self
    }

    /// Lists these RFC 2253 CA names (e.g. `TrustStore::accepted_ca_names`)
    /// in explicit 496 answers and in 495 answers for an untrusted issuer.
    /// Replaces any previous list.
    pub fn accepted_cas<I, S>(mut self, cas: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.accepted_cas = cas.into_iter().map(Into::into).collect();
        self
    }

    /// The answer style.
    pub fn style(&self) -> AnswerStyle {
        self.style
    }

    /// The CA names listed in details.
    pub fn accepted_ca_names(&self) -> &[String] {
        &self.accepted_cas
    }

    /// The accepted CA names as the answers quote them (`"CN=A" or
    /// "CN=B"`); `None` when there are none.
    pub fn accepted_ca_list(&self) -> Option<String> {
        quote_accepted(&self.accepted_cas)
    }
}

/// A complete rejection response, independent of any HTTP server library.
///
/// Turn it into an [`http::Response`] with [`into_response`](Self::into_response);
/// servers that can write custom reason phrases (hyper's `ReasonPhrase`
/// extension) should use [`reason_phrase`](Self::reason_phrase).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    status: StatusCode,
    reason_phrase: Option<&'static str>,
    content_type: &'static str,
    body: Bytes,
}

const PROBLEM_JSON: &str = "application/problem+json";
const TEXT_HTML: &str = "text/html";

impl Answer {
    /// 496: a certificate is required and none was sent.
    ///
    /// `accepted_cas` are the RFC 2253 names of the CAs the server accepts;
    /// they are listed in the detail so the client knows what to present.
    pub fn certificate_required(style: AnswerStyle, accepted_cas: &[String]) -> Self {
        match style {
            AnswerStyle::Explicit => {
                let mut detail = String::from(
                    "This resource requires a client certificate and none was sent. \
                     Configure the client to present its certificate and private key",
                );
                push_accepted(&mut detail, accepted_cas, " (issued by ", ")");
                detail.push('.');
                Self::problem(
                    SSL_CERTIFICATE_REQUIRED,
                    "SSL Certificate Required",
                    "certificate_required",
                    &detail,
                    // nginx's $ssl_client_verify for a client that sent none.
                    json!({ "ssl_client_verify": "NONE" }),
                )
            }
            AnswerStyle::Nginx => Self::nginx_page(
                StatusCode::BAD_REQUEST,
                "400 No required SSL certificate was sent",
                "400 Bad Request",
                Some("No required SSL certificate was sent"),
            ),
        }
    }

    /// 495: the certificate failed verification for `reason`.
    pub fn certificate_invalid(
        style: AnswerStyle,
        reason: &InvalidReason,
        accepted_cas: &[String],
    ) -> Self {
        match style {
            AnswerStyle::Explicit => {
                let mut detail = reason.detail();
                if reason.is_untrusted_issuer() {
                    push_accepted(&mut detail, accepted_cas, " Accepted CAs: ", ".");
                }
                Self::problem(
                    SSL_CERTIFICATE_ERROR,
                    "SSL Certificate Error",
                    reason.name(),
                    &detail,
                    json!({ "ssl_client_verify": reason.ssl_client_verify() }),
                )
            }
            AnswerStyle::Nginx => Self::nginx_page(
                StatusCode::BAD_REQUEST,
                "400 The SSL certificate error",
                "400 Bad Request",
                Some("The SSL certificate error"),
            ),
        }
    }

    /// 403: the route's policy does not allow the client. `subject` is the
    /// verified client's RFC 2253 subject (`None` when the request passed
    /// without a verified certificate), `why` a short explanation (e.g. "not
    /// in the allow-list").
    pub fn forbidden(style: AnswerStyle, subject: Option<&str>, why: &str) -> Self {
        match style {
            AnswerStyle::Explicit => {
                let detail = match subject {
                    Some(subject) => format!(
                        "The client certificate \"{subject}\" is valid but not authorized for this resource: {why}."
                    ),
                    // No verified identity (e.g. a policy behind an optional mode).
                    None => format!("Not authorized for this resource: {why}."),
                };
                Self::problem(
                    StatusCode::FORBIDDEN,
                    "Forbidden",
                    "not_authorized",
                    &detail,
                    json!({}),
                )
            }
            AnswerStyle::Nginx => Self::nginx_page(
                StatusCode::FORBIDDEN,
                "403 Forbidden",
                "403 Forbidden",
                None,
            ),
        }
    }

    /// 497: a plain HTTP request arrived on the TLS port.
    pub fn plain_http(style: AnswerStyle) -> Self {
        match style {
            AnswerStyle::Explicit => Self::problem(
                HTTP_REQUEST_SENT_TO_HTTPS_PORT,
                "HTTP Request Sent to HTTPS Port",
                "plain_http",
                "A plain HTTP request was sent to a port that expects TLS. Use https://.",
                json!({}),
            ),
            AnswerStyle::Nginx => Self::nginx_page(
                StatusCode::BAD_REQUEST,
                "400 The plain HTTP request was sent to HTTPS port",
                "400 Bad Request",
                Some("The plain HTTP request was sent to HTTPS port"),
            ),
        }
    }

    /// 500: a request reached the client-certificate check without a
    /// verdict, because the TLS glue that classifies connections is not
    /// installed. A server configuration error: the body tells the client
    /// only that it is not at fault (the server's log says what to fix).
    ///
    /// ```
    /// use mtls_status::{Answer, AnswerStyle};
    ///
    /// let answer = Answer::missing_outcome(AnswerStyle::Explicit);
    /// assert_eq!(answer.status().as_u16(), 500);
    /// assert!(std::str::from_utf8(answer.body()).unwrap().contains(r#""reason":"missing_outcome""#));
    /// ```
    pub fn missing_outcome(style: AnswerStyle) -> Self {
        match style {
            AnswerStyle::Explicit => Self::problem(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal Server Error",
                "missing_outcome",
                "The server could not check the client certificate for this request because of a \
                 configuration error. This is not a problem with the client's certificate.",
                json!({}),
            ),
            AnswerStyle::Nginx => Self::nginx_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "500 Internal Server Error",
                "500 Internal Server Error",
                None,
            ),
        }
    }

    /// 400: a trusted front proxy forwarded a client-certificate header
    /// that cannot be read (malformed, duplicated, too large); see
    /// [`proxy`](crate::proxy). The `reason` is the error's stable name.
    ///
    /// ```
    /// use mtls_status::{Answer, AnswerStyle};
    /// use mtls_status::proxy::ProxyHeaderError;
    ///
    /// let error = ProxyHeaderError::Duplicate { header: http::HeaderName::from_static("x-ssl-client-cert") };
    /// let answer = Answer::bad_proxy_header(AnswerStyle::Explicit, &error);
    /// assert_eq!(answer.status().as_u16(), 400);
    /// assert!(std::str::from_utf8(answer.body()).unwrap().contains(r#""reason":"proxy_header_duplicate""#));
    /// ```
    pub fn bad_proxy_header(style: AnswerStyle, error: &crate::proxy::ProxyHeaderError) -> Self {
        match style {
            AnswerStyle::Explicit => Self::problem(
                StatusCode::BAD_REQUEST,
                "Bad Request",
                error.name(),
                &format!(
                    "The front proxy forwarded a client certificate this server cannot read: {error}. \
                     This is a proxy configuration problem, not one of the client's certificate."
                ),
                json!({}),
            ),
            AnswerStyle::Nginx => Self::nginx_page(
                StatusCode::BAD_REQUEST,
                "400 Bad Request",
                "400 Bad Request",
                None,
            ),
        }
    }

    /// The HTTP answer for a [`Judgement`]: `None` for
    /// [`Judgement::Pass`]. 496 / 495 / 403 / 500 (or nginx's pages), with
    /// the accepted CAs of `options` in the details.
    ///
    /// ```
    /// use mtls_status::{Answer, AnswerOptions, ClientAuthOutcome, ClientAuthPolicy, VerifyMode};
    ///
    /// let options = AnswerOptions::default();
    /// let judgement = ClientAuthPolicy::new(VerifyMode::On).judge(&ClientAuthOutcome::None);
    /// let answer = Answer::for_judgement(&judgement, &options).unwrap();
    /// assert_eq!(answer.status().as_u16(), 496);
    /// let pass = ClientAuthPolicy::new(VerifyMode::Optional).judge(&ClientAuthOutcome::None);
    /// assert!(Answer::for_judgement(&pass, &options).is_none());
    /// ```
    pub fn for_judgement(judgement: &Judgement, options: &AnswerOptions) -> Option<Self> {
        let style = options.style;
        let cas = options.accepted_ca_names();
        Some(match judgement {
            Judgement::Pass | Judgement::Tolerated { .. } => return None,
            Judgement::CertificateRequired => Self::certificate_required(style, cas),
            Judgement::CertificateInvalid { reason, .. } => {
                Self::certificate_invalid(style, reason, cas)
            }
            Judgement::NotAuthorized { subject, why, .. } => {
                Self::forbidden(style, Some(subject), why)
            }
            Judgement::IdentityRequired { .. } => {
                Self::forbidden(style, None, NO_VERIFIED_CERTIFICATE)
            }
            Judgement::MissingOutcome => Self::missing_outcome(style),
        })
    }

    /// The answer for a [`Decision`] on an outcome: `None` when the decision
    /// is [`Decision::Pass`].
    ///
    /// ```
    /// use mtls_status::{Answer, AnswerStyle, ClientAuthOutcome, VerifyMode};
    ///
    /// let outcome = ClientAuthOutcome::None;
    /// let decision = VerifyMode::On.decide(&outcome);
    /// let answer = Answer::for_decision(AnswerStyle::Explicit, decision, &outcome, &[]).unwrap();
    /// assert_eq!(answer.status().as_u16(), 496);
    /// assert!(Answer::for_decision(AnswerStyle::Explicit, VerifyMode::Optional.decide(&outcome), &outcome, &[]).is_none());
    /// ```
    pub fn for_decision(
        style: AnswerStyle,
        decision: Decision,
        outcome: &ClientAuthOutcome,
        accepted_cas: &[String],
    ) -> Option<Self> {
        match decision {
            Decision::Pass => None,
            Decision::CertificateRequired => Some(Self::certificate_required(style, accepted_cas)),
            Decision::CertificateInvalid => Some(match outcome.reason() {
                Some(reason) => Self::certificate_invalid(style, reason, accepted_cas),
                // A decision of 495 without a reason cannot come from
                // `VerifyMode::decide`; answer it generically rather than panic.
                None => Self::certificate_invalid(
                    style,
                    &InvalidReason::new(crate::ReasonKind::Other),
                    accepted_cas,
                ),
            }),
        }
    }

    /// The status on the wire.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The reason phrase for the status line, for the non-standard codes
    /// (`SSL Certificate Error`, `SSL Certificate Required`, `HTTP Request
    /// Sent to HTTPS Port`); `None` where the canonical phrase applies.
    pub fn reason_phrase(&self) -> Option<&'static str> {
        self.reason_phrase
    }

    /// The `Content-Type`: `application/problem+json` or `text/html`.
    pub fn content_type(&self) -> &'static str {
        self.content_type
    }

    /// The body bytes.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// An [`http::Response`] with `Content-Type`, `Content-Length`,
    /// `Connection: close` and `Cache-Control: no-store`.
    ///
    /// ```
    /// use mtls_status::{Answer, AnswerStyle};
    ///
    /// let response: http::Response<bytes::Bytes> = Answer::plain_http(AnswerStyle::Explicit).into_response();
    /// assert_eq!(response.status().as_u16(), 497);
    /// assert_eq!(response.headers()["connection"], "close");
    /// ```
    pub fn into_response<B: From<Bytes>>(self) -> Response<B> {
        let len = self.body.len();
        let mut response = Response::new(B::from(self.body));
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(self.content_type),
        );
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
        headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }

    /// The whole HTTP/1.1 response as bytes, for servers that answer before
    /// any HTTP library is involved (e.g. 497 on a raw TCP stream).
    ///
    /// ```
    /// use mtls_status::{Answer, AnswerStyle};
    ///
    /// let bytes = Answer::plain_http(AnswerStyle::Nginx).to_http1_bytes();
    /// assert!(bytes.starts_with(b"HTTP/1.1 400 Bad Request\r\n"));
    /// ```
    pub fn to_http1_bytes(&self) -> Vec<u8> {
        let phrase = self
            .reason_phrase
            .or(self.status.canonical_reason())
            .unwrap_or("");
        let mut out = format!(
            "HTTP/1.1 {} {phrase}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\nCache-Control: no-store\r\n\r\n",
            self.status.as_u16(),
            self.content_type,
            self.body.len()
        )
        .into_bytes();
        out.extend_from_slice(&self.body);
        out
    }

    fn problem(
        status: StatusCode,
        title: &'static str,
        reason: &str,
        detail: &str,
        extra: serde_json::Value,
    ) -> Self {
        let mut body = json!({
            "status": status.as_u16(),
            "title": title,
            "reason": reason,
            "detail": detail,
        });
        if let (Some(body), serde_json::Value::Object(extra)) = (body.as_object_mut(), extra) {
            body.extend(extra);
        }
        Self {
            status,
            reason_phrase: status.canonical_reason().is_none().then_some(title),
            content_type: PROBLEM_JSON,
            body: Bytes::from(body.to_string()),
        }
    }

    fn nginx_page(status: StatusCode, title: &str, heading: &str, text: Option<&str>) -> Self {
        // ngx_http_special_response.c: error page + ngx_http_error_tail,
        // with `server_tokens off` (no version in the tail).
        let mut page = format!(
            "<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{heading}</h1></center>\r\n"
        );
        if let Some(text) = text {
            page.push_str(&format!("<center>{text}</center>\r\n"));
        }
        page.push_str("<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n");
        Self {
            status,
            reason_phrase: None,
            content_type: TEXT_HTML,
            body: Bytes::from(page),
        }
    }
}

fn push_accepted(detail: &mut String, accepted_cas: &[String], open: &str, close: &str) {
    if let Some(list) = quote_accepted(accepted_cas) {
        detail.push_str(open);
        detail.push_str(&list);
        detail.push_str(close);
    }
}

/// `"CN=A" or "CN=B"`; `None` for no names.
fn quote_accepted(accepted_cas: &[String]) -> Option<String> {
    if accepted_cas.is_empty() {
        return None;
    }
    let quoted: Vec<String> = accepted_cas.iter().map(|ca| format!("\"{ca}\"")).collect();
    Some(quoted.join(" or "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reason::ReasonKind;

    fn json_of(answer: &Answer) -> serde_json::Value {
        serde_json::from_slice(answer.body()).expect("problem+json body")
    }

    #[test]
    fn nginx_bodies_are_byte_exact() {
        let required = Answer::certificate_required(AnswerStyle::Nginx, &[]);
        assert_eq!(
            required.body(),
            "<html>\r\n<head><title>400 No required SSL certificate was sent</title></head>\r\n<body>\r\n<center><h1>400 Bad Request</h1></center>\r\n<center>No required SSL certificate was sent</center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
        );
        let invalid =
            Answer::certificate_invalid(AnswerStyle::Nginx, &ReasonKind::Expired.into(), &[]);
        let plain = Answer::plain_http(AnswerStyle::Nginx);
        // Content-Length nginx sends with `server_tokens off` (reference §1).
        assert_eq!(invalid.body().len(), 208);
        assert_eq!(required.body().len(), 230);
        assert_eq!(plain.body().len(), 248);
        for answer in [&required, &invalid, &plain] {
            assert_eq!(answer.status(), StatusCode::BAD_REQUEST);
            assert_eq!(answer.content_type(), "text/html");
            assert_eq!(answer.reason_phrase(), None);
        }
        let missing = Answer::missing_outcome(AnswerStyle::Nginx);
        assert_eq!(missing.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            missing.body(),
            "<html>\r\n<head><title>500 Internal Server Error</title></head>\r\n<body>\r\n<center><h1>500 Internal Server Error</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
        );
        let forbidden = Answer::forbidden(AnswerStyle::Nginx, Some("CN=x"), "no");
        assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
        assert!(!String::from_utf8_lossy(forbidden.body()).contains("CN=x"));
    }

    #[test]
    fn explicit_495_names_reason_fix_and_accepted_cas() {
        let reason =
            InvalidReason::new(ReasonKind::UnknownLeafIssuer).with_certificate(0, "CN=mallory");
        let cas = vec!["CN=Root A".to_owned(), "CN=Root B".to_owned()];
        let answer = Answer::certificate_invalid(AnswerStyle::Explicit, &reason, &cas);
        assert_eq!(answer.status().as_u16(), 495);
        assert_eq!(answer.reason_phrase(), Some("SSL Certificate Error"));
        assert_eq!(answer.content_type(), "application/problem+json");
        let body = json_of(&answer);
        assert_eq!(body["status"], 495);
        assert_eq!(body["title"], "SSL Certificate Error");
        assert_eq!(body["reason"], "unknown_leaf_issuer");
        assert_eq!(
            body["ssl_client_verify"],
            "FAILED:unable to verify the first certificate"
        );
        let detail = body["detail"].as_str().expect("detail");
        assert!(detail.contains("CN=mallory"), "{detail}");
        assert!(
            detail.contains("send the intermediate certificates"),
            "{detail}"
        );
        assert!(
            detail.contains("Accepted CAs: \"CN=Root A\" or \"CN=Root B\"."),
            "{detail}"
        );
    }

    #[test]
    fn explicit_496_403_497() {
        let required = Answer::certificate_required(AnswerStyle::Explicit, &["CN=Root".to_owned()]);
        let body = json_of(&required);
        assert_eq!(body["status"], 496);
        assert_eq!(body["reason"], "certificate_required");
        assert_eq!(body["ssl_client_verify"], "NONE");
        assert!(
            body["detail"]
                .as_str()
                .is_some_and(|d| d.contains("(issued by \"CN=Root\")"))
        );
        assert_eq!(required.reason_phrase(), Some("SSL Certificate Required"));

        let forbidden = Answer::forbidden(
            AnswerStyle::Explicit,
            Some("CN=bob"),
            "not in the allow-list",
        );
        let body = json_of(&forbidden);
        assert_eq!(body["status"], 403);
        assert_eq!(body["reason"], "not_authorized");
        assert_eq!(forbidden.reason_phrase(), None);
        assert!(
            body["detail"]
                .as_str()
                .is_some_and(|d| d.contains("\"CN=bob\"") && d.contains("allow-list"))
        );
        let unverified = Answer::forbidden(
            AnswerStyle::Explicit,
            None,
            "a verified certificate is required",
        );
        assert_eq!(
            json_of(&unverified)["detail"],
            "Not authorized for this resource: a verified certificate is required."
        );

        let plain = Answer::plain_http(AnswerStyle::Explicit);
        assert_eq!(plain.status().as_u16(), 497);
        assert_eq!(json_of(&plain)["reason"], "plain_http");
    }

    #[test]
    fn response_headers_and_http1_bytes() {
        let response: Response<Bytes> =
            Answer::certificate_required(AnswerStyle::Explicit, &[]).into_response();
        assert_eq!(response.status().as_u16(), 496);
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        assert_eq!(response.headers()["connection"], "close");
        assert_eq!(
            response.headers()["content-length"]
                .to_str()
                .ok()
                .and_then(|v| v.parse::<usize>().ok()),
            Some(response.body().len())
        );
        let wire =
            Answer::certificate_invalid(AnswerStyle::Explicit, &ReasonKind::Revoked.into(), &[])
                .to_http1_bytes();
        let text = String::from_utf8(wire).expect("utf-8");
        assert!(
            text.starts_with("HTTP/1.1 495 SSL Certificate Error\r\n"),
            "{text}"
        );
        assert!(text.contains("\r\nConnection: close\r\n"));
    }

    #[test]
    fn parse_style() {
        assert_eq!("nginx".parse::<AnswerStyle>(), Ok(AnswerStyle::Nginx));
        assert_eq!("Explicit".parse::<AnswerStyle>(), Ok(AnswerStyle::Explicit));
        assert!("html".parse::<AnswerStyle>().is_err());
    }
}
