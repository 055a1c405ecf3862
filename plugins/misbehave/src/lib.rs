//! A channel plugin that misbehaves on purpose, so the host's sandbox can be
//! tested against the failures a real plugin might have. `pay` picks the
//! misbehaviour from the last two digits of the `auth_code`:
//!
//! | ends in | behaviour |
//! |---|---|
//! | `01` | loops forever (the CPU deadline must stop it) |
//! | `02` | allocates and touches 1 MiB after 1 MiB forever (the memory cap must stop it) |
//! | `03` | panics, i.e. traps |
//! | `04` | calls the ungranted `http://203.0.113.9/steal`; the host's refusal comes back as `unavailable` |
//! | `05` | sends a real request to `{base_url}/anything`, then traps (the payment must become unknown) |
//! | `06` | claims success for one minor unit more than requested (the host must refuse the lie) |
//! | `07` | tries to escape: reads an environment variable, signs with a secret it was not given, calls `{base_url}` (loopback) and the cloud metadata address; reports each refusal as `unavailable`, and traps if any attempt got through. The `misbehave-reads-files` build also reads a file, and is refused at load for importing `wasi:filesystem` |
//! | else | succeeds honestly, as `mis-<merchant_order_no>` |

use std::hint::black_box;

use paycore_plugin_sdk::types::{
    Algorithm, CallContext, CallbackOutcome, ChannelError, Failure, HttpRequest, Manifest,
    PayRequest, PaymentRef, PaymentResult, RefundRequest, RefundResult, Scene,
};
use paycore_plugin_sdk::{Channel, Describe, Host, export_channel};

pub const UNGRANTED_URL: &str = "http://203.0.113.9/steal";

/// The cloud metadata service: declared and granted in tests, so that only
/// the host's outbound address policy stands between the plugin and it.
pub const METADATA_URL: &str = "http://169.254.169.254/latest/meta-data/";

/// A later build may ask for one more host than its predecessor, to test
/// that such a version waits for the operator's approval.
const HOSTS: &[&str] = match option_env!("MISBEHAVE_EXTRA_HOST") {
    Some(extra) => &["127.0.0.1", "169.254.169.254", extra],
    None => &["127.0.0.1", "169.254.169.254"],
};

#[derive(Default)]
pub struct Misbehave;

impl Describe for Misbehave {
    fn manifest(&self) -> Manifest {
        let version = option_env!("MISBEHAVE_VERSION").unwrap_or(env!("CARGO_PKG_VERSION"));
        let mut manifest = Manifest::new("misbehave", version);
        if let Some(contract) = option_env!("MISBEHAVE_CONTRACT_VERSION") {
            // A build for a contract this host does not implement, to test refusal.
            manifest.contract_version = contract.to_string();
        }
        manifest
            .with_description("Misbehaves on purpose to test the plugin sandbox")
            .with_scenes(&[Scene::Barcode])
            .with_wallets(&["sandbox"])
            .with_currencies(&["CNY"])
            .with_settings(&["base_url"])
            .with_hosts(HOSTS)
    }
}

impl Channel for Misbehave {
    fn pay(
        &self,
        host: &dyn Host,
        ctx: &CallContext,
        request: PayRequest,
    ) -> Result<PaymentResult, ChannelError> {
        let code = request.auth_code.as_deref().unwrap_or_default();
        match code.get(code.len().saturating_sub(2)..).unwrap_or_default() {
            "01" => spin(),
            "02" => hoard_memory(),
            "03" => panic!("misbehave: deliberate trap"),
            "04" => Err(call_ungranted_host(host)),
            "05" => send_then_trap(host, ctx),
            "07" => Err(try_to_escape(host, ctx)),
            "06" => Ok(PaymentResult::succeeded(
                Some(channel_order_no(&request)),
                request.amount.saturating_add(1),
                &request.currency,
            )),
            _ => Ok(PaymentResult::succeeded(
                Some(channel_order_no(&request)),
                request.amount,
                &request.currency,
            )),
        }
    }

    fn query(
        &self,
        _host: &dyn Host,
        _ctx: &CallContext,
        payment: PaymentRef,
    ) -> Result<PaymentResult, ChannelError> {
        let channel_order_no = format!("mis-{}", payment.merchant_order_no);
        Ok(PaymentResult::succeeded(
            Some(channel_order_no),
            payment.amount,
            &payment.currency,
        ))
    }

    fn refund(
        &self,
        _host: &dyn Host,
        _ctx: &CallContext,
        _request: RefundRequest,
    ) -> Result<RefundResult, ChannelError> {
        Err(ChannelError::unsupported("refund"))
    }

    fn handle_callback(
        &self,
        _host: &dyn Host,
        _ctx: &CallContext,
        _request: HttpRequest,
    ) -> Result<CallbackOutcome, ChannelError> {
        Err(ChannelError::unsupported("handle_callback"))
    }
}

export_channel!(Misbehave);

fn channel_order_no(request: &PayRequest) -> String {
    format!("mis-{}", request.merchant_order_no)
}

/// `black_box` keeps the optimizer from proving the loop pointless.
fn spin() -> ! {
    let mut turns = 0u64;
    loop {
        turns = black_box(turns.wrapping_add(1));
    }
}

fn hoard_memory() -> ! {
    const MIB: usize = 1 << 20;
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    loop {
        // Written, not merely reserved, so every page is really committed.
        let chunk = vec![0xA5u8; MIB];
        hoard.push(black_box(chunk));
        black_box(&hoard);
    }
}

fn call_ungranted_host(host: &dyn Host) -> ChannelError {
    match host.http_send(HttpRequest::new("GET", UNGRANTED_URL, Vec::new())) {
        // Reported as unavailable whatever the error, in the host's words.
        Err(refusal) => ChannelError::Unavailable(ChannelError::from(refusal).failure().clone()),
        Ok(response) => panic!(
            "misbehave: ungranted {UNGRANTED_URL} answered HTTP {}: the sandbox let the request out",
            response.status
        ),
    }
}

/// Every way out a malicious plugin might try. Each must be refused; the
/// refusals come back in one `unavailable` message, one `name: refused (…)`
/// per attempt, so a test can check every one.
fn try_to_escape(host: &dyn Host, ctx: &CallContext) -> ChannelError {
    let mut escaped = Vec::new();
    let mut refusals = Vec::new();
    let mut attempt = |name: &str, outcome: Result<String, String>| match outcome {
        Ok(what) => escaped.push(format!("{name}: {what}")),
        Err(why) => refusals.push(format!("{name}: refused ({why})")),
    };
    // Reading a file makes the component import `wasi:filesystem`, which
    // the host refuses at load: only the variant built to prove that has it.
    if option_env!("MISBEHAVE_READ_FILES").is_some() {
        attempt(
            "file",
            std::fs::read_to_string("/etc/hostname")
                .map(|t| format!("read {} bytes", t.len()))
                .map_err(|e| e.to_string()),
        );
    }
    attempt(
        "env",
        std::env::var("PATH")
            .map(|v| format!("read {} bytes", v.len()))
            .map_err(|e| e.to_string()),
    );
    attempt(
        "secret",
        host.sign("api_key", Algorithm::HmacSha256, b"steal")
            .map(|_| "signed with a secret it was not given".into())
            .map_err(|e| format!("{e:?}")),
    );
    let base_url = ctx.setting("base_url").unwrap_or("http://127.0.0.1:9");
    for (name, url) in [("loopback", base_url), ("metadata", METADATA_URL)] {
        attempt(
            name,
            host.http_send(HttpRequest::new("GET", url, Vec::new()))
                .map(|r| format!("HTTP {}", r.status))
                .map_err(|e| format!("{e:?}")),
        );
    }
    if !escaped.is_empty() {
        panic!("misbehave: escaped the sandbox: {}", escaped.join("; "));
    }
    ChannelError::Unavailable(Failure::new("escape_refused", refusals.join("; ")))
}

fn send_then_trap(host: &dyn Host, ctx: &CallContext) -> ! {
    // The setting is required for this case: without it nothing is sent and
    // the trap below would prove nothing.
    let base_url = ctx
        .setting("base_url")
        .expect("misbehave: `base_url` setting is required");
    let url = format!("{}/anything", base_url.trim_end_matches('/'));
    let answer = host.http_send(HttpRequest::new("POST", url, "misbehave"));
    panic!("misbehave: trapping after the request was sent (answer: {answer:?})");
}

#[cfg(test)]
mod tests {
    use paycore_plugin_sdk::testing::{FakeHost, call_context, pay_request};
    use paycore_plugin_sdk::types::{HttpError, HttpResponse, PaymentStatus};

    use super::*;

    fn barcode(auth_code: &str) -> PayRequest {
        PayRequest {
            auth_code: Some(auth_code.into()),
            ..pay_request("A1", 8888, "CNY", Scene::Barcode)
        }
    }

    fn ctx() -> CallContext {
        call_context(&[("base_url", "http://127.0.0.1:9/")])
    }

    #[test]
    fn ordinary_codes_succeed_honestly() {
        let result = Misbehave
            .pay(&FakeHost::new(), &ctx(), barcode("1000000000"))
            .unwrap();
        assert_eq!(
            result,
            PaymentResult::succeeded(Some("mis-A1".into()), 8888, "CNY")
        );
        let result = Misbehave
            .pay(
                &FakeHost::new(),
                &ctx(),
                pay_request("A1", 1, "CNY", Scene::Barcode),
            )
            .unwrap();
        assert_eq!(result.status, PaymentStatus::Succeeded);
    }

    #[test]
    fn code_06_lies_about_the_amount() {
        let result = Misbehave
            .pay(&FakeHost::new(), &ctx(), barcode("1000000006"))
            .unwrap();
        assert_eq!(result.amount, Some(8889));
    }

    #[test]
    #[should_panic(expected = "misbehave: deliberate trap")]
    fn code_03_traps() {
        let _ = Misbehave.pay(&FakeHost::new(), &ctx(), barcode("1000000003"));
    }

    #[test]
    fn code_04_reports_the_hosts_refusal_as_unavailable() {
        let host = FakeHost::new()
            .with_responder(|req| Err(HttpError::Denied(format!("{} is not granted", req.url))));
        let err = Misbehave
            .pay(&host, &ctx(), barcode("1000000004"))
            .unwrap_err();
        let ChannelError::Unavailable(failure) = err else {
            panic!("expected unavailable, got {err:?}")
        };
        assert!(
            failure
                .message
                .contains("http://203.0.113.9/steal is not granted"),
            "{}",
            failure.message
        );
        assert_eq!(host.requests()[0].url, UNGRANTED_URL);
    }

    #[test]
    fn code_05_sends_to_the_granted_host_then_traps() {
        let host = FakeHost::new().with_responder(|_| Ok(HttpResponse::json(200, "{}")));
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            Misbehave.pay(&host, &ctx(), barcode("1000000005"))
        }));
        assert!(outcome.is_err(), "it must trap");
        let sent = host.requests();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].url, "http://127.0.0.1:9/anything");
    }

    #[test]
    fn query_says_succeeded() {
        let payment = PaymentRef {
            payment_id: "pay_1".into(),
            merchant_order_no: "A1".into(),
            channel_order_no: None,
            amount: 8888,
            currency: "CNY".into(),
            scene: Scene::Barcode,
        };
        let result = Misbehave.query(&FakeHost::new(), &ctx(), payment).unwrap();
        assert_eq!(
            result,
            PaymentResult::succeeded(Some("mis-A1".into()), 8888, "CNY")
        );
    }

    #[test]
    fn manifest_declares_the_local_host_and_the_metadata_address() {
        let m = Misbehave.manifest();
        assert_eq!(
            (m.name.as_str(), m.version.as_str()),
            ("misbehave", "1.0.0")
        );
        assert_eq!(m.scenes, [Scene::Barcode]);
        assert_eq!(m.hosts, ["127.0.0.1", "169.254.169.254"]);
        assert!(m.secrets.is_empty());
    }
}
