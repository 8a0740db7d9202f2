//! The server's side: the certificate it presents, and the handshake each
//! connection task runs before the WebSocket upgrade.

use std::{fmt, path::Path, sync::Arc};

use bytes::Bytes;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

use super::{Kind, TlsError, certificates, private_key, provider};
use crate::transport::websocket::Io;

/// The certificate chain and private key a server presents (the `tls`
/// feature): with [`ServerBuilder::tls`], every connection runs a TLS
/// handshake before its WebSocket upgrade, and clients connect with
/// `wss://`.
///
/// [`ServerBuilder::tls`]: crate::ServerBuilder::tls
///
/// ```no_run
/// # extern crate rpc_core as rpc;
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use rpc::{Server, ServerTls};
///
/// let tls = ServerTls::from_pem_files("cert.pem", "key.pem")?;
/// let server = Server::builder().tls(tls).bind("0.0.0.0:443").await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct ServerTls {
    acceptor: TlsAcceptor,
    cert_chain: Vec<CertificateDer<'static>>,
    key: Arc<PrivateKeyDer<'static>>,
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
    /// # extern crate rpc_core as rpc;
    /// # fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let cert = std::env::var("TLS_CERT")?;
    /// let key = std::env::var("TLS_KEY")?;
    /// let tls = rpc::ServerTls::from_pem(cert.as_bytes(), key.as_bytes())?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_pem(cert_chain: &[u8], key: &[u8]) -> Result<Self, TlsError> {
        let cert_chain = certificates(cert_chain)?;
        let key = private_key(key)?;
        let acceptor = acceptor(&cert_chain, &key, None)?;
        Ok(Self {
            acceptor,
            cert_chain,
            key: Arc::new(key),
        })
    }

    /// Asks every client for a certificate issued by an authority in `pem`
    /// (mutual TLS). A client that presents one that does not verify is
    /// refused in the TLS handshake; one that presents none is let through,
    /// and the authentication hook decides
    /// ([`UpgradeRequest::client_certificates`](crate::UpgradeRequest::client_certificates)).
    ///
    /// # Errors
    ///
    /// When `pem` is malformed, holds no certificate, or holds one that is
    /// not a usable authority.
    pub fn client_ca_pem(mut self, pem: &[u8]) -> Result<Self, TlsError> {
        let mut roots = rustls::RootCertStore::empty();
        for certificate in certificates(pem)? {
            roots.add(certificate).map_err(|err| {
                TlsError::caused_by(Kind::Pem("not a usable ca certificate"), err)
            })?;
        }
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            Arc::new(roots),
            provider(),
        )
        .allow_unauthenticated()
        .build()
        .map_err(|err| TlsError::caused_by(Kind::Identity, err))?;
        self.acceptor = acceptor(&self.cert_chain, &self.key, Some(verifier))?;
        Ok(self)
    }

    /// Runs the TLS handshake over `io` as the server; returns the stream
    /// and the client's certificate chain, if it presented one (DER, the
    /// client's own certificate first).
    pub(crate) async fn accept(
        &self,
        io: Box<dyn Io>,
    ) -> Result<(Box<dyn Io>, Option<Vec<Bytes>>), TlsError> {
        let stream = self
            .acceptor
            .accept(io)
            .await
            .map_err(TlsError::handshake)?;
        let chain = stream.get_ref().1.peer_certificates().map(|chain| {
            chain
                .iter()
                .map(|certificate| Bytes::copy_from_slice(certificate.as_ref()))
                .collect()
        });
        Ok((Box::new(stream), chain))
    }
}

/// The acceptor for a certificate and key, verifying clients with
/// `clients` when given.
fn acceptor(
    cert_chain: &[CertificateDer<'static>],
    key: &PrivateKeyDer<'static>,
    clients: Option<Arc<dyn rustls::server::danger::ClientCertVerifier>>,
) -> Result<TlsAcceptor, TlsError> {
    let builder = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|err| TlsError::caused_by(Kind::Identity, err))?;
    let builder = match clients {
        Some(verifier) => builder.with_client_cert_verifier(verifier),
        None => builder.with_no_client_auth(),
    };
    let config = builder
        .with_single_cert(cert_chain.to_vec(), key.clone_key())
        .map_err(|err| TlsError::caused_by(Kind::Identity, err))?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}
