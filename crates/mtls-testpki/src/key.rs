//! Key algorithms and the embedded RSA test key.

use rcgen::{KeyPair, SignatureAlgorithm};
use rustls_pki_types::PrivatePkcs8KeyDer;

/// The key type of a generated certificate. The default is ECDSA P-256.
///
/// All of them are accepted by rustls-webpki and OpenSSL. The signature algorithm of a
/// certificate follows its *issuer's* key: ECDSA P-256 with SHA-256, ECDSA P-384 with
/// SHA-384, Ed25519, RSA PKCS#1 v1.5 with SHA-256.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyAlgorithm {
    /// ECDSA on P-256 (signs with SHA-256). Fresh key for every certificate.
    #[default]
    EcdsaP256,
    /// ECDSA on P-384 (signs with SHA-384). Fresh key for every certificate.
    EcdsaP384,
    /// Ed25519. Fresh key for every certificate. Exported keys are PKCS#8 v1 (ring's
    /// native v2 encoding is not readable by OpenSSL 3.0).
    Ed25519,
    /// RSA 2048 (signs with PKCS#1 v1.5 SHA-256). ring cannot generate RSA keys, so
    /// every RSA certificate reuses the one embedded [`RSA_2048_TEST_KEY_PEM`].
    Rsa2048,
}

impl KeyAlgorithm {
    /// The rcgen signature algorithm used by keys of this type.
    pub fn signature_algorithm(self) -> &'static SignatureAlgorithm {
        match self {
            Self::EcdsaP256 => &rcgen::PKCS_ECDSA_P256_SHA256,
            Self::EcdsaP384 => &rcgen::PKCS_ECDSA_P384_SHA384,
            Self::Ed25519 => &rcgen::PKCS_ED25519,
            Self::Rsa2048 => &rcgen::PKCS_RSA_SHA256,
        }
    }

    /// A key pair of this type: freshly generated, or the embedded RSA test key.
    ///
    /// # Panics
    ///
    /// If the crypto backend fails, which does not happen with rcgen's default `ring`.
    pub fn generate(self) -> KeyPair {
        match self {
            Self::Rsa2048 => KeyPair::from_pkcs8_pem_and_sign_algo(
                RSA_2048_TEST_KEY_PEM,
                self.signature_algorithm(),
            )
            .expect("mtls-testpki: the embedded RSA test key must load"),
            _ => KeyPair::generate_for(self.signature_algorithm())
                .expect("mtls-testpki: key generation failed"),
        }
    }
}

/// Makes an independent copy of a key pair (rcgen's `KeyPair` is not `Clone`).
pub(crate) fn clone_key(key: &KeyPair) -> KeyPair {
    KeyPair::from_pkcs8_der_and_sign_algo(
        &PrivatePkcs8KeyDer::from(key.serialized_der()),
        key.algorithm(),
    )
    .expect("mtls-testpki: re-loading a key pair failed")
}

/// A 2048-bit RSA private key (PKCS#8 PEM) used by every [`KeyAlgorithm::Rsa2048`]
/// certificate.
///
/// **This is a published test key, never use it for anything real.** It was generated
/// once with `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048` and embedded
/// because ring (rcgen's default backend) cannot generate RSA keys.
pub const RSA_2048_TEST_KEY_PEM: &str = "\
-----BEGIN PRIVATE KEY-----\n\
MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQC6q+A/KVCM8Yyn\n\
0+MzNmzMGCAge7DskfSX1wLjBM/Rr1ZJlBiDavS5Or1np6LgLyFaynMo2Ib6NFF/\n\
O/cFjT1G4QiIRGjXBx49sNw0QmYTDNQkQsIZIL+kMjLY9hVxrvjXHxdEaHiI5xeZ\n\
1/+767tU1UyEmIeJyFkwapGVn/wI3VqcFLoqnPo/wHlhcZV4ImetrIUqcU8VP+3m\n\
N+/UaCimzjEr1dNH+Gs1t9J7fPM7gUL/jzqAttfcS9JZRg2pTAVBRfKX4BpS6ZmF\n\
3MDZCF3/Lae67galMywr26106wQdk8zM64vUGmxAEPk6uM5mg9bT+FYzVCPAtVzj\n\
z0scJco7AgMBAAECggEAB4s3okXQqAmA9i1VcrXh2rOk5Lsq8LyLRnGdf8Arh91O\n\
nuWZwgHaBvxNODmplubAsdMZqU5q0gS4QGyTdIl7LvicKCmflQUIH1Uc6Q2/40gy\n\
8I40GuDcbc3LiUIUpsX773GltpGEQYAZT5HPl3AU335JO9iQLazHkfHUlVfkTxVV\n\
Jv3l/YyGSYjKvcl9/+ycUotwwmjtZjjjOy9jviNA8Z8llORR1XrmPz8s3n5wnYrD\n\
0ozidZGepRexcIuZADDDHUc5H9pqx+pPQhtTgPWgUJTg+q1Hu0eFYAu2MPnpEcw3\n\
rNjXt57/s+YHn2Hb1x/lsB1/fv9XLPYA/tVk88xsnQKBgQD50x9ovgolYoOPdZrz\n\
FVq80qQIBwm1eB7MiTsLMeKlSR4AV2z4n/g84G8lWDOasCuKaV1YKeUvBHOlRo65\n\
9etubI+/iDRPMnbb2+YC4AtJnch0YD4laONuv4acduXchCe4QnXexPOPX/yLb19C\n\
v/Rt676acw8rM+xxo4E93bTH5QKBgQC/SR9dwM9bBT80+AsLOFYR4Odm+DqG/hk1\n\
dg8exbSgU8WhGEX8pqxbKyX29/Qhf79VYnZqAPqGgkTdjGfSJoU92lVnx/JK+Ury\n\
+qpfBr/3BkamkNbLMRMewHcRNztsi4Yh350z/3jlASmxE7+xJ93FBX68nxVA0kPT\n\
Dc+9YqbnnwKBgQDMykd2GkrA6KfGAvcZC0lNfjKerf5EdwpwSpJPE/6h1XU1fHVE\n\
vgXFCYmzCEGNLZsTpFmzeux3hWOzeUpooHH1HCMeM+4Fee27PuCnPLekCiaXV4m6\n\
Kug9Ed2sBz9YbDEPN9Pd4H9z6ZBhUNO7KRWaweSGQYmOtcq+QPUiHMskDQKBgQCr\n\
p3fRTyQEvymgY/KtJ+n880FU4u7Kkx2WHxKkf7B+q45O6RRtDDjhO1A/VvUqVpQh\n\
kFFJAQXQTPh1g/jq2gx5nANGNWSVqS576zuWON1tVKFz+cf24VwSHY770P+vgWll\n\
3mAY+GnJv4hlUp6T4H2fvzWjGHMfD1E0BVHl1rCGawKBgBYMrneigd6nUmXsjIHg\n\
Kzlqo06p8893RArXjFKuEuO7sSITLYALKDfIezJ5TgPlcDmaqLk6hs1pKoJDeVEY\n\
tTwEF5+C0xu7bkjTTulsfjpdkQwdFKouKD8cmRLdM1K0FCDWc+gCaBndJnDUY/wN\n\
D1ZvDIBj6usJfm38/iJFjq/0\n\
-----END PRIVATE KEY-----\n\
";
