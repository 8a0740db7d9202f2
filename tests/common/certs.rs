//! Certificates made at test time with rcgen: a private authority, server
//! certificates it signs, a self-signed one; and a directory for PEM files.

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rpc::{Client, ClientTls};

/// A certificate authority of the test's own.
pub struct Authority {
    /// The authority's certificate, in PEM.
    pub pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl Authority {
    pub fn new() -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "rpc test authority");
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate().unwrap();
        let pem = params.self_signed(&key).unwrap().pem();
        Self {
            pem,
            issuer: Issuer::new(params, key),
        }
    }

    /// A server certificate for `host`, and its key, in PEM.
    pub fn sign(&self, host: &str) -> (String, String) {
        let key = KeyPair::generate().unwrap();
        let cert = server_params(host).signed_by(&key, &self.issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    }

    /// A client certificate for `name`, and its key, in PEM.
    pub fn sign_client(&self, name: &str) -> (String, String) {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    }

    /// A client that trusts this authority alone.
    pub fn client(&self) -> rpc::ClientBuilder {
        Client::builder().tls(ClientTls::empty().add_ca_pem(self.pem.as_bytes()).unwrap())
    }
}

fn server_params(host: &str) -> CertificateParams {
    let mut params = CertificateParams::new(vec![host.to_owned()]).unwrap();
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params
}

/// A certificate for `localhost` that no authority signed.
pub fn self_signed() -> (String, String) {
    let key = KeyPair::generate().unwrap();
    let cert = server_params("localhost").self_signed(&key).unwrap();
    (cert.pem(), key.serialize_pem())
}

/// A temporary directory, removed with it.
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("rpc-test-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl TempDir {
    /// Writes a certificate and key as `cert.pem` and `key.pem`; their paths.
    pub fn write_pem(&self, (cert, key): (String, String)) -> (String, String) {
        let (cert_path, key_path) = (self.0.join("cert.pem"), self.0.join("key.pem"));
        std::fs::write(&cert_path, cert).unwrap();
        std::fs::write(&key_path, key).unwrap();
        let path = |path: std::path::PathBuf| path.to_str().unwrap().to_owned();
        (path(cert_path), path(key_path))
    }
}
