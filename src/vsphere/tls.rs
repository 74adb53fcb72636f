//! TLS set-up for the connection pool to one vCenter.
//!
//! Three trust modes, most to least safe:
//! - chain verification against the public web roots plus `ca_file` (a
//!   vCenter usually has a VMCA-issued certificate, so `ca_file` is the
//!   normal case);
//! - a SHA-256 pin of the leaf certificate (`thumbprint`, like govc's
//!   known hosts): the chain and host name are not checked, but the
//!   handshake signature still is, so a server without the pinned
//!   certificate's private key cannot pass;
//! - `insecure`: nothing about the certificate is checked. The client warns
//!   on every connect so it cannot go unnoticed in a build log.
//!
//! A pin takes precedence over `insecure` when both are given.

use super::config::TlsOptions;
use super::error::VsphereError;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, OtherError, SignatureScheme};
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// Parses a SHA-256 thumbprint written as hex, with or without `:`
/// separators, in either case.
pub fn parse_thumbprint(text: &str) -> Result<[u8; 32], VsphereError> {
    let hex_only: String = text
        .chars()
        .filter(|c| *c != ':' && !c.is_whitespace())
        .collect();
    let bad = |reason: String| VsphereError::config("tls.thumbprint", reason);
    let bytes = hex::decode(&hex_only).map_err(|e| {
        VsphereError::config_caused("tls.thumbprint", format!("{text:?} is not hex"), e)
    })?;
    match bytes.len() {
        32 => {
            let mut out = [0u8; 32];
            out.copy_from_slice(&bytes);
            Ok(out)
        }
        20 => Err(bad(format!(
            "{text:?} is a SHA-1 thumbprint (20 bytes); give the SHA-256 one (32 bytes), \
             e.g. from `openssl x509 -noout -fingerprint -sha256`"
        ))),
        n => Err(bad(format!(
            "{text:?} has {n} bytes; a SHA-256 thumbprint has 32"
        ))),
    }
}

/// The SHA-256 thumbprint of a DER certificate as `AB:CD:...`, the form
/// [`parse_thumbprint`] accepts and govc prints.
pub fn thumbprint_of(der: &[u8]) -> String {
    Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The rustls configuration for [`TlsOptions`].
///
/// ALPN offers HTTP/2 first: a whole build then multiplexes every call over
/// one connection. Over HTTP/1.1 the pool races a fresh connect against the
/// return of the previous connection, so sequential calls still opened 2-3
/// connections; servers without h2 simply answer http/1.1.
pub fn rustls_config(opts: &TlsOptions) -> Result<rustls::ClientConfig, VsphereError> {
    let mut config = verifier_config(opts)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// The same trust settings for guest transfer URLs, offering HTTP/1.1 only
/// (see `Transport::transfer_http`).
pub fn rustls_config_http1(opts: &TlsOptions) -> Result<rustls::ClientConfig, VsphereError> {
    let mut config = verifier_config(opts)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

fn verifier_config(opts: &TlsOptions) -> Result<rustls::ClientConfig, VsphereError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| VsphereError::config_caused("tls", "no safe TLS protocol version", e))?;
    let pin = opts
        .thumbprint
        .as_deref()
        .map(parse_thumbprint)
        .transpose()?;
    if pin.is_some() || opts.insecure {
        let verifier = PinVerifier { pin, provider };
        return Ok(builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth());
    }
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = &opts.ca_file {
        let shown = path.display().to_string();
        let pem = std::fs::read(path).map_err(|e| {
            VsphereError::config_caused("tls.ca_file", format!("cannot read {shown}"), e)
        })?;
        let mut count = 0;
        for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
            let cert = cert.map_err(|e| {
                VsphereError::config_caused(
                    "tls.ca_file",
                    format!("{shown}: not a PEM certificate bundle"),
                    e,
                )
            })?;
            roots.add(cert).map_err(|e| {
                VsphereError::config_caused(
                    "tls.ca_file",
                    format!("{shown}: certificate rejected"),
                    e,
                )
            })?;
            count += 1;
        }
        if count == 0 {
            return Err(VsphereError::config(
                "tls.ca_file",
                format!("{shown}: no `-----BEGIN CERTIFICATE-----` block found"),
            ));
        }
    }
    Ok(builder.with_root_certificates(roots).with_no_client_auth())
}

/// Why a request failed at the TLS layer because of the server's
/// certificate, if it did. rustls' error sits several layers down (reqwest
/// → hyper-util → io::Error → rustls), and `io::Error::source` skips its
/// own payload, so both links are followed by hand.
pub(crate) fn certificate_problem(err: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(rustls::Error::InvalidCertificate(c)) = e.downcast_ref::<rustls::Error>() {
            return Some(describe_certificate_error(c));
        }
        // io::Errors nest (hyper-util wraps tokio-rustls' io::Error in
        // another), and their payload is reachable only through get_ref.
        cur = match e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => e.source(),
        };
    }
    None
}

fn describe_certificate_error(c: &CertificateError) -> String {
    match c {
        CertificateError::UnknownIssuer => "issued by an unknown CA".into(),
        CertificateError::Expired => "expired".into(),
        CertificateError::NotValidForName => "not valid for this host name".into(),
        CertificateError::Other(other) => other.to_string(),
        other => format!("{other:?}"),
    }
}

#[derive(Debug)]
struct ThumbprintMismatch {
    got: String,
}

impl std::fmt::Display for ThumbprintMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "its SHA-256 thumbprint {} is not the pinned one",
            self.got
        )
    }
}

impl std::error::Error for ThumbprintMismatch {}

/// Accepts the leaf certificate whose SHA-256 is `pin` (or any, when `pin`
/// is `None`: insecure mode) and checks handshake signatures normally.
#[derive(Debug)]
struct PinVerifier {
    pin: Option<[u8; 32]>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for PinVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.pin {
            None => Ok(ServerCertVerified::assertion()),
            Some(pin) if Sha256::digest(end_entity.as_ref()).as_slice() == pin => {
                Ok(ServerCertVerified::assertion())
            }
            Some(_) => Err(rustls::Error::InvalidCertificate(CertificateError::Other(
                OtherError(Arc::new(ThumbprintMismatch {
                    got: thumbprint_of(end_entity.as_ref()),
                })),
            ))),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn thumbprint_parses_with_or_without_colons_in_any_case() {
        let plain = parse_thumbprint(HEX).unwrap();
        let colons: String = HEX
            .to_uppercase()
            .as_bytes()
            .chunks(2)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect::<Vec<_>>()
            .join(":");
        assert_eq!(parse_thumbprint(&colons).unwrap(), plain);
        assert_eq!(plain[0], 0x01);
    }

    #[test]
    fn sha1_thumbprint_is_refused_with_a_hint() {
        let e = parse_thumbprint(&HEX[..40]).unwrap_err().to_string();
        assert!(e.contains("SHA-1") && e.contains("tls.thumbprint"), "{e}");
        let e = parse_thumbprint("zz").unwrap_err();
        assert!(e.to_string().contains("not hex"), "{e}");
        assert!(
            std::error::Error::source(&e).is_some(),
            "the hex error is kept as the cause"
        );
    }

    #[test]
    fn thumbprint_of_round_trips_through_parse() {
        let printed = thumbprint_of(b"not really a certificate");
        assert_eq!(printed.len(), 32 * 3 - 1);
        assert_eq!(
            parse_thumbprint(&printed).unwrap().as_slice(),
            Sha256::digest(b"not really a certificate").as_slice()
        );
    }

    #[test]
    fn ca_file_without_certificates_is_a_config_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("empty.pem");
        std::fs::write(&p, "hello\n").unwrap();
        let opts = TlsOptions {
            ca_file: Some(p.clone()),
            ..TlsOptions::default()
        };
        let e = rustls_config(&opts).unwrap_err().to_string();
        assert!(e.contains("tls.ca_file") && e.contains("empty.pem"), "{e}");
    }

    #[test]
    fn certificate_problem_is_found_inside_an_io_error() {
        let inner = rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer);
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, inner);
        assert_eq!(
            certificate_problem(&io).as_deref(),
            Some("issued by an unknown CA")
        );
        let other = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert_eq!(certificate_problem(&other), None);
    }
}
