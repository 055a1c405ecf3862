//! Where paycore's own outbound requests may go: plugins' HTTP and merchant
//! webhooks. Both carry URLs someone else chose (a plugin, a tenant), so by
//! default neither may reach loopback, private, link-local (cloud metadata
//! at 169.254.169.254 among them), shared or multicast addresses, unless
//! the operator allows specific networks (`[outbound] allow_addresses`).
//!
//! The check happens on the resolved address, inside the HTTP client's DNS
//! resolver: the client connects only to the addresses that passed, so a
//! name that resolves to a public address when checked and to a private one
//! a moment later (DNS rebinding) cannot slip through. Literal IP addresses
//! never reach a resolver and are checked before sending. Proxies from the
//! environment are ignored (a proxy would resolve the name itself) and
//! redirects are never followed.

pub use paycore_core::outbound::{AddressPolicy, OutboundConfig, non_public};
use std::net::SocketAddr;
use std::sync::Arc;

/// Why the address policy refuses a URL, in the policy's words: it has no
/// host, or its host is or resolves to an address the policy forbids.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct UrlRefused {
    pub reason: String,
}

/// Resolves `url`'s host now and checks every address: for refusing a
/// webhook URL when it is given, not only when it is used. A name that
/// does not resolve now is let through (the delivery checks again).
pub async fn check_url_now(policy: &AddressPolicy, url: &url::Url) -> Result<(), UrlRefused> {
    let refused = |reason| UrlRefused { reason };
    policy.check_url(url).map_err(refused)?;
    let (Some(url::Host::Domain(name)), Some(port)) = (url.host(), url.port_or_known_default())
    else {
        return Ok(());
    };
    let lookup = tokio::net::lookup_host((name, port));
    let Ok(Ok(addrs)) = tokio::time::timeout(std::time::Duration::from_secs(2), lookup).await
    else {
        return Ok(());
    };
    for addr in addrs {
        policy.check(addr.ip()).map_err(refused)?;
    }
    Ok(())
}

/// An HTTP client builder that resolves through `policy`, ignores proxies
/// and follows no redirects.
pub fn client_builder(policy: &AddressPolicy) -> reqwest::ClientBuilder {
    crate::tls::install_crypto_provider();
    reqwest::Client::builder()
        .dns_resolver(Arc::new(CheckedResolver {
            policy: Arc::new(policy.clone()),
        }))
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
}

/// Resolves like the system does, then keeps only permitted addresses; if
/// none is left the request fails before any connection is made.
struct CheckedResolver {
    policy: Arc<AddressPolicy>,
}

impl reqwest::dns::Resolve for CheckedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.policy.clone();
        Box::pin(async move {
            let host = name.as_str().to_string();
            let resolved: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let mut refusals = Vec::new();
            let permitted: Vec<SocketAddr> = resolved
                .into_iter()
                .filter(|a| match policy.check(a.ip()) {
                    Ok(()) => true,
                    Err(why) => {
                        refusals.push(why);
                        false
                    }
                })
                .collect();
            if permitted.is_empty() {
                tracing::warn!(host = %host, refused = ?refusals, "outbound request refused: the name resolves to no permitted address");
                let why = refusals
                    .into_iter()
                    .next()
                    .unwrap_or_else(|| "it resolves to no address".into());
                return Err(format!("`{host}`: {why}").into());
            }
            let addrs: reqwest::dns::Addrs = Box::new(permitted.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn names_are_checked_on_the_addresses_they_resolve_to() {
        let strict = AddressPolicy::strict();
        let client = client_builder(&strict).build().unwrap();
        // `localhost` resolves to loopback: refused before connecting.
        let err = client.get("http://localhost:9/").send().await.unwrap_err();
        let text = format!("{err:?}");
        assert!(text.contains("loopback"), "{text}");
        let url = url::Url::parse("http://localhost:9/hook").unwrap();
        assert!(check_url_now(&strict, &url).await.is_err());
        let allowed = AddressPolicy::allowing_loopback();
        assert!(check_url_now(&allowed, &url).await.is_ok());
    }
}
