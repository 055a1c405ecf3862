//! Signing, verification and decryption with keys the host holds.
//!
//! Keys are the channel's secrets, looked up by the name the plugin gives.
//! RSA keys may be PEM (PKCS#8 / PKCS#1 private, SPKI / PKCS#1 public) or the
//! bare base64 body channels like Alipay hand out; HMAC keys are raw bytes;
//! AES-256-GCM keys are the 32 raw bytes (WeChat Pay's APIv3 key).

use super::bindings::paycore::channel::crypto::{Algorithm, CryptoError};
use crate::config::SecretValue;
use base64::Engine as _;
use ring::{aead, hmac, rand as ring_rand, signature};
use rustls_pki_types::pem::{PemObject, SectionKind};
use std::collections::BTreeMap;

pub(super) struct KeyRing<'a>(pub &'a BTreeMap<String, SecretValue>);

impl KeyRing<'_> {
    fn key(&self, name: &str) -> Result<&[u8], CryptoError> {
        self.0
            .get(name)
            .map(|v| v.expose())
            .ok_or_else(|| CryptoError::UnknownKey(name.to_string()))
    }

    pub fn sign(&self, name: &str, alg: Algorithm, data: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let key = self.key(name)?;
        match alg {
            Algorithm::HmacSha256 => Ok(hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data)
                .as_ref()
                .to_vec()),
            Algorithm::RsaPkcs1Sha256 => {
                let pair =
                    rsa_private_key(key).ok_or_else(|| unsupported(name, "an RSA private key"))?;
                let mut sig = vec![0; pair.public().modulus_len()];
                pair.sign(
                    &signature::RSA_PKCS1_SHA256,
                    &ring_rand::SystemRandom::new(),
                    data,
                    &mut sig,
                )
                .map_err(|_| CryptoError::Failed("RSA signing failed".into()))?;
                Ok(sig)
            }
            Algorithm::Aes256Gcm => Err(unsupported(name, "a signing key (AES-GCM only decrypts)")),
        }
    }

    pub fn verify(
        &self,
        name: &str,
        alg: Algorithm,
        data: &[u8],
        sig: &[u8],
    ) -> Result<bool, CryptoError> {
        let key = self.key(name)?;
        match alg {
            Algorithm::HmacSha256 => {
                Ok(hmac::verify(&hmac::Key::new(hmac::HMAC_SHA256, key), data, sig).is_ok())
            }
            Algorithm::RsaPkcs1Sha256 => {
                let public =
                    rsa_public_key(key).ok_or_else(|| unsupported(name, "an RSA public key"))?;
                let public = signature::UnparsedPublicKey::new(
                    &signature::RSA_PKCS1_2048_8192_SHA256,
                    public,
                );
                Ok(public.verify(data, sig).is_ok())
            }
            Algorithm::Aes256Gcm => Err(unsupported(
                name,
                "a verification key (AES-GCM only decrypts)",
            )),
        }
    }

    pub fn decrypt(
        &self,
        name: &str,
        alg: Algorithm,
        nonce: &[u8],
        aad: &[u8],
        ciphertext: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        let key = self.key(name)?;
        if alg != Algorithm::Aes256Gcm {
            return Err(CryptoError::Unsupported("only aes256-gcm decrypts".into()));
        }
        let key = aead::UnboundKey::new(&aead::AES_256_GCM, key)
            .map_err(|_| unsupported(name, "a 32-byte AES-256 key"))?;
        let nonce = aead::Nonce::try_assume_unique_for_key(nonce)
            .map_err(|_| CryptoError::Failed("the nonce must be 12 bytes".into()))?;
        let mut buffer = ciphertext.to_vec();
        let plain = aead::LessSafeKey::new(key)
            .open_in_place(nonce, aead::Aad::from(aad), &mut buffer)
            .map_err(|_| {
                CryptoError::Failed("decryption failed: wrong key or tampered data".into())
            })?;
        Ok(plain.to_vec())
    }
}

/// Why signing or sealing as a channel's provider failed.
#[derive(Debug, thiserror::Error)]
pub enum ProviderCryptoError {
    #[error("unknown signing algorithm `{0}`")]
    UnknownAlgorithm(String),
    /// The key does not sign with the algorithm; what the key ring said,
    /// as it prints itself.
    #[error("{0}")]
    Signing(String),
    #[error("the key is not 32 bytes")]
    KeyNot32Bytes,
    #[error("the nonce must be 12 bytes")]
    BadNonce,
    #[error("encryption failed")]
    Encryption,
}

/// Signs as the far side of a channel does, outside any plugin call: the
/// conformance suite's scripted upstream signs its answers and callbacks
/// with the provider's test keys. `alg` is `hmac-sha256` or `rsa-pkcs1-sha256`.
pub fn sign_as_provider(
    key: &SecretValue,
    alg: &str,
    data: &[u8],
) -> Result<Vec<u8>, ProviderCryptoError> {
    let name = "provider";
    let ring = BTreeMap::from([(name.to_string(), key.clone())]);
    let alg = match alg {
        "hmac-sha256" => Algorithm::HmacSha256,
        "rsa-pkcs1-sha256" => Algorithm::RsaPkcs1Sha256,
        other => return Err(ProviderCryptoError::UnknownAlgorithm(other.to_string())),
    };
    KeyRing(&ring)
        .sign(name, alg, data)
        .map_err(|e| ProviderCryptoError::Signing(format!("{e:?}")))
}

/// Seals `plain` with AES-256-GCM (ciphertext then tag), as WeChat Pay
/// encrypts a callback's resource.
pub fn encrypt_as_provider(
    key: &SecretValue,
    nonce: &[u8],
    aad: &[u8],
    plain: &[u8],
) -> Result<Vec<u8>, ProviderCryptoError> {
    let key = aead::UnboundKey::new(&aead::AES_256_GCM, key.expose())
        .map_err(|_| ProviderCryptoError::KeyNot32Bytes)?;
    let nonce =
        aead::Nonce::try_assume_unique_for_key(nonce).map_err(|_| ProviderCryptoError::BadNonce)?;
    let mut buffer = plain.to_vec();
    aead::LessSafeKey::new(key)
        .seal_in_place_append_tag(nonce, aead::Aad::from(aad), &mut buffer)
        .map_err(|_| ProviderCryptoError::Encryption)?;
    Ok(buffer)
}

/// Names the key, never its bytes.
fn unsupported(name: &str, wanted: &str) -> CryptoError {
    CryptoError::Unsupported(format!("secret `{name}` is not {wanted}"))
}

/// PEM sections of a key file, or a bare base64 body taken as DER.
fn der_sections(key: &[u8]) -> Vec<(Option<SectionKind>, Vec<u8>)> {
    let pem: Vec<_> = <(SectionKind, Vec<u8>)>::pem_slice_iter(key)
        .filter_map(Result::ok)
        .collect();
    if !pem.is_empty() {
        return pem
            .into_iter()
            .map(|(kind, der)| (Some(kind), der))
            .collect();
    }
    let text: Vec<u8> = key
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    match base64::engine::general_purpose::STANDARD.decode(&text) {
        Ok(der) => vec![(None, der)],
        Err(_) => vec![(None, key.to_vec())],
    }
}

fn rsa_private_key(key: &[u8]) -> Option<signature::RsaKeyPair> {
    der_sections(key)
        .into_iter()
        .find_map(|(kind, der)| match kind {
            Some(SectionKind::RsaPrivateKey) => signature::RsaKeyPair::from_der(&der).ok(),
            Some(SectionKind::PrivateKey) => signature::RsaKeyPair::from_pkcs8(&der).ok(),
            None => signature::RsaKeyPair::from_pkcs8(&der)
                .or_else(|_| signature::RsaKeyPair::from_der(&der))
                .ok(),
            _ => None,
        })
}

/// ring verifies against a PKCS#1 `RSAPublicKey`; channels publish SPKI.
fn rsa_public_key(key: &[u8]) -> Option<Vec<u8>> {
    der_sections(key)
        .into_iter()
        .find_map(|(kind, der)| match kind {
            Some(SectionKind::PublicKey) | None => {
                spki_to_pkcs1(&der).or(if kind.is_none() { Some(der) } else { None })
            }
            _ => None,
        })
}

/// SubjectPublicKeyInfo ::= SEQUENCE { algorithm SEQUENCE, subjectPublicKey BIT STRING }
fn spki_to_pkcs1(der: &[u8]) -> Option<Vec<u8>> {
    let (tag, body, _) = der_element(der)?;
    if tag != 0x30 {
        return None;
    }
    let (alg_tag, _, rest) = der_element(body)?;
    let (bits_tag, bits, _) = der_element(rest)?;
    if alg_tag != 0x30 || bits_tag != 0x03 || bits.first() != Some(&0) {
        return None;
    }
    Some(bits[1..].to_vec())
}

/// One DER element: (tag, contents, remaining input).
fn der_element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (first as usize, rest)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | *b as usize);
        (len, &rest[n..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring_with(name: &str, value: &[u8]) -> BTreeMap<String, SecretValue> {
        BTreeMap::from([(name.to_string(), SecretValue::new(value.to_vec()))])
    }

    #[test]
    fn hmac_sign_and_verify_round_trip() {
        let keys = ring_with("k", b"secret");
        let ring = KeyRing(&keys);
        let sig = ring.sign("k", Algorithm::HmacSha256, b"body").unwrap();
        assert_eq!(hex::encode(&sig).len(), 64);
        assert!(
            ring.verify("k", Algorithm::HmacSha256, b"body", &sig)
                .unwrap()
        );
        assert!(
            !ring
                .verify("k", Algorithm::HmacSha256, b"bodY", &sig)
                .unwrap()
        );
    }

    #[test]
    fn unknown_keys_are_named_and_never_echo_values() {
        let keys = ring_with("k", b"secret");
        let err = KeyRing(&keys)
            .sign("other", Algorithm::HmacSha256, b"x")
            .unwrap_err();
        assert!(matches!(err, CryptoError::UnknownKey(ref n) if n == "other"));
        let err = KeyRing(&keys)
            .sign("k", Algorithm::RsaPkcs1Sha256, b"x")
            .unwrap_err();
        assert!(!format!("{err:?}").contains("secret\""));
    }

    #[test]
    fn aes_gcm_decrypts_what_ring_sealed_and_refuses_tampering() {
        let key = [7u8; 32];
        let keys = ring_with("v3", &key);
        let sealing =
            aead::LessSafeKey::new(aead::UnboundKey::new(&aead::AES_256_GCM, &key).unwrap());
        let nonce = [1u8; 12];
        let mut data = b"resource".to_vec();
        sealing
            .seal_in_place_append_tag(
                aead::Nonce::assume_unique_for_key(nonce),
                aead::Aad::from(b"aad"),
                &mut data,
            )
            .unwrap();
        let ring = KeyRing(&keys);
        assert_eq!(
            ring.decrypt("v3", Algorithm::Aes256Gcm, &nonce, b"aad", &data)
                .unwrap(),
            b"resource"
        );
        data[0] ^= 1;
        assert!(
            ring.decrypt("v3", Algorithm::Aes256Gcm, &nonce, b"aad", &data)
                .is_err()
        );
    }

    #[test]
    fn der_walker_rejects_truncated_input() {
        assert!(der_element(&[0x30, 0x05, 1, 2]).is_none());
        assert_eq!(
            der_element(&[0x02, 0x01, 9, 0xff]),
            Some((0x02, &[9u8][..], &[0xffu8][..]))
        );
        assert!(spki_to_pkcs1(&[0x30, 0x00]).is_none());
    }
}
