//! TLS for every HTTP client paycore builds (plugins' upstreams, webhooks,
//! the publishing tools).

/// reqwest is built without a bundled TLS crypto provider (the default one
/// costs half a minute of C compilation); ring, already in the tree, is ours.
/// Installing twice is harmless, so every client-building path calls this.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
