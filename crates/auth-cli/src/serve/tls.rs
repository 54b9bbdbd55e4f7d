//! HTTPS for `auth serve`: rustls (aws-lc-rs) from a PEM certificate chain and key, and, with
//! `--tls-client-ca`, client certificates (RFC 8705): requested, checked against that CA when
//! presented, and handed to each request as its SHA-256 thumbprint.

use std::path::Path;
use std::sync::Arc;

use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{RootCertStore, ServerConfig, ServerConnection};

use crate::output::{Error, read_file};

/// A TLS acceptor for HTTP/1.1 with the chain in `cert` and the key in `key`; with
/// `client_ca`, client certificates issued by it are asked for (and optional: a client
/// without one authenticates otherwise).
pub(crate) fn acceptor(
    cert: &Path,
    key: &Path,
    client_ca: Option<&Path>,
) -> Result<TlsAcceptor, Error> {
    let certs = CertificateDer::pem_slice_iter(&read_file(cert)?)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            Error::config(format!(
                "{}: not a PEM certificate chain: {e}",
                cert.display()
            ))
        })?;
    if certs.is_empty() {
        return Err(Error::config(format!("{}: no certificate", cert.display())));
    }
    let key_der = PrivateKeyDer::from_pem_slice(&read_file(key)?)
        .map_err(|e| Error::config(format!("{}: not a PEM private key: {e}", key.display())))?;
    let provider = Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider());
    let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(Error::config)?;
    let builder = match client_ca {
        None => builder.with_no_client_auth(),
        Some(path) => {
            let mut roots = RootCertStore::empty();
            for ca in CertificateDer::pem_slice_iter(&read_file(path)?) {
                let ca = ca.map_err(|e| {
                    Error::config(format!("{}: not a PEM certificate: {e}", path.display()))
                })?;
                roots.add(ca).map_err(|e| {
                    Error::config(format!("{}: not a CA certificate: {e}", path.display()))
                })?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .allow_unauthenticated()
                .build()
                .map_err(|e| Error::config(format!("{}: {e}", path.display())))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder
        .with_single_cert(certs, key_der)
        .map_err(|e| Error::config(format!("TLS certificate and key: {e}")))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// The client certificate `connection` presented (its leaf, verified by then), as the
/// base64url SHA-256 of its DER: the form of a token's `cnf.x5t#S256`.
pub(crate) fn client_certificate(
    connection: &ServerConnection,
) -> Option<auth_core::ClientCertificate> {
    let leaf = connection.peer_certificates()?.first()?;
    let hash = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, leaf.as_ref());
    Some(auth_core::ClientCertificate::from_thumbprint(
        base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            hash.as_ref(),
        ),
    ))
}
