//! The gRPC answers: `UNAUTHENTICATED`, `PERMISSION_DENIED` and `INTERNAL`,
//! with the reason in the message and in metadata.

use mtls_status::judgement::{CERTIFICATE_REQUIRED, MISSING_OUTCOME, NOT_AUTHORIZED};
use mtls_status::{AnswerOptions, InvalidReason, Judgement};
use tonic::metadata::{MetadataMap, MetadataValue};
use tonic::{Code, Status};

/// The metadata key carrying nginx's status for the rejection: `496` (no
/// certificate), `495` (invalid certificate), `403` (not authorized) or
/// `500` (server misconfigured).
pub const STATUS_METADATA: &str = "x-mtls-status";

/// The metadata key carrying the stable reason name: `certificate_required`,
/// an [`InvalidReason::name`] such as `expired` or `unknown_issuer`,
/// `not_authorized` or `missing_outcome`.
pub const REASON_METADATA: &str = "x-mtls-reason";

/// The gRPC answer for a [`Judgement`]: `None` for a pass. The one
/// mapping from the core judgement to gRPC, as `Answer::for_judgement` is
/// for HTTP. It differs from HTTP in one place, on purpose:
/// [`Judgement::IdentityRequired`] (a policy is set and the request has no
/// verified certificate) is `UNAUTHENTICATED` with the 496 / 495 reason the
/// mode `On` would give, not `PERMISSION_DENIED` (HTTP's 403): gRPC keeps
/// `PERMISSION_DENIED` for callers whose identity is known.
///
/// ```
/// use mtls_status::{AnswerOptions, ClientAuthOutcome, ClientAuthPolicy, ClientIdentity, VerifyMode};
/// use mtls_status_tonic::{REASON_METADATA, for_judgement};
///
/// let policy = ClientAuthPolicy::new(VerifyMode::Optional).authorize(|_: &ClientIdentity| true);
/// let judgement = policy.judge(&ClientAuthOutcome::None);
/// assert_eq!(judgement.status().map(|s| s.as_u16()), Some(403)); // HTTP
/// let status = for_judgement(&judgement, &AnswerOptions::default()).unwrap();
/// assert_eq!(status.code(), tonic::Code::Unauthenticated); // gRPC
/// assert_eq!(status.metadata().get(REASON_METADATA).unwrap(), "certificate_required");
/// ```
pub fn for_judgement(judgement: &Judgement, answers: &AnswerOptions) -> Option<Status> {
    let cas = answers.accepted_ca_names();
    Some(match judgement {
        Judgement::Pass | Judgement::Tolerated { .. } => return None,
        Judgement::CertificateRequired | Judgement::IdentityRequired { reason: None } => {
            certificate_required(cas)
        }
        Judgement::CertificateInvalid { reason, .. }
        | Judgement::IdentityRequired {
            reason: Some(reason),
        } => certificate_invalid(reason, cas),
        Judgement::NotAuthorized { subject, why, .. } => not_authorized(Some(subject), why),
        Judgement::MissingOutcome => missing_outcome(),
        // A judgement this crate does not know yet: refused, never passed.
        _ => certificate_required(cas),
    })
}

/// The name of `code` as gRPC spells it (`UNAUTHENTICATED`), for logs.
pub(crate) fn code_name(code: Code) -> &'static str {
    match code {
        Code::Unauthenticated => "UNAUTHENTICATED",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::Internal => "INTERNAL",
        _ => "UNKNOWN",
    }
}

/// `UNAUTHENTICATED` for a client that sent no certificate where one is
/// required (nginx 496); reason `certificate_required`.
///
/// `accepted_cas` (RFC 2253 names) are listed in the message so the client
/// knows which certificate to present.
///
/// ```
/// use mtls_status_tonic::{REASON_METADATA, STATUS_METADATA, certificate_required};
///
/// let status = certificate_required(&["CN=Example Root CA".to_owned()]);
/// assert_eq!(status.code(), tonic::Code::Unauthenticated);
/// assert_eq!(status.metadata().get(STATUS_METADATA).unwrap(), "496");
/// assert_eq!(status.metadata().get(REASON_METADATA).unwrap(), "certificate_required");
/// assert!(status.message().contains("\"CN=Example Root CA\""));
/// ```
pub fn certificate_required(accepted_cas: &[String]) -> Status {
    let mut message = String::from(
        "client certificate required (certificate_required): this service requires a TLS \
         client certificate and none was sent. Configure the client to present its \
         certificate and private key",
    );
    push_accepted(&mut message, accepted_cas, " (issued by ", ")");
    message.push('.');
    with_reason(Code::Unauthenticated, message, 496, CERTIFICATE_REQUIRED)
}

/// `UNAUTHENTICATED` for a client whose certificate failed verification
/// (nginx 495); the reason's stable name in metadata, its
/// [`detail`](InvalidReason::detail) (what is wrong, how to fix it) in the
/// message.
///
/// `accepted_cas` are listed when the issuer is untrusted.
///
/// ```
/// use mtls_status::ReasonKind;
/// use mtls_status_tonic::{REASON_METADATA, STATUS_METADATA, certificate_invalid};
///
/// let status = certificate_invalid(&ReasonKind::Expired.into(), &[]);
/// assert_eq!(status.code(), tonic::Code::Unauthenticated);
/// assert_eq!(status.metadata().get(STATUS_METADATA).unwrap(), "495");
/// assert_eq!(status.metadata().get(REASON_METADATA).unwrap(), "expired");
/// assert!(status.message().starts_with("client certificate rejected (expired): certificate has expired"));
/// ```
pub fn certificate_invalid(reason: &InvalidReason, accepted_cas: &[String]) -> Status {
    let mut message = format!(
        "client certificate rejected ({}): {}",
        reason.name(),
        reason.detail()
    );
    if reason.is_untrusted_issuer() {
        push_accepted(&mut message, accepted_cas, " Accepted CAs: ", ".");
    }
    with_reason(Code::Unauthenticated, message, 495, reason.name())
}

/// `PERMISSION_DENIED` for a verified client that the service's policy does
/// not allow; reason `not_authorized`, `why` (the policy's explanation) in
/// the message.
///
/// ```
/// use mtls_status_tonic::{REASON_METADATA, not_authorized};
///
/// let status = not_authorized(Some("CN=alice"), "not in this resource's allow-list");
/// assert_eq!(status.code(), tonic::Code::PermissionDenied);
/// assert_eq!(status.metadata().get(REASON_METADATA).unwrap(), "not_authorized");
/// assert_eq!(
///     status.message(),
///     "client certificate not authorized (not_authorized): the client certificate \"CN=alice\" \
///      is valid but not authorized for this service: not in this resource's allow-list."
/// );
/// ```
pub fn not_authorized(subject: Option<&str>, why: &str) -> Status {
    let message = match subject {
        Some(subject) => format!(
            "client certificate not authorized (not_authorized): the client certificate \
             \"{subject}\" is valid but not authorized for this service: {why}."
        ),
        None => format!(
            "client certificate not authorized (not_authorized): the client certificate is \
             valid but not authorized for this service: {why}."
        ),
    };
    with_reason(Code::PermissionDenied, message, 403, NOT_AUTHORIZED)
}

/// `INTERNAL` for a request that carries no client-certificate outcome: the
/// server runs the check without the TLS glue in front of it. The message
/// tells the client only that it is not at fault.
pub(crate) fn missing_outcome() -> Status {
    with_reason(
        Code::Internal,
        String::from(
            "the server could not check the client certificate for this request because of \
             a configuration error (missing_outcome); this is not a problem with the client's \
             certificate",
        ),
        500,
        MISSING_OUTCOME,
    )
}

/// `INVALID_ARGUMENT` for a request whose client-certificate metadata from a
/// trusted front proxy cannot be read (HTTP's 400,
/// `Answer::bad_proxy_header`): a proxy configuration problem, named by the
/// error's stable reason.
///
/// ```
/// use mtls_status::proxy::{ProxyHeaderFormat, TrustedProxy};
/// use mtls_status_tonic::{REASON_METADATA, STATUS_METADATA, bad_proxy_header};
///
/// let proxy = TrustedProxy::builder(ProxyHeaderFormat::Haproxy)
///     .trusted_peer("10.0.0.0/8".parse().unwrap())
///     .build()
///     .unwrap();
/// let mut headers = http::HeaderMap::new();
/// headers.insert("x-ssl-client-cert", "not base64!".parse().unwrap());
/// let error = proxy.read(&headers).unwrap_err();
/// let status = bad_proxy_header(&error);
/// assert_eq!(status.code(), tonic::Code::InvalidArgument);
/// assert_eq!(status.metadata().get(STATUS_METADATA).unwrap(), "400");
/// assert_eq!(status.metadata().get(REASON_METADATA).unwrap(), error.name());
/// ```
pub fn bad_proxy_header(error: &mtls_status::proxy::ProxyHeaderError) -> Status {
    let message = format!(
        "the front proxy forwarded a client certificate this server cannot read ({}): {error}. \
         This is a proxy configuration problem, not one of the client's certificate.",
        error.name()
    );
    with_reason(Code::InvalidArgument, message, 400, error.name())
}

fn with_reason(code: Code, message: String, status: u16, reason: &'static str) -> Status {
    let mut metadata = MetadataMap::new();
    metadata.insert(STATUS_METADATA, MetadataValue::from(status));
    metadata.insert(REASON_METADATA, MetadataValue::from_static(reason));
    Status::with_metadata(code, message, metadata)
}

fn push_accepted(message: &mut String, accepted_cas: &[String], open: &str, close: &str) {
    let quoted = AnswerOptions::default().accepted_cas(accepted_cas.iter().cloned());
    if let Some(list) = quoted.accepted_ca_list() {
        message.push_str(open);
        message.push_str(&list);
        message.push_str(close);
    }
}

#[cfg(test)]
mod tests {
    use mtls_status::ReasonKind;

    use super::*;

    #[test]
    fn untrusted_issuer_lists_accepted_cas_other_reasons_do_not() {
        let cas = ["CN=Root A".to_owned(), "CN=Root B".to_owned()];
        let unknown = certificate_invalid(&ReasonKind::UnknownIssuer.into(), &cas);
        assert!(
            unknown
                .message()
                .ends_with(" Accepted CAs: \"CN=Root A\" or \"CN=Root B\"."),
            "{}",
            unknown.message()
        );
        let expired = certificate_invalid(&ReasonKind::Expired.into(), &cas);
        assert!(!expired.message().contains("Root A"));
        let required = certificate_required(&[]);
        assert!(required.message().ends_with("certificate and private key."));
    }

    #[test]
    fn missing_outcome_is_internal_and_does_not_blame_the_client() {
        let status = missing_outcome();
        assert_eq!(status.code(), Code::Internal);
        assert_eq!(
            status
                .metadata()
                .get(REASON_METADATA)
                .map(|v| v.to_str().ok()),
            Some(Some("missing_outcome"))
        );
        assert_eq!(
            status
                .metadata()
                .get(STATUS_METADATA)
                .map(|v| v.to_str().ok()),
            Some(Some("500"))
        );
        assert!(status.message().contains("not a problem with the client"));
    }
}
