//! TLS with rustls and ring (the `tls` feature): [`ClientTls`], the roots a
//! client trusts for `wss://`; [`ServerTls`], the certificate a server
//! presents; [`TlsError`], what went wrong with either.

mod client;
mod server;

use std::{fmt, path::PathBuf, sync::Arc};

use rustls::{CertificateError, crypto::CryptoProvider};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};

pub use client::ClientTls;
pub use server::ServerTls;

/// Why TLS could not be set up, or why a TLS handshake failed.
///
/// The message says what went wrong in a few words (`certificate not valid
/// for host`, `unknown issuer`); the source, if any, has rustls' details.
/// The predicates tell the common cases apart without matching on wording.
///
/// ```no_run
/// # extern crate rpc_core as rpc;
/// # async fn run() {
/// match rpc::Client::connect("wss://localhost:9000").await {
///     Err(err) if err.tls().is_some_and(rpc::TlsError::is_wrong_host) => {
///         eprintln!("the server's certificate names another host: {err}");
///     }
///     _ => {}
/// }
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[error("{kind}")]
pub struct TlsError {
    kind: Kind,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

#[derive(Debug)]
enum Kind {
    Read(PathBuf),
    Pem(&'static str),
    Identity,
    NoNativeRoots,
    WrongHost,
    UnknownIssuer,
    BadCertificate,
    NotTls,
    Handshake,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Kind::Read(path) => write!(f, "could not read `{}`", path.display()),
            Kind::Pem(why) => f.write_str(why),
            Kind::Identity => f.write_str("the certificate and private key cannot be used"),
            Kind::NoNativeRoots => f.write_str("no usable root certificate on this platform"),
            Kind::WrongHost => f.write_str("certificate not valid for host"),
            Kind::UnknownIssuer => {
                f.write_str("unknown issuer: no trusted root signed the certificate")
            }
            Kind::BadCertificate => f.write_str("certificate refused"),
            Kind::NotTls => f.write_str("the peer does not speak tls"),
            Kind::Handshake => f.write_str("tls handshake failed"),
        }
    }
}

impl TlsError {
    fn new(kind: Kind) -> Self {
        Self { kind, source: None }
    }

    fn caused_by(kind: Kind, source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self {
            kind,
            source: Some(source.into()),
        }
    }

    /// Whether the server's certificate does not name the host connected to.
    pub fn is_wrong_host(&self) -> bool {
        matches!(self.kind, Kind::WrongHost)
    }

    /// Whether the server's certificate was signed by no root the client
    /// trusts: self-signed, or from a private authority whose certificate
    /// was not added with [`ClientTls::add_ca_pem`].
    pub fn is_unknown_issuer(&self) -> bool {
        matches!(self.kind, Kind::UnknownIssuer)
    }

    /// Whether the peer's certificate was refused, for any reason (wrong
    /// host, unknown issuer, expired, ...).
    pub fn is_certificate(&self) -> bool {
        matches!(
            self.kind,
            Kind::WrongHost | Kind::UnknownIssuer | Kind::BadCertificate
        )
    }

    /// Classifies a failed handshake by the rustls error inside, which
    /// becomes the source; an I/O error without one stays the source.
    fn handshake(err: std::io::Error) -> Self {
        let err = match err.downcast::<rustls::Error>() {
            Ok(err) => err,
            Err(io) => return Self::caused_by(Kind::Handshake, io),
        };
        let kind = match &err {
            rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            ) => Kind::WrongHost,
            rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer) => {
                Kind::UnknownIssuer
            }
            rustls::Error::InvalidCertificate(_) => Kind::BadCertificate,
            rustls::Error::InvalidMessage(_) => Kind::NotTls,
            _ => Kind::Handshake,
        };
        Self::caused_by(kind, err)
    }
}

/// The one crypto provider used: ring, named explicitly so that another
/// provider enabled elsewhere in the build cannot make rustls' process-wide
/// default ambiguous.
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Every certificate in `pem`, in order; at least one.
/// A private key (PKCS #8, PKCS #1 or SEC1) from PEM.
fn private_key(pem: &[u8]) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|err| match err {
        rustls_pki_types::pem::Error::NoItemsFound => {
            TlsError::new(Kind::Pem("no private key in the pem"))
        }
        err => TlsError::caused_by(Kind::Pem("malformed pem"), err),
    })
}

fn certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certificates = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| TlsError::caused_by(Kind::Pem("malformed pem"), err))?;
    if certificates.is_empty() {
        return Err(TlsError::new(Kind::Pem("no certificate in the pem")));
    }
    Ok(certificates)
}
