//! [`CaCertificates`]: the CA certificates a TLS client trusts instead of the platform's
//! roots, for servers behind a private CA. One reader for every TLS client in auth-rs: the
//! HTTP client (`auth-http`), the PostgreSQL key store and the Redis limiter each take PEM
//! and check it here, so all three refuse the same bad input with the same words.

use std::fmt;
use std::sync::Arc;

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject as _;

/// One or more CA certificates read from PEM: at least one `CERTIFICATE` block and nothing
/// malformed, checked when built, so an empty or garbled file fails at startup rather than
/// at every connection later, far from the cause. Cheap to clone.
///
/// ```
/// # use auth_core::CaCertificates;
/// let err = CaCertificates::from_pem(b"not a certificate").unwrap_err();
/// assert_eq!(err.to_string(), "CA certificate PEM holds no CERTIFICATE block");
/// ```
#[derive(Clone)]
pub struct CaCertificates {
    pem: Arc<[u8]>,
    der: Arc<[CertificateDer<'static>]>,
}

impl CaCertificates {
    /// Reads the `CERTIFICATE` blocks of `pem` (other PEM sections, such as comments
    /// between blocks, are skipped, as OpenSSL does).
    ///
    /// # Errors
    ///
    /// [`InvalidCaCertificates`] when a block is not valid PEM or there is no
    /// `CERTIFICATE` block. Whether each block is an X.509 certificate the TLS library can
    /// use is for the client that loads it to say.
    pub fn from_pem(pem: &[u8]) -> Result<Self, InvalidCaCertificates> {
        let der = CertificateDer::pem_slice_iter(pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| InvalidCaCertificates("CA certificate is not valid PEM"))?;
        if der.is_empty() {
            return Err(InvalidCaCertificates(
                "CA certificate PEM holds no CERTIFICATE block",
            ));
        }
        Ok(Self {
            pem: pem.into(),
            der: der.into(),
        })
    }

    /// The PEM text as given.
    pub fn pem(&self) -> &[u8] {
        &self.pem
    }

    /// Each certificate's DER bytes, in the order given.
    pub fn der(&self) -> impl ExactSizeIterator<Item = &[u8]> {
        self.der.iter().map(|c| c.as_ref())
    }
}

impl fmt::Debug for CaCertificates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CaCertificates({} certificates)", self.der.len())
    }
}

/// CA certificates that could not be read: what is wrong, never the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidCaCertificates(&'static str);

impl InvalidCaCertificates {
    /// What is wrong, as a fixed text (for error types that hold `&'static str`).
    pub fn reason(&self) -> &'static str {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A self-signed certificate (Ed25519, `CN=test CA`), made with
    /// `openssl req -x509 -newkey ed25519 -nodes -subj "/CN=test CA"`.
    const CA: &str = "-----BEGIN CERTIFICATE-----
MIIBODCB66ADAgECAhQc9GSiH7nxj+nYQ9B0kb1+JkqUTzAFBgMrZXAwEjEQMA4G
A1UEAwwHdGVzdCBDQTAeFw0yNjEyMDMwODQ1NTJaFw0zNjExMzAwODQ1NTJaMBIx
EDAOBgNVBAMMB3Rlc3QgQ0EwKjAFBgMrZXADIQB/q0gnIIqYip+L7Xye9UObru2F
2cMuVpraxXRDA2t426NTMFEwHQYDVR0OBBYEFOha02RsJzZclFqa8exmkFQ9OlvP
MB8GA1UdIwQYMBaAFOha02RsJzZclFqa8exmkFQ9OlvPMA8GA1UdEwEB/wQFMAMB
Af8wBQYDK2VwA0EAFiqaGLp6k0Tz13RZrYYSm7zg3MGBZq28cxfMXcANRZE2yiL6
RfeNOteem0+IGqZzIRmMbpScsMdelN8cEcEGBA==
-----END CERTIFICATE-----
";

    #[test]
    fn certificates_in_order_and_their_pem() {
        let two = format!("{CA}comment between blocks\n{CA}");
        let ca = CaCertificates::from_pem(two.as_bytes()).unwrap();
        assert_eq!(ca.der().len(), 2);
        assert!(ca.der().all(|d| d.first() == Some(&0x30)), "DER SEQUENCE");
        assert_eq!(ca.pem(), two.as_bytes());
        assert_eq!(format!("{ca:?}"), "CaCertificates(2 certificates)");
    }

    #[test]
    fn nothing_or_garbage_is_refused_in_words_without_the_input() {
        let garbled = CA.replace("MIIBOD", "M!IBOD");
        for (pem, want) in [
            ("", "no CERTIFICATE block"),
            (
                "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
                "no CERTIFICATE",
            ),
            (garbled.as_str(), "not valid PEM"),
        ] {
            let err = CaCertificates::from_pem(pem.as_bytes())
                .unwrap_err()
                .to_string();
            assert!(err.contains(want), "{pem:?}: {err}");
            assert!(!err.contains("M!IB") && !err.contains("AAAA"), "{err}");
        }
    }
}
