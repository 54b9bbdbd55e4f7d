//! HTTPS for `auth serve`: rustls (aws-lc-rs) from a PEM certificate chain and key.

use std::path::Path;
use std::sync::Arc;

use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::output::{Error, read_file};

/// A TLS acceptor for HTTP/1.1 with the chain in `cert` and the key in `key`.
pub(crate) fn acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, Error> {
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
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(Error::config)?
        .with_no_client_auth()
        .with_single_cert(certs, key_der)
        .map_err(|e| Error::config(format!("TLS certificate and key: {e}")))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}
