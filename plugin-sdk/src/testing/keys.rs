//! Real RSA-PKCS1-SHA256 and AES-256-GCM for the fake host, so that plugins
//! can be tested natively against known-answer vectors. The key formats are
//! the runtime's: PKCS#8 or PKCS#1 PEM private keys, SPKI PEM public keys, or
//! the bare base64 bodies channels hand out.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ring::{aead, rand as ring_rand, signature};

/// The DER inside a PEM file (its first key, when a certificate is kept
/// beside the key), or inside a bare base64 body.
fn der(key: &str) -> Option<Vec<u8>> {
    let mut in_key = !key.contains("-----BEGIN");
    let mut body = String::new();
    for line in key.lines() {
        if line.starts_with("-----BEGIN") {
            in_key = line.contains(" KEY-----");
        } else if line.starts_with("-----END") {
            if in_key {
                break;
            }
        } else if in_key {
            body.extend(line.chars().filter(|c| !c.is_ascii_whitespace()));
        }
    }
    STANDARD.decode(body).ok()
}

fn key_pair(private_pem: &str) -> Option<signature::RsaKeyPair> {
    let der = der(private_pem)?;
    signature::RsaKeyPair::from_pkcs8(&der)
        .or_else(|_| signature::RsaKeyPair::from_der(&der))
        .ok()
}

/// RSA-PKCS1-SHA256 signature of `data`, or `None` if `private_pem` is not an
/// RSA private key.
pub fn try_rsa_sign(private_pem: &str, data: &[u8]) -> Option<Vec<u8>> {
    let pair = key_pair(private_pem)?;
    let mut sig = vec![0; pair.public().modulus_len()];
    pair.sign(
        &signature::RSA_PKCS1_SHA256,
        &ring_rand::SystemRandom::new(),
        data,
        &mut sig,
    )
    .ok()?;
    Some(sig)
}

/// Whether `sig` is an RSA-PKCS1-SHA256 signature of `data`, or `None` if
/// `public_pem` is not an RSA public key.
pub fn try_rsa_verify(public_pem: &str, data: &[u8], sig: &[u8]) -> Option<bool> {
    let der = der(public_pem)?;
    // ring verifies against PKCS#1 `RSAPublicKey`; channels publish SPKI.
    let pkcs1 = spki_to_pkcs1(&der).unwrap_or(der);
    let key = signature::UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, pkcs1);
    Some(key.verify(data, sig).is_ok())
}

/// SubjectPublicKeyInfo ::= SEQUENCE { algorithm SEQUENCE, subjectPublicKey BIT STRING }
fn spki_to_pkcs1(der: &[u8]) -> Option<Vec<u8>> {
    let (0x30, body, _) = der_element(der)? else {
        return None;
    };
    let (0x30, _, rest) = der_element(body)? else {
        return None;
    };
    let (0x03, [0, bits @ ..], _) = der_element(rest)? else {
        return None;
    };
    Some(bits.to_vec())
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

fn aes_key(key: &[u8]) -> Option<aead::LessSafeKey> {
    Some(aead::LessSafeKey::new(
        aead::UnboundKey::new(&aead::AES_256_GCM, key).ok()?,
    ))
}

/// AES-256-GCM `ciphertext || tag`, as WeChat Pay encrypts callback resources.
/// Panics unless `key` is 32 bytes and `nonce` 12.
pub fn aes256_gcm_encrypt(key: &[u8], nonce: &[u8], aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let key = aes_key(key).expect("AES-256-GCM needs a 32-byte key");
    let nonce = aead::Nonce::try_assume_unique_for_key(nonce).expect("the nonce must be 12 bytes");
    let mut data = plaintext.to_vec();
    key.seal_in_place_append_tag(nonce, aead::Aad::from(aad), &mut data)
        .expect("AES-GCM seals any length we use");
    data
}

/// Opens `ciphertext || tag`; `Err` says why in words.
pub fn aes256_gcm_decrypt(
    key: &[u8],
    nonce: &[u8],
    aad: &[u8],
    ciphertext: &[u8],
) -> Result<Vec<u8>, &'static str> {
    let key = aes_key(key).ok_or("not a 32-byte AES-256 key")?;
    let nonce =
        aead::Nonce::try_assume_unique_for_key(nonce).map_err(|_| "the nonce must be 12 bytes")?;
    let mut data = ciphertext.to_vec();
    let plain = key
        .open_in_place(nonce, aead::Aad::from(aad), &mut data)
        .map_err(|_| "decryption failed: wrong key or tampered data")?;
    Ok(plain.to_vec())
}
