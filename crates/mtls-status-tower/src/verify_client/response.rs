//! Turning the layer's verdicts into `http::Response`s.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use hyper::ext::ReasonPhrase;
use mtls_status::{Answer, AnswerStyle};

/// `answer` as a response with body type `B`, carrying hyper's
/// [`ReasonPhrase`] extension when the status has a non-standard phrase, so
/// that hyper writes `HTTP/1.1 495 SSL Certificate Error` instead of a bare
/// `HTTP/1.1 495`. Servers other than hyper ignore the extension.
pub(crate) fn answer_response<B: From<Bytes>>(answer: Answer) -> Response<B> {
    let phrase = answer.reason_phrase();
    let mut response = answer.into_response::<B>();
    if let Some(phrase) = phrase {
        // Our phrases are plain ASCII; one that is not is left out rather
        // than panicking.
        if let Ok(phrase) = ReasonPhrase::try_from(phrase.as_bytes()) {
            response.extensions_mut().insert(phrase);
        }
    }
    response
}

const MISSING_OUTCOME_JSON: &str = concat!(
    r#"{"status":500,"title":"Internal Server Error","reason":"missing_outcome","#,
    r#""detail":"The server could not check the client certificate for this request "#,
    r#"because of a configuration error. This is not a problem with the client's certificate."}"#
);

// nginx's 500 page (ngx_http_special_response.c with `server_tokens off`).
const NGINX_500: &str = "<html>\r\n<head><title>500 Internal Server Error</title></head>\r\n<body>\r\n<center><h1>500 Internal Server Error</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";

/// 500 for a request that reached the layer without a `ClientAuthOutcome`:
/// the TLS glue is missing, a server configuration error. The body tells the
/// client only that it is not at fault; the log says what to fix.
pub(crate) fn missing_outcome_response<B: From<Bytes>>(style: AnswerStyle) -> Response<B> {
    let (content_type, body) = match style {
        AnswerStyle::Nginx => ("text/html", NGINX_500),
        _ => ("application/problem+json", MISSING_OUTCOME_JSON),
    };
    let mut response = Response::new(B::from(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_outcome_answers() {
        let response: Response<Bytes> = missing_outcome_response(AnswerStyle::Explicit);
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        let body: serde_json::Value = serde_json::from_slice(response.body()).expect("valid JSON");
        assert_eq!(body["status"], 500);
        assert_eq!(body["title"], "Internal Server Error");
        assert_eq!(body["reason"], "missing_outcome");
        assert!(
            body["detail"]
                .as_str()
                .is_some_and(|d| d.contains("not a problem with the client"))
        );

        let response: Response<Bytes> = missing_outcome_response(AnswerStyle::Nginx);
        assert_eq!(response.headers()["content-type"], "text/html");
        assert_eq!(response.headers()["content-length"], "170");
        assert_eq!(response.body().len(), 170);
    }

    #[test]
    fn reason_phrase_extension_only_for_non_standard_codes() {
        let response: Response<Bytes> =
            answer_response(Answer::certificate_required(AnswerStyle::Explicit, &[]));
        let phrase = response
            .extensions()
            .get::<ReasonPhrase>()
            .map(ReasonPhrase::as_bytes);
        assert_eq!(phrase, Some(&b"SSL Certificate Required"[..]));
        let response: Response<Bytes> =
            answer_response(Answer::forbidden(AnswerStyle::Explicit, None, "no"));
        assert!(response.extensions().get::<ReasonPhrase>().is_none());
    }
}
