//! Turning the layer's verdicts into `http::Response`s.

use bytes::Bytes;
use http::Response;
use hyper::ext::ReasonPhrase;
use mtls_status::Answer;

/// `answer` as a response with body type `B`, carrying hyper's
/// [`ReasonPhrase`] extension when the status has a non-standard phrase, so
/// that hyper writes `HTTP/1.1 495 SSL Certificate Error` instead of a bare
/// `HTTP/1.1 495`. Servers other than hyper ignore the extension. What the
/// layer and mtls-status-axum's extractors answer with.
///
/// ```
/// use hyper::ext::ReasonPhrase;
/// use mtls_status::{Answer, AnswerStyle};
///
/// let response: http::Response<bytes::Bytes> =
///     mtls_status_tower::answer_response(Answer::certificate_required(AnswerStyle::Explicit, &[]));
/// assert_eq!(response.status().as_u16(), 496);
/// assert!(response.extensions().get::<ReasonPhrase>().is_some());
/// ```
pub fn answer_response<B: From<Bytes>>(answer: Answer) -> Response<B> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use http::StatusCode;
    use mtls_status::AnswerStyle;

    #[test]
    fn missing_outcome_answers() {
        let response: Response<Bytes> =
            answer_response(Answer::missing_outcome(AnswerStyle::Explicit));
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

        let response: Response<Bytes> =
            answer_response(Answer::missing_outcome(AnswerStyle::Nginx));
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
