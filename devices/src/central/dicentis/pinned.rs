//! TLS to a DICENTIS server, whose certificate is self-signed: the connection is accepted
//! only if the server's certificate is the one the technician pinned (its SHA-256, as the
//! browser or `openssl x509 -fingerprint -sha256` shows it). The handshake's signatures are
//! still checked with that certificate's key.

use std::sync::Arc;

use rustls::DigitallySignedStruct;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use sha2::{Digest, Sha256};

/// Reads a fingerprint written as 64 hex digits, with or without `:` between the bytes, or
/// as openssl prints it (`sha256 Fingerprint=AB:CD:…`).
pub fn parse_fingerprint(text: &str) -> Option<[u8; 32]> {
    let text = text.rsplit_once('=').map_or(text, |(_, hex)| hex);
    let hex: String = text.chars().filter(|c| *c != ':' && !c.is_whitespace()).collect();
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

#[derive(Debug)]
struct Pinned {
    fingerprint: [u8; 32],
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let seen: [u8; 32] = Sha256::digest(end_entity.as_ref()).into();
        if seen == self.fingerprint {
            Ok(ServerCertVerified::assertion())
        } else {
            let hex: Vec<String> = seen.iter().map(|b| format!("{b:02X}")).collect();
            Err(rustls::Error::General(format!(
                "the server's certificate is not the pinned one (it is {})",
                hex.join(":")
            )))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

/// A client configuration that trusts exactly the certificate with this fingerprint.
///
/// # Errors
///
/// When the crypto provider offers none of the safe protocol versions (never with ring).
pub fn client_config(fingerprint: [u8; 32]) -> Result<rustls::ClientConfig, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(Pinned { fingerprint, provider: provider.clone() });
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_as_tools_print_them() {
        let colons = "AB:".repeat(31) + "CD";
        assert_eq!(parse_fingerprint(&colons).map(|f| (f[0], f[31])), Some((0xAB, 0xCD)));
        assert_eq!(parse_fingerprint(&"ab".repeat(32)).map(|f| f[5]), Some(0xAB));
        assert_eq!(parse_fingerprint(&format!("sha256 Fingerprint={colons}")).map(|f| f[31]), Some(0xCD));
        assert!(parse_fingerprint("AB:CD").is_none());
        assert!(parse_fingerprint(&"zz".repeat(32)).is_none());
    }

    #[test]
    fn only_the_pinned_certificate_passes() {
        let cert = CertificateDer::from(vec![1u8, 2, 3]);
        let fingerprint: [u8; 32] = Sha256::digest([1u8, 2, 3]).into();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let pinned = Pinned { fingerprint, provider: provider.clone() };
        let name = ServerName::try_from("10.0.0.9").expect("name");
        assert!(pinned.verify_server_cert(&cert, &[], &name, &[], UnixTime::now()).is_ok());
        let other = Pinned { fingerprint: [0; 32], provider };
        assert!(other.verify_server_cert(&cert, &[], &name, &[], UnixTime::now()).is_err());
    }
}
