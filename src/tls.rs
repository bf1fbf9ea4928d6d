//! The TLS crypto provider of every HTTP client docsync builds.

/// Makes rustls use the provider docsync is built with, once per process;
/// reqwest asks rustls for it when a client is built.
pub(crate) fn install_crypto_provider() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        // Fails only when a provider is already installed, which is as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}
