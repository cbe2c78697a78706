//! The extractors' rejections: [`ClientCertRejection`] (495 / 496, or 500)
//! and [`MissingClientAuth`] (500).

use std::error::Error;
use std::fmt;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use mtls_status::{
    Answer, AnswerStyle, ClientAuthOutcome, ClientAuthPolicy, InvalidReason, Judgement, LogContext,
    VerifyMode,
};

use crate::answers::ClientCertAnswers;

/// Named in the error for a request without an outcome.
const GLUE: &str = "serve the router with mtls_status_axum::ClientAuthListener and \
                    into_make_service_with_client_auth()";

/// Rejection of [`ClientAuth`](crate::ClientAuth) (and cause of a 500 from
/// [`VerifiedClient`](crate::VerifiedClient)): the request carries no
/// `Arc<ClientAuthOutcome>`.
///
/// This is a server configuration error, never the client's fault: the
/// router is served without the TLS glue (serve it with
/// [`ClientAuthListener`](crate::ClientAuthListener) and
/// [`into_make_service_with_client_auth`](crate::ClientAuthRouterExt::into_make_service_with_client_auth),
/// or insert the connection's outcome into each request yourself). Answered
/// with 500, the same body as `VerifyClientLayer` gives in that case, and
/// logged at ERROR with what to fix.
///
/// ```
/// use axum::response::IntoResponse;
/// use mtls_status_axum::MissingClientAuth;
///
/// let rejection = MissingClientAuth::default();
/// assert_eq!(rejection.status().as_u16(), 500);
/// assert!(rejection.body_text().contains("not a problem with the client"));
/// assert_eq!(rejection.into_response().status().as_u16(), 500);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MissingClientAuth {
    style: AnswerStyle,
}

impl MissingClientAuth {
    pub(crate) fn new(style: AnswerStyle) -> Self {
        Self { style }
    }

    /// 500 Internal Server Error.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        StatusCode::INTERNAL_SERVER_ERROR
    }

    /// The response body: `application/problem+json` with reason
    /// `missing_outcome`, or nginx's 500 page in [`AnswerStyle::Nginx`]
    /// ([`Answer::missing_outcome`], the same body `VerifyClientLayer` gives).
    #[must_use]
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(self.answer().body()).into_owned()
    }

    fn answer(&self) -> Answer {
        Answer::missing_outcome(self.style)
    }

    fn log(&self) {
        Judgement::MissingOutcome.log(&LogContext::new(GLUE));
    }
}

impl fmt::Display for MissingClientAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "the request has no client-certificate verdict (Arc<ClientAuthOutcome>) in its \
             extensions: serve the router with mtls_status_axum::ClientAuthListener and \
             into_make_service_with_client_auth(), or insert each connection's outcome into its \
             requests",
        )
    }
}

impl Error for MissingClientAuth {}

impl IntoResponse for MissingClientAuth {
    fn into_response(self) -> Response {
        self.log();
        self.answer().into_response::<Body>()
    }
}

/// Rejection of [`VerifiedClient`](crate::VerifiedClient): the connection
/// has no verified client certificate.
///
/// | cause | check | status (explicit) | status ([`AnswerStyle::Nginx`]) |
/// |---|---|---|---|
/// | no certificate | [`is_missing`](Self::is_missing) | 496 SSL Certificate Required | 400 |
/// | a certificate that failed verification | [`invalid_reason`](Self::invalid_reason) | 495 SSL Certificate Error | 400 |
/// | no verdict in the request: configuration error | [`is_missing_client_auth`](Self::is_missing_client_auth) | 500 | 500 |
///
/// The response is the one `VerifyClientLayer` gives for the same outcome,
/// built with [`Answer`]: the reason phrase on the status line,
/// `Connection: close`, `Cache-Control: no-store` and an
/// `application/problem+json` body naming the reason (`expired`,
/// `unknown_issuer`, ...) and what to fix; or nginx's `400` pages. The style
/// and the CA names in the details come from a [`ClientCertAnswers`] in the
/// request extensions, if any. Rejections are logged at INFO with nginx's
/// text (`client SSL certificate verify error: (10:certificate has
/// expired)`) when turned into a response.
///
/// Take `Result<VerifiedClient, ClientCertRejection>` in a handler to answer
/// differently.
#[derive(Debug)]
pub struct ClientCertRejection {
    cause: Cause,
}

#[derive(Debug)]
enum Cause {
    /// 496 or 495, as `VerifyMode::On` judges the outcome (boxed: a
    /// judgement and its answer are large next to the other cause).
    Judged(Box<(Judgement, Answer)>),
    MissingClientAuth(MissingClientAuth),
}

impl ClientCertRejection {
    /// The rejection for a connection whose outcome is not `Verified`.
    pub(crate) fn unverified(
        outcome: &ClientAuthOutcome,
        answers: Option<&ClientCertAnswers>,
    ) -> Self {
        let options = answers.cloned().unwrap_or_default();
        // `VerifiedClient` is nginx's `ssl_verify_client on`.
        let judgement = match ClientAuthPolicy::new(VerifyMode::On).judge(outcome) {
            // `Verified` is not passed here; refused rather than passed.
            Judgement::Pass => Judgement::CertificateInvalid {
                reason: InvalidReason::new(mtls_status::ReasonKind::Other),
                subject: None,
            },
            judgement => judgement,
        };
        let answer = Answer::for_judgement(&judgement, &options)
            .unwrap_or_else(|| Answer::certificate_required(options.style(), &[]));
        Self {
            cause: Cause::Judged(Box::new((judgement, answer))),
        }
    }

    /// The status of the response: 496 or 495 (400 in nginx's style), or
    /// 500 for a missing verdict.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match &self.cause {
            Cause::Judged(judged) => judged.1.status(),
            Cause::MissingClientAuth(missing) => missing.status(),
        }
    }

    /// The response body: `application/problem+json` (or nginx's HTML page).
    #[must_use]
    pub fn body_text(&self) -> String {
        match &self.cause {
            Cause::Judged(judged) => String::from_utf8_lossy(judged.1.body()).into_owned(),
            Cause::MissingClientAuth(missing) => missing.body_text(),
        }
    }

    /// Whether the client sent no certificate (496).
    #[must_use]
    pub fn is_missing(&self) -> bool {
        matches!(&self.cause, Cause::Judged(judged) if judged.0 == Judgement::CertificateRequired)
    }

    /// Why the client's certificate failed verification (495), if it did.
    #[must_use]
    pub fn invalid_reason(&self) -> Option<&InvalidReason> {
        match &self.cause {
            Cause::Judged(judged) => match &judged.0 {
                Judgement::CertificateInvalid { reason, .. } => Some(reason),
                _ => None,
            },
            Cause::MissingClientAuth(_) => None,
        }
    }

    /// Whether the request carried no verdict at all (500): a server
    /// configuration error, see [`MissingClientAuth`].
    #[must_use]
    pub fn is_missing_client_auth(&self) -> bool {
        matches!(self.cause, Cause::MissingClientAuth(_))
    }
}

impl From<MissingClientAuth> for ClientCertRejection {
    fn from(missing: MissingClientAuth) -> Self {
        Self {
            cause: Cause::MissingClientAuth(missing),
        }
    }
}

impl fmt::Display for ClientCertRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.cause {
            Cause::Judged(judged) => match &judged.0 {
                Judgement::CertificateInvalid { reason, .. } => {
                    f.write_str(&reason.nginx_log_line())
                }
                _ => f.write_str("client sent no required SSL certificate"),
            },
            Cause::MissingClientAuth(missing) => fmt::Display::fmt(missing, f),
        }
    }
}

impl Error for ClientCertRejection {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match &self.cause {
            Cause::MissingClientAuth(missing) => Some(missing),
            _ => None,
        }
    }
}

impl IntoResponse for ClientCertRejection {
    fn into_response(self) -> Response {
        match self.cause {
            Cause::Judged(judged) => {
                let (judgement, answer) = *judged;
                judgement.log(&LogContext::new(GLUE));
                mtls_status_tower::answer_response(answer)
            }
            Cause::MissingClientAuth(missing) => missing.into_response(),
        }
    }
}

#[cfg(test)]
mod tests {
    use mtls_status::{InvalidCertificate, ReasonKind};

    use hyper::ext::ReasonPhrase;

    use super::*;

    fn invalid(kind: ReasonKind) -> ClientAuthOutcome {
        ClientAuthOutcome::Invalid(InvalidCertificate::new(kind.into(), None))
    }

    #[test]
    fn none_is_496_with_reason_phrase() {
        let rejection = ClientCertRejection::unverified(&ClientAuthOutcome::None, None);
        assert!(rejection.is_missing());
        assert!(rejection.invalid_reason().is_none());
        assert!(!rejection.is_missing_client_auth());
        assert_eq!(rejection.status().as_u16(), 496);
        assert!(
            rejection
                .body_text()
                .contains(r#""reason":"certificate_required""#)
        );
        assert_eq!(
            rejection.to_string(),
            "client sent no required SSL certificate"
        );
        let response = rejection.into_response();
        assert_eq!(response.status().as_u16(), 496);
        assert_eq!(response.headers()["connection"], "close");
        assert_eq!(
            response
                .extensions()
                .get::<ReasonPhrase>()
                .map(ReasonPhrase::as_bytes),
            Some(&b"SSL Certificate Required"[..])
        );
    }

    #[test]
    fn invalid_is_495_and_nginx_style_is_400() {
        let outcome = invalid(ReasonKind::Expired);
        let rejection = ClientCertRejection::unverified(&outcome, None);
        assert_eq!(rejection.status().as_u16(), 495);
        assert_eq!(
            rejection.invalid_reason().map(InvalidReason::name),
            Some("expired")
        );
        assert_eq!(
            rejection.to_string(),
            "client SSL certificate verify error: (10:certificate has expired)"
        );

        let nginx = ClientCertAnswers::new(AnswerStyle::Nginx);
        let rejection = ClientCertRejection::unverified(&outcome, Some(&nginx));
        assert_eq!(rejection.status(), StatusCode::BAD_REQUEST);
        assert!(rejection.body_text().contains("The SSL certificate error"));
        let response = rejection.into_response();
        assert!(response.extensions().get::<ReasonPhrase>().is_none());
    }

    #[test]
    fn accepted_cas_are_listed_for_untrusted_issuers() {
        let answers = ClientCertAnswers::default().accepted_cas(["CN=Root"]);
        let rejection =
            ClientCertRejection::unverified(&invalid(ReasonKind::UnknownIssuer), Some(&answers));
        assert!(
            rejection.body_text().contains(r#"\"CN=Root\""#),
            "{}",
            rejection.body_text()
        );
    }

    #[test]
    fn missing_client_auth_is_500_in_both_styles() {
        let rejection = ClientCertRejection::from(MissingClientAuth::new(AnswerStyle::Nginx));
        assert!(rejection.is_missing_client_auth());
        assert!(rejection.source().is_some());
        assert_eq!(rejection.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(rejection.body_text().starts_with("<html>"));
        let response = rejection.into_response();
        assert_eq!(response.headers()["content-type"], "text/html");
        assert_eq!(response.headers()["content-length"], "170");

        let explicit = MissingClientAuth::default();
        assert!(
            explicit
                .body_text()
                .contains(r#""reason":"missing_outcome""#)
        );
        assert!(
            explicit
                .to_string()
                .contains("into_make_service_with_client_auth")
        );
    }
}
