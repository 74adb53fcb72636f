//! A throw-away certificate authority and server certificate, made at start.
//!
//! The CA's PEM is written to a file so a client under test can trust it
//! exactly like a corporate CA bundle (no "insecure" shortcut needed); the
//! server certificate names 127.0.0.1, ::1 and localhost.

use super::error::SimulatorError;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose, SanType};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::path::Path;
use std::sync::Arc;

pub struct Certificates {
    pub ca_pem: String,
    pub server_config: Arc<rustls::ServerConfig>,
}

fn tls_err(what: &str) -> impl Fn(rcgen::Error) -> SimulatorError + '_ {
    move |e| SimulatorError::Tls(format!("{what}: {e}"))
}

pub fn generate() -> Result<Certificates, SimulatorError> {
    let mut ca_params =
        CertificateParams::new(Vec::<String>::new()).map_err(tls_err("CA parameters"))?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "gild simulator CA");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_key = KeyPair::generate().map_err(tls_err("CA key"))?;
    let ca_cert = ca_params
        .self_signed(&ca_key)
        .map_err(tls_err("CA certificate"))?;

    let mut params = CertificateParams::new(vec!["localhost".to_string()])
        .map_err(tls_err("server parameters"))?;
    params
        .distinguished_name
        .push(DnType::CommonName, "gild simulated vCenter");
    for ip in [
        std::net::IpAddr::from([127, 0, 0, 1]),
        std::net::IpAddr::from(std::net::Ipv6Addr::LOCALHOST),
    ] {
        params.subject_alt_names.push(SanType::IpAddress(ip));
    }
    let key = KeyPair::generate().map_err(tls_err("server key"))?;
    let cert = params
        .signed_by(&key, &ca_cert, &ca_key)
        .map_err(tls_err("server certificate"))?;

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut server_config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| SimulatorError::Tls(format!("protocol versions: {e}")))?
        .with_no_client_auth()
        .with_single_cert(
            vec![
                cert.der().clone(),
                CertificateDer::from(ca_cert.der().to_vec()),
            ],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .map_err(|e| SimulatorError::Tls(format!("server certificate: {e}")))?;
    server_config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Certificates {
        ca_pem: ca_cert.pem(),
        server_config: Arc::new(server_config),
    })
}

pub fn write_ca(dir: &Path, pem: &str) -> Result<std::path::PathBuf, SimulatorError> {
    let path = dir.join("simulator-ca.pem");
    std::fs::create_dir_all(dir).map_err(|source| SimulatorError::Write {
        path: dir.display().to_string(),
        source,
    })?;
    std::fs::write(&path, pem).map_err(|source| SimulatorError::Write {
        path: path.display().to_string(),
        source,
    })?;
    Ok(path)
}
