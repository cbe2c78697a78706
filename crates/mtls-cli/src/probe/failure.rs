//! Why a handshake or a request failed, in plain words: above all the TLS
//! alerts servers send when they reject a client certificate inside TLS.

use std::io;
use std::time::Duration;

use rustls::AlertDescription;

/// Why a handshake or an exchange ended without an HTTP response.
#[derive(Debug)]
pub(super) enum Failure {
    /// The server sent a fatal TLS alert.
    Alert(AlertDescription),
    /// The server's certificate does not verify against `--ca`.
    ServerCertificate(rustls::Error),
    /// Another TLS error (found by the client).
    Tls(rustls::Error),
    /// The server closed the connection without an alert.
    Closed,
    /// A socket error, e.g. the connection was reset.
    Io(io::Error),
    /// No progress within the limit.
    Timeout(Duration),
    /// The server answered something that is not HTTP/1.
    NotHttp(String),
}

impl Failure {
    /// A rustls error: an alert from the server, or something the client
    /// found.
    pub(super) fn from_tls(error: rustls::Error) -> Self {
        match error {
            rustls::Error::AlertReceived(alert) => Self::Alert(alert),
            rustls::Error::InvalidCertificate(_) => Self::ServerCertificate(error),
            other => Self::Tls(other),
        }
    }

    /// A socket error (a rustls error wrapped in an I/O error is unwrapped).
    pub(super) fn from_io(error: io::Error, limit: Duration) -> Self {
        match error.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => Self::Timeout(limit),
            io::ErrorKind::UnexpectedEof => Self::Closed,
            _ => match error
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
            {
                Some(tls) => Self::from_tls(tls.clone()),
                None => Self::Io(error),
            },
        }
    }

    /// Whether the client ended the handshake (rejected the server's
    /// certificate, or found the server's messages unacceptable).
    pub(super) fn is_client_side(&self) -> bool {
        matches!(self, Self::ServerCertificate(_) | Self::Tls(_))
    }

    /// The alert, if the failure is one.
    pub(super) fn alert(&self) -> Option<AlertDescription> {
        match self {
            Self::Alert(alert) => Some(*alert),
            _ => None,
        }
    }

    /// A stable name for JSON: `alert`, `server_certificate`, `tls`,
    /// `closed`, `io`, `timeout`, `not_http`.
    pub(super) fn kind(&self) -> &'static str {
        match self {
            Self::Alert(_) => "alert",
            Self::ServerCertificate(_) => "server_certificate",
            Self::Tls(_) => "tls",
            Self::Closed => "closed",
            Self::Io(_) => "io",
            Self::Timeout(_) => "timeout",
            Self::NotHttp(_) => "not_http",
        }
    }

    /// What happened, e.g. `TLS alert certificate_required`.
    pub(super) fn what(&self) -> String {
        match self {
            Self::Alert(alert) => format!("TLS alert {}", alert_name(*alert)),
            Self::ServerCertificate(error) => {
                format!("the server's certificate does not verify against --ca ({error})")
            }
            Self::Tls(error) => format!("TLS error: {error}"),
            Self::Closed => "the server closed the connection without a TLS alert".to_owned(),
            Self::Io(error) => format!("connection error: {error}"),
            Self::Timeout(limit) => {
                format!("no answer from the server within {} s", limit.as_secs())
            }
            Self::NotHttp(excerpt) => format!("the server's answer is not HTTP/1: {excerpt}"),
        }
    }

    /// What it means, given whether the server had asked for a certificate
    /// (`None`: not known) and whether the client had sent one.
    pub(super) fn meaning(&self, requested: Option<bool>, sent_certificate: bool) -> String {
        match self {
            Self::Alert(alert) => alert_meaning(*alert, requested, sent_certificate).to_owned(),
            Self::ServerCertificate(_) => {
                "the probe stopped here; check --ca and --server-name, or probe without --ca \
                 (the server is then not verified)"
                    .to_owned()
            }
            Self::Tls(rustls::Error::InvalidMessage(_)) => {
                "the server's answer is not valid TLS: does this port speak TLS?".to_owned()
            }
            Self::Tls(rustls::Error::PeerIncompatible(_)) => {
                "the client and the server have no TLS parameters in common; try --tls 1.2 or 1.3"
                    .to_owned()
            }
            Self::Tls(_) => "the TLS connection failed on the client's side".to_owned(),
            Self::Closed if sent_certificate => {
                "the server dropped the connection; some servers do this instead of sending \
                 an alert when they reject a client certificate"
                    .to_owned()
            }
            Self::Closed => "the server dropped the connection; some servers do this instead of \
                 sending an alert when a client certificate is missing"
                .to_owned(),
            Self::Io(_) => "the connection broke".to_owned(),
            Self::Timeout(_) => "the server stalled".to_owned(),
            Self::NotHttp(_) => {
                "the TLS service behind this port does not speak HTTP/1.1".to_owned()
            }
        }
    }
}

/// The alert's name as in the TLS RFCs (and OpenSSL's messages), e.g.
/// `certificate_required`.
pub(super) fn alert_name(alert: AlertDescription) -> String {
    use AlertDescription as A;
    let name = match alert {
        A::CloseNotify => "close_notify",
        A::UnexpectedMessage => "unexpected_message",
        A::BadRecordMac => "bad_record_mac",
        A::DecryptionFailed => "decryption_failed",
        A::RecordOverflow => "record_overflow",
        A::DecompressionFailure => "decompression_failure",
        A::HandshakeFailure => "handshake_failure",
        A::NoCertificate => "no_certificate",
        A::BadCertificate => "bad_certificate",
        A::UnsupportedCertificate => "unsupported_certificate",
        A::CertificateRevoked => "certificate_revoked",
        A::CertificateExpired => "certificate_expired",
        A::CertificateUnknown => "certificate_unknown",
        A::IllegalParameter => "illegal_parameter",
        A::UnknownCA => "unknown_ca",
        A::AccessDenied => "access_denied",
        A::DecodeError => "decode_error",
        A::DecryptError => "decrypt_error",
        A::ExportRestriction => "export_restriction",
        A::ProtocolVersion => "protocol_version",
        A::InsufficientSecurity => "insufficient_security",
        A::InternalError => "internal_error",
        A::InappropriateFallback => "inappropriate_fallback",
        A::UserCanceled => "user_canceled",
        A::NoRenegotiation => "no_renegotiation",
        A::MissingExtension => "missing_extension",
        A::UnsupportedExtension => "unsupported_extension",
        A::CertificateUnobtainable => "certificate_unobtainable",
        A::UnrecognisedName => "unrecognized_name",
        A::BadCertificateStatusResponse => "bad_certificate_status_response",
        A::BadCertificateHashValue => "bad_certificate_hash_value",
        A::UnknownPSKIdentity => "unknown_psk_identity",
        A::CertificateRequired => "certificate_required",
        A::NoApplicationProtocol => "no_application_protocol",
        A::EncryptedClientHelloRequired => "encrypted_client_hello_required",
        other => return format!("alert_{}", u8::from(other)),
    };
    name.to_owned()
}

/// What an alert from the server means for a client that did (or did not)
/// send a certificate, after the server asked for one (or not).
fn alert_meaning(alert: AlertDescription, requested: Option<bool>, sent: bool) -> &'static str {
    use AlertDescription as A;
    let asked = requested == Some(true);
    match alert {
        A::CertificateRequired => "the server requires a client certificate",
        A::HandshakeFailure if asked && !sent => {
            "the server requires a client certificate; TLS 1.2 servers built on OpenSSL say \
             so with this alert"
        }
        A::BadCertificate | A::NoCertificate if asked && !sent => {
            "the server requires a client certificate; TLS 1.2 servers written in Go say so \
             with this alert"
        }
        A::HandshakeFailure if sent => {
            "the server aborted the handshake: it rejected the client certificate, or found \
             no parameters in common with the client"
        }
        A::HandshakeFailure => {
            "the server aborted the handshake: no TLS version, cipher suite or signature \
             scheme in common with the client"
        }
        A::BadCertificate if sent => {
            "the server rejected the client certificate: it could not verify it, often \
             because of an issuer it does not trust, a missing intermediate or a bad signature"
        }
        A::UnknownCA if sent => {
            "the server does not trust the issuer of the client certificate, or could not \
             learn its revocation status; is the intermediate in --cert, and is the CA in the \
             server's client CA bundle?"
        }
        A::CertificateExpired if sent => {
            "the server says the client certificate has expired or is not valid yet"
        }
        A::CertificateRevoked if sent => "the server says the client certificate is revoked",
        A::UnsupportedCertificate if sent => {
            "the server does not accept this kind of certificate; often its extended key usage \
             lacks clientAuth"
        }
        A::CertificateUnknown if sent => {
            "the server rejected the client certificate without saying why"
        }
        A::DecryptError if sent => {
            "a signature did not verify: does --key belong to --cert, and is the \
             certificate's signature valid?"
        }
        A::BadCertificate
        | A::UnknownCA
        | A::CertificateExpired
        | A::CertificateRevoked
        | A::UnsupportedCertificate
        | A::CertificateUnknown => {
            "the server rejected a certificate, though the client sent none: a server that \
             misreports, or one that found fault with its own configuration"
        }
        A::AccessDenied => "the server verified the client but denies it access",
        A::ProtocolVersion => "the server does not speak the TLS version(s) offered",
        A::InsufficientSecurity => "the server wants stronger parameters than the client offered",
        A::UnrecognisedName => {
            "the server does not know the server name sent (SNI); try --server-name"
        }
        A::NoApplicationProtocol => {
            "the server accepts none of the ALPN protocols offered; the probe offers http/1.1"
        }
        A::InternalError => "the server hit an internal error",
        A::UserCanceled => "the server cancelled the handshake",
        _ => "the server ended the connection with an error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alert_names_are_the_rfc_names() {
        assert_eq!(
            alert_name(AlertDescription::CertificateRequired),
            "certificate_required"
        );
        assert_eq!(alert_name(AlertDescription::UnknownCA), "unknown_ca");
        assert_eq!(alert_name(AlertDescription::Unknown(200)), "alert_200");
    }

    #[test]
    fn meanings_depend_on_whether_a_certificate_was_sent() {
        let alert = Failure::Alert(AlertDescription::BadCertificate);
        let none = alert.meaning(Some(true), false);
        let some = alert.meaning(Some(true), true);
        assert!(none.contains("requires a client certificate"), "{none}");
        assert!(some.contains("rejected the client certificate"), "{some}");
        let early = Failure::Alert(AlertDescription::HandshakeFailure).meaning(None, false);
        assert!(early.contains("in common"), "{early}");
        assert!(!early.contains("client certificate"), "{early}");
    }

    #[test]
    fn io_errors_unwrap_tls_errors() {
        let wrapped = io::Error::new(
            io::ErrorKind::InvalidData,
            rustls::Error::AlertReceived(AlertDescription::UnknownCA),
        );
        let failure = Failure::from_io(wrapped, Duration::from_secs(1));
        assert_eq!(failure.alert(), Some(AlertDescription::UnknownCA));
        let timeout = Failure::from_io(io::ErrorKind::WouldBlock.into(), Duration::from_secs(10));
        assert_eq!(timeout.what(), "no answer from the server within 10 s");
    }
}
