//! The client's side: which roots it trusts, and the handshake over the
//! TCP stream (or the caller's) before the WebSocket upgrade.

use std::{fmt, sync::Arc};

use rustls::RootCertStore;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio_rustls::TlsConnector;

use super::{Kind, TlsError, certificates, provider};
use crate::transport::websocket::Io;

/// The certificate authorities a client trusts for `wss://` URLs (the
/// `tls` feature). The server's certificate must name the URL's host and
/// chain to one of them. Without [`ClientBuilder::tls`], a client trusts
/// [`webpki_roots`](Self::webpki_roots).
///
/// [`ClientBuilder::tls`]: crate::ClientBuilder::tls
///
/// ```no_run
/// # extern crate rpc_core as rpc;
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use rpc::{Client, ClientTls};
///
/// // Public servers and the company's own, whose authority is in ca.pem.
/// let tls = ClientTls::webpki_roots().add_ca_pem(&std::fs::read("ca.pem")?)?;
/// let client = Client::builder().tls(tls).connect("wss://rpc.example.com/").await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct ClientTls {
    roots: RootCertStore,
    /// A certificate chain and key to present when the server asks.
    identity: Option<Arc<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>>,
}

impl fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientTls")
            .field("roots", &self.roots.len())
            .field("client_certificate", &self.identity.is_some())
            .finish()
    }
}

impl Default for ClientTls {
    /// [`ClientTls::webpki_roots`].
    fn default() -> Self {
        Self::webpki_roots()
    }
}

impl ClientTls {
    /// Trusts Mozilla's root authorities, compiled into the program (the
    /// `webpki-roots` crate): the same everywhere, updated with the crate.
    pub fn webpki_roots() -> Self {
        Self {
            roots: webpki_roots::TLS_SERVER_ROOTS.iter().cloned().collect(),
            identity: None,
        }
    }

    /// Trusts the platform's root authorities, as loaded now from the
    /// system's store (`rustls-native-certs`): what the machine's
    /// administrator trusts, company authorities included. Certificates
    /// that fail to load are skipped.
    ///
    /// # Errors
    ///
    /// When not one usable root could be loaded.
    ///
    /// ```no_run
    /// # extern crate rpc_core as rpc;
    /// # fn run() -> Result<rpc::ClientTls, rpc::TlsError> {
    /// let tls = rpc::ClientTls::native_roots()?;
    /// # Ok(tls)
    /// # }
    /// ```
    pub fn native_roots() -> Result<Self, TlsError> {
        let loaded = rustls_native_certs::load_native_certs();
        for err in &loaded.errors {
            tracing::warn!(error = %err, "skipped a platform root certificate");
        }
        let mut roots = RootCertStore::empty();
        let (added, _ignored) = roots.add_parsable_certificates(loaded.certs);
        if added == 0 {
            return Err(TlsError::new(Kind::NoNativeRoots));
        }
        Ok(Self {
            roots,
            identity: None,
        })
    }

    /// Trusts no authority yet: only those added with
    /// [`add_ca_pem`](Self::add_ca_pem), for a private deployment.
    ///
    /// ```
    /// # extern crate rpc_core as rpc;
    /// let ca = "-----BEGIN CERTIFICATE-----\n...";
    /// # let ca = "";
    /// let tls = rpc::ClientTls::empty().add_ca_pem(ca.as_bytes());
    /// # assert!(tls.is_err());
    /// ```
    pub fn empty() -> Self {
        Self {
            roots: RootCertStore::empty(),
            identity: None,
        }
    }

    /// Also trusts every authority certificate in `pem` (one or more
    /// `BEGIN CERTIFICATE` blocks).
    ///
    /// # Errors
    ///
    /// When `pem` is malformed, holds no certificate, or holds one that is
    /// not a usable authority.
    ///
    /// ```no_run
    /// # extern crate rpc_core as rpc;
    /// # fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let tls = rpc::ClientTls::empty().add_ca_pem(&std::fs::read("ca.pem")?)?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn add_ca_pem(mut self, pem: &[u8]) -> Result<Self, TlsError> {
        for certificate in certificates(pem)? {
            self.roots.add(certificate).map_err(|err| {
                TlsError::caused_by(Kind::Pem("not a usable ca certificate"), err)
            })?;
        }
        Ok(self)
    }

    /// Presents the certificate chain (the client's certificate first) and
    /// private key in `cert_chain` and `key` (PEM) to servers that ask for
    /// one (mutual TLS); the server's authentication hook sees the chain.
    ///
    /// # Errors
    ///
    /// When either is malformed or missing.
    pub fn client_certificate_pem(
        mut self,
        cert_chain: &[u8],
        key: &[u8],
    ) -> Result<Self, TlsError> {
        let cert_chain = certificates(cert_chain)?;
        let key = super::private_key(key)?;
        self.identity = Some(Arc::new((cert_chain, key)));
        Ok(self)
    }

    /// The name the server's certificate must carry: `host`, a DNS name or
    /// an IP address; `None` when it is neither.
    pub(crate) fn server_name(host: &str) -> Option<ServerName<'static>> {
        ServerName::try_from(host.to_owned()).ok()
    }

    /// Runs the TLS handshake over `io` as a client of `name`.
    pub(crate) async fn connect(
        &self,
        name: ServerName<'static>,
        io: Box<dyn Io>,
    ) -> Result<Box<dyn Io>, TlsError> {
        let config = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|err| TlsError::caused_by(Kind::Handshake, err))?
            .with_root_certificates(self.roots.clone());
        let config = match &self.identity {
            Some(identity) => config
                .with_client_auth_cert(identity.0.clone(), identity.1.clone_key())
                .map_err(|err| TlsError::caused_by(Kind::Identity, err))?,
            None => config.with_no_client_auth(),
        };
        let stream = TlsConnector::from(Arc::new(config))
            .connect(name, io)
            .await
            .map_err(TlsError::handshake)?;
        Ok(Box::new(stream))
    }
}
