//! Sender-constrained tokens: [`Confirmation`], the key a token is bound to (its `cnf` claim,
//! RFC 7800), and [`ClientCertificate`], the TLS client certificate a connection presented.
//!
//! A token bound to a DPoP key (RFC 9449, `cnf.jkt`) is accepted only with a proof made by
//! that key, and never as a plain `Bearer` token; a token bound to a client certificate
//! (RFC 8705, `cnf.x5t#S256`) only on a connection that presented that certificate. A token
//! verifier puts the [`Confirmation`] on the principal as an attribute; the authenticators
//! enforce it, so a verifier cannot forget to.

/// The confirmation (`cnf`) of a sender-constrained token: the thumbprints of the key or the
/// certificate it is bound to, base64url.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Confirmation {
    jkt: Option<String>,
    x5t_s256: Option<String>,
}

impl Confirmation {
    /// Bound to nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Bound to the DPoP key whose RFC 7638 SHA-256 thumbprint is `jkt`.
    #[must_use]
    pub fn with_jkt(mut self, jkt: impl Into<String>) -> Self {
        self.jkt = Some(jkt.into());
        self
    }

    /// Bound to the client certificate whose SHA-256 thumbprint (of its DER) is `x5t_s256`.
    #[must_use]
    pub fn with_x5t_s256(mut self, x5t_s256: impl Into<String>) -> Self {
        self.x5t_s256 = Some(x5t_s256.into());
        self
    }

    /// The DPoP key's thumbprint (`cnf.jkt`).
    pub fn jkt(&self) -> Option<&str> {
        self.jkt.as_deref()
    }

    /// The client certificate's thumbprint (`cnf.x5t#S256`).
    pub fn x5t_s256(&self) -> Option<&str> {
        self.x5t_s256.as_deref()
    }

    /// Whether the token is bound to anything.
    pub fn is_bound(&self) -> bool {
        self.jkt.is_some() || self.x5t_s256.is_some()
    }

    /// Why `request` may not use a token with this confirmation as far as the client
    /// certificate goes (RFC 8705 §3), if it may not: the token is bound to a certificate and
    /// the connection presented none, or another one.
    pub fn certificate_refusal(&self, request: &http::request::Parts) -> Option<&'static str> {
        let bound = self.x5t_s256.as_deref()?;
        match request.extensions.get::<ClientCertificate>() {
            Some(cert) if cert.x5t_s256 == bound => None,
            Some(_) => Some("a certificate-bound token on a connection with another certificate"),
            None => Some("a certificate-bound token on a connection without a client certificate"),
        }
    }
}

/// The TLS client certificate of the connection a request came on, as its SHA-256 thumbprint
/// (of the DER, base64url: the form of `cnf.x5t#S256`). The TLS layer puts it in the
/// request's extensions; a request without it presented no certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCertificate {
    x5t_s256: String,
}

impl ClientCertificate {
    /// The certificate whose SHA-256 thumbprint, base64url, is `x5t_s256`.
    pub fn from_thumbprint(x5t_s256: impl Into<String>) -> Self {
        Self {
            x5t_s256: x5t_s256.into(),
        }
    }

    /// Its SHA-256 thumbprint, base64url.
    pub fn x5t_s256(&self) -> &str {
        &self.x5t_s256
    }
}

/// Why a sender-constrained token may not be used as a plain `Bearer` token on `request`, if
/// it may not: bound to a DPoP key, or to a certificate the connection did not present.
pub(crate) fn bearer_refusal(
    confirmation: Option<&Confirmation>,
    request: &http::request::Parts,
) -> Option<&'static str> {
    let cnf = confirmation?;
    if cnf.jkt.is_some() {
        return Some("a DPoP-bound token presented as a bearer token");
    }
    cnf.certificate_refusal(request)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(cert: Option<&str>) -> http::request::Parts {
        let mut request = http::Request::new(());
        if let Some(c) = cert {
            request
                .extensions_mut()
                .insert(ClientCertificate::from_thumbprint(c));
        }
        request.into_parts().0
    }

    #[test]
    fn unbound_tokens_pass_and_dpop_bound_ones_never_do() {
        assert_eq!(bearer_refusal(None, &parts(None)), None);
        assert_eq!(
            bearer_refusal(Some(&Confirmation::new()), &parts(None)),
            None
        );
        let dpop = Confirmation::new().with_jkt("abc");
        assert!(bearer_refusal(Some(&dpop), &parts(Some("abc"))).is_some());
    }

    #[test]
    fn certificate_bound_tokens_need_that_certificate() {
        let cnf = Confirmation::new().with_x5t_s256("cert-a");
        assert_eq!(bearer_refusal(Some(&cnf), &parts(Some("cert-a"))), None);
        assert!(bearer_refusal(Some(&cnf), &parts(Some("cert-b"))).is_some());
        assert!(bearer_refusal(Some(&cnf), &parts(None)).is_some());
    }
}
