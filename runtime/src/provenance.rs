//! Who built a plugin: ed25519 signatures carried inside the `.wasm`.
//!
//! `paycore plugin sign` appends one custom section, `paycore-signature`,
//! holding the publisher's public key (32 bytes) and an ed25519 signature
//! (64 bytes) over every byte before the section. A custom section changes
//! nothing the plugin does, travels with the file wherever it goes (the
//! plugins folder, the database) and needs no side file to keep in step.
//! With `[plugin_policy] require_signature = true` the reloader refuses a
//! plugin that is unsigned, signed by a key not in `trusted_publishers`, or
//! altered after signing, and says which at `/admin/plugins`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};

/// The custom section's name.
pub const SECTION: &str = "paycore-signature";
pub use paycore_core::provenance::{ProvenancePolicy, PublicKey};

/// What a plugin's signature says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Provenance {
    Unsigned,
    SignedBy(PublicKey),
}

/// Why a plugin's signature cannot be made or read, or why the policy
/// refuses the plugin.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProvenanceError {
    #[error("the signing key is not base64 (make one with `paycore plugin keygen`)")]
    KeyNotBase64,
    #[error("the signing key is not an ed25519 PKCS#8 key")]
    KeyNotEd25519,
    #[error("not a WebAssembly file")]
    NotWebAssembly,
    #[error("a section's size is malformed")]
    MalformedSectionSize,
    #[error("a section runs past the end of the file")]
    SectionPastEnd,
    #[error("the signature section is malformed")]
    MalformedSignature,
    #[error("the signature does not match the plugin: it was altered after signing")]
    Altered,
    #[error(
        "the plugin is not signed, and [plugin_policy] require_signature is on; sign it with `paycore plugin sign`"
    )]
    Unsigned,
    #[error("the plugin is signed by {0}, which is not among [plugin_policy] trusted_publishers")]
    UntrustedPublisher(PublicKey),
}

/// A new signing key: its PKCS#8 document (base64; keep it secret) and its
/// public key (give it to operators for `trusted_publishers`).
pub fn keygen() -> (String, PublicKey) {
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).expect("the system RNG works");
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("a fresh key parses");
    let public = PublicKey(pair.public_key().as_ref().try_into().expect("32 bytes"));
    (BASE64.encode(pkcs8.as_ref()), public)
}

/// `wasm` signed with the key in `pkcs8_base64` (a previous signature is
/// replaced).
pub fn sign(wasm: &[u8], pkcs8_base64: &str) -> Result<Vec<u8>, ProvenanceError> {
    let pkcs8 = BASE64
        .decode(pkcs8_base64.trim())
        .map_err(|_| ProvenanceError::KeyNotBase64)?;
    let pair = Ed25519KeyPair::from_pkcs8(&pkcs8).map_err(|_| ProvenanceError::KeyNotEd25519)?;
    let unsigned = &wasm[..split(wasm)?.unsigned_len];
    let signature = pair.sign(unsigned);
    let mut payload = Vec::with_capacity(96);
    payload.extend_from_slice(pair.public_key().as_ref());
    payload.extend_from_slice(signature.as_ref());
    let mut out = unsigned.to_vec();
    append_custom_section(&mut out, SECTION, &payload);
    Ok(out)
}

/// Reads and checks `wasm`'s signature. `Err` if it is signed but the
/// signature does not verify (altered after signing) or is malformed.
pub fn provenance(wasm: &[u8]) -> Result<Provenance, ProvenanceError> {
    let parts = split(wasm)?;
    let Some(payload) = parts.signature else {
        return Ok(Provenance::Unsigned);
    };
    let (key, signature) = payload
        .split_first_chunk::<32>()
        .filter(|(_, sig)| sig.len() == 64)
        .ok_or(ProvenanceError::MalformedSignature)?;
    UnparsedPublicKey::new(&ED25519, key)
        .verify(&wasm[..parts.unsigned_len], signature)
        .map_err(|_| ProvenanceError::Altered)?;
    Ok(Provenance::SignedBy(PublicKey(*key)))
}

/// `Err` names why `policy` refuses `wasm`.
pub fn admit(policy: &ProvenancePolicy, wasm: &[u8]) -> Result<Provenance, ProvenanceError> {
    if !policy.require_signature {
        // Nothing to enforce: a file that is no WebAssembly at all is
        // for the loader to refuse, in its own words.
        return Ok(provenance(wasm).unwrap_or(Provenance::Unsigned));
    }
    let provenance = provenance(wasm)?;
    match &provenance {
        Provenance::Unsigned => Err(ProvenanceError::Unsigned),
        Provenance::SignedBy(key) if !policy.trusted_publishers.contains(key) => {
            Err(ProvenanceError::UntrustedPublisher(key.clone()))
        }
        Provenance::SignedBy(_) => Ok(provenance),
    }
}

struct Parts<'a> {
    /// Bytes covered by the signature: all, when unsigned.
    unsigned_len: usize,
    signature: Option<&'a [u8]>,
}

/// Finds a trailing `paycore-signature` section by walking the top-level
/// sections (id byte, LEB128 size, contents) after the 8-byte preamble.
fn split(wasm: &[u8]) -> Result<Parts<'_>, ProvenanceError> {
    if wasm.len() < 8 || &wasm[..4] != b"\0asm" {
        return Err(ProvenanceError::NotWebAssembly);
    }
    let mut at = 8;
    let mut last = None;
    while at < wasm.len() {
        let start = at;
        let id = wasm[at];
        let (size, len) = leb128(&wasm[at + 1..]).ok_or(ProvenanceError::MalformedSectionSize)?;
        let body = at + 1 + len;
        let end = body
            .checked_add(size)
            .filter(|e| *e <= wasm.len())
            .ok_or(ProvenanceError::SectionPastEnd)?;
        last = Some((start, id, body, end));
        at = end;
    }
    if let Some((start, 0, body, end)) = last
        && let Some((name_len, len)) = leb128(&wasm[body..end])
        && let Some(name) = wasm.get(body + len..body + len + name_len)
        && name == SECTION.as_bytes()
    {
        return Ok(Parts {
            unsigned_len: start,
            signature: Some(&wasm[body + len + name_len..end]),
        });
    }
    Ok(Parts {
        unsigned_len: wasm.len(),
        signature: None,
    })
}

/// An unsigned LEB128 number (at most 5 bytes) and how many bytes it took.
fn leb128(bytes: &[u8]) -> Option<(usize, usize)> {
    let mut value: usize = 0;
    for (i, b) in bytes.iter().take(5).enumerate() {
        value |= usize::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

fn append_custom_section(out: &mut Vec<u8>, name: &str, payload: &[u8]) {
    let mut content = Vec::new();
    write_leb128(&mut content, name.len());
    content.extend_from_slice(name.as_bytes());
    content.extend_from_slice(payload);
    out.push(0);
    write_leb128(out, content.len());
    out.extend_from_slice(&content);
}

fn write_leb128(out: &mut Vec<u8>, mut value: usize) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal component: the preamble and one custom section.
    fn component() -> Vec<u8> {
        let mut wasm = b"\0asm\x0d\0\x01\0".to_vec();
        append_custom_section(&mut wasm, "something", &[1, 2, 3]);
        wasm
    }

    #[test]
    fn signed_by_the_key_that_signed_it_and_refused_once_altered() {
        let (secret, public) = keygen();
        let wasm = component();
        assert_eq!(provenance(&wasm), Ok(Provenance::Unsigned));
        let signed = sign(&wasm, &secret).unwrap();
        assert_eq!(
            provenance(&signed),
            Ok(Provenance::SignedBy(public.clone()))
        );
        assert!(
            signed.starts_with(&wasm),
            "the plugin's own bytes are untouched"
        );

        // Signing again replaces the signature rather than stacking one.
        let (other_secret, other) = keygen();
        let resigned = sign(&signed, &other_secret).unwrap();
        assert_eq!(resigned.len(), signed.len());
        assert_eq!(provenance(&resigned), Ok(Provenance::SignedBy(other)));

        let mut altered = signed.clone();
        altered[12] ^= 1;
        assert_eq!(provenance(&altered), Err(ProvenanceError::Altered));
        assert!(
            ProvenanceError::Altered
                .to_string()
                .contains("altered after signing")
        );
    }

    #[test]
    fn the_policy_names_why_it_refuses() {
        let (secret, public) = keygen();
        let (_, stranger) = keygen();
        let signed = sign(&component(), &secret).unwrap();
        let open = ProvenancePolicy::default();
        assert!(admit(&open, &component()).is_ok());
        assert_eq!(admit(&open, b"garbage"), Ok(Provenance::Unsigned));
        let strict = ProvenancePolicy {
            require_signature: true,
            trusted_publishers: vec![public.clone()],
        };
        assert!(
            admit(&strict, &component())
                .unwrap_err()
                .to_string()
                .contains("not signed")
        );
        assert_eq!(admit(&strict, &signed), Ok(Provenance::SignedBy(public)));
        let other = ProvenancePolicy {
            require_signature: true,
            trusted_publishers: vec![stranger],
        };
        assert!(
            admit(&other, &signed)
                .unwrap_err()
                .to_string()
                .contains("not among")
        );
    }

    #[test]
    fn keys_read_back_as_written() {
        let (_, public) = keygen();
        assert_eq!(public.to_string().parse::<PublicKey>(), Ok(public));
        assert!("ed25519:short".parse::<PublicKey>().is_err());
        assert!(provenance(b"not wasm").is_err());
    }
}
