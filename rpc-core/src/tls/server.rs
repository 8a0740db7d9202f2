//! The server's side: the certificate it presents, and the handshake each
//! connection task runs before the WebSocket upgrade.

use std::{fmt, path::Path, sync::Arc};

use rustls_pki_types::{PrivateKeyDer, pem::PemObject};
use tokio_rustls::TlsAcceptor;

use super::{Kind, TlsError, certificates, provider};
use crate::transport::websocket::Io;

/// The certificate chain and private key a server presents (the `tls`
/// feature): with [`ServerBuilder::tls`], every connection runs a TLS
/// handshake before its WebSocket upgrade, and clients connect with
/// `wss://`.
///
/// [`ServerBuilder::tls`]: crate::ServerBuilder::tls
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use rpc_core::{Server, ServerTls};
///
/// let tls = ServerTls::from_pem_files("cert.pem", "key.pem")?;
/// let server = Server::builder().tls(tls).bind("0.0.0.0:443").await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct ServerTls {
    acceptor: TlsAcceptor,
}

impl fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerTls").finish_non_exhaustive()
    }
}

impl ServerTls {
    /// Reads the certificate chain (the server's certificate first, then
    /// the intermediates) and the private key (PKCS #8, PKCS #1 or SEC1)
    /// from PEM files, as a certificate authority or `certbot` writes them.
    ///
    /// # Errors
    ///
    /// When a file cannot be read, or as [`from_pem`](Self::from_pem).
    pub fn from_pem_files(
        cert_chain: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> Result<Self, TlsError> {
        let read = |path: &Path| {
            std::fs::read(path).map_err(|err| TlsError::caused_by(Kind::Read(path.to_owned()), err))
        };
        Self::from_pem(&read(cert_chain.as_ref())?, &read(key.as_ref())?)
    }

    /// The certificate chain and private key from PEM in memory.
    ///
    /// # Errors
    ///
    /// When either is malformed or missing, or the key does not match the
    /// certificate.
    ///
    /// ```no_run
    /// # fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let cert = std::env::var("TLS_CERT")?;
    /// let key = std::env::var("TLS_KEY")?;
    /// let tls = rpc_core::ServerTls::from_pem(cert.as_bytes(), key.as_bytes())?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_pem(cert_chain: &[u8], key: &[u8]) -> Result<Self, TlsError> {
        let cert_chain = certificates(cert_chain)?;
        let key = PrivateKeyDer::from_pem_slice(key).map_err(|err| match err {
            rustls_pki_types::pem::Error::NoItemsFound => {
                TlsError::new(Kind::Pem("no private key in the pem"))
            }
            err => TlsError::caused_by(Kind::Pem("malformed pem"), err),
        })?;
        let config = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|err| TlsError::caused_by(Kind::Identity, err))?
            .with_no_client_auth()
            .with_single_cert(cert_chain, key)
            .map_err(|err| TlsError::caused_by(Kind::Identity, err))?;
        Ok(Self {
            acceptor: TlsAcceptor::from(Arc::new(config)),
        })
    }

    /// Runs the TLS handshake over `io` as the server.
    pub(crate) async fn accept(&self, io: Box<dyn Io>) -> Result<Box<dyn Io>, TlsError> {
        let stream = self
            .acceptor
            .accept(io)
            .await
            .map_err(TlsError::handshake)?;
        Ok(Box::new(stream))
    }
}
