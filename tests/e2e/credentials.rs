//! API keys kept as hashes: a tenant file listing only `sha256:` references
//! authenticates the keys they name, a rotated key works until its expiry
//! and not after, and nothing but the digest is needed to serve.

use paycore::config::api_keys;
use paycore_e2e::*;

const CURRENT: &str = "sk_test_rotation_current_key";
const RETIRING: &str = "sk_test_rotation_retiring_key";
const EXPIRED: &str = "sk_test_rotation_expired_key";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hashed_keys_authenticate_and_expired_ones_do_not() {
    let tenant = TenantToml::sandbox("rotating", "")
        .api_keys(&format!(
            r#"[
  "{current}",
  {{ key = "{retiring}", expires_at = "2999-01-01T00:00:00Z" }},
  {{ key = "{expired}", expires_at = "2001-01-01T00:00:00Z" }},
]"#,
            current = api_keys::reference(CURRENT),
            retiring = api_keys::reference(RETIRING),
            expired = api_keys::reference(EXPIRED),
        ))
        .to_string();
    assert!(!tenant.contains(CURRENT), "the file holds hashes only");
    let t = TestApp::start_with(Options {
        extra_tenants: vec![("rotating".into(), tenant)],
        ..Options::default()
    })
    .await;
    for (n, (key, expected)) in [
        (CURRENT, StatusCode::CREATED),
        (RETIRING, StatusCode::CREATED),
        (EXPIRED, StatusCode::UNAUTHORIZED),
        // The reference itself is no key.
        (
            api_keys::reference(CURRENT).as_str(),
            StatusCode::UNAUTHORIZED,
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let r = t
            .post(
                key,
                "/v1/payments",
                barcode(&format!("ROT-{n}"), 100, "134567890124"),
            )
            .await;
        assert_eq!(r.status, expected, "key {n}: {}", r.body);
    }
    t.stop().await;
}
