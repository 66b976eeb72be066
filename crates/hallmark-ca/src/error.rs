use thiserror::Error;

/// Errors from the certificate authority.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum CaError {
    /// The CA passphrase is too short to protect the key.
    #[error("the CA passphrase must be at least {min} characters; choose a longer one")]
    WeakPassphrase {
        /// Minimum length.
        min: usize,
    },
    /// Decryption of a CA key failed.
    #[error("cannot unlock the CA key in {path}: wrong passphrase or damaged file (check HALLMARK_CA_PASSPHRASE)")]
    Unlock {
        /// The key file.
        path: String,
    },
    /// Some CA files exist and others do not.
    #[error("the CA directory {dir} is incomplete (missing {missing}); restore it from backup or move it away to create a new CA")]
    Incomplete {
        /// The CA directory.
        dir: String,
        /// The missing file.
        missing: String,
    },
    /// Filesystem problem.
    #[error("CA file {path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A CA certificate on disk could not be parsed.
    #[error("CA certificate {path} is not a valid PEM certificate; restore it from backup")]
    BadCertificate {
        /// The file.
        path: String,
    },
    /// The CSR is not DER PKCS#10; the field is the parser's technical detail (for
    /// the log, not for the operator).
    #[error("the device sent a certificate request that is not a valid PKCS#10 structure")]
    CsrMalformed(String),
    /// The CSR's signature does not verify with its own key.
    #[error("the device's CSR signature does not verify: the device did not prove it holds the key")]
    CsrSignature,
    /// The CSR's key algorithm is one the CA knows but the profile does not allow; the
    /// field names it in words.
    #[error(
        "the device's key is {0}, which the station's certificate profile does not allow (certificate.key_algorithms)"
    )]
    CsrAlgorithm(String),
    /// The CSR carries a key of a type the CA cannot certify at all (RSA, P-521, an
    /// unknown curve, a compressed point).
    #[error("the device's key is {words}, which this station cannot certify")]
    CsrKeyUnsupported {
        /// The key in words ("RSA", "ECDSA P-521", "an unknown key type").
        words: String,
        /// Technical detail (OIDs, lengths) for the log.
        detail: String,
    },
    /// An issuing CA to import was refused.
    #[error("cannot import the issuing CA: {0}")]
    Import(String),
    /// This station's issuing CA waits for its certificate from the fleet root.
    #[error("this station's issuing CA in {dir} waits for its certificate: sign {dir}/issuing.csr.pem with `hallmark ca sign-station` where the fleet root is, then install it here with `hallmark ca import --cert ISSUING.pem --chain ROOT.pem`")]
    AwaitingCertificate {
        /// The CA directory.
        dir: String,
    },
    /// A station's issuing CA request was refused by the root.
    #[error("the station CA request cannot be signed: {0}")]
    StationRequest(String),
    /// The PKCS#11 token or its key is not usable.
    #[error("PKCS#11: {0}")]
    Token(String),
    /// The issuing CA has expired.
    #[error(
        "the issuing CA expired on {not_after}; nothing can be issued until it is renewed (hallmark ca init or import)"
    )]
    Expired {
        /// When.
        not_after: String,
    },
    /// A passphrase or PIN was needed and could not be obtained; the message says how
    /// to provide it.
    #[error("{0}")]
    SecretMissing(String),
    /// rcgen or the crypto backend failed.
    #[error("signing failed: {0}")]
    Signing(String),
}

impl From<rcgen::Error> for CaError {
    fn from(e: rcgen::Error) -> Self {
        CaError::Signing(e.to_string())
    }
}
