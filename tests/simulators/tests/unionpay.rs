//! The UnionPay simulator driven over real HTTP on loopback by a small
//! merchant that signs its own way (its own double hash, the committed
//! merchant key), parses answers by the SDK's rule and checks what comes
//! back the way the protocol says a merchant must.

use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use paycore_plugin_sdk::params::{form_urlencode, parse_form};
use paycore_plugin_sdk::testing::{rsa_sign, rsa_verify};
use paycore_simulators::unionpay::{self, CertificateFault, Config, Gateway};
use paycore_simulators::{BusinessClock, OrderState, Tweak, demo_keys};
use sha2::{Digest as _, Sha256};
use x509_parser::certificate::X509Certificate;
use x509_parser::pem::Pem;

type Fields = Vec<(String, String)>;

const MER_ID: &str = "777290058110097";
/// Payment codes by their last digit (see `Behaviour::for_auth_code`).
const PAYS: &str = "6225000000000000010";
const DECLINES: &str = "6225000000000000011";
const PAYS_ON_SECOND_QUERY: &str = "6225000000000000012";
const TIMES_OUT: &str = "6225000000000000013";
const NEVER_CONFIRMED: &str = "6225000000000000014";

fn get<'a>(fields: &'a [(String, String)], key: &str) -> &'a str {
    fields
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .unwrap_or_default()
}

fn owned(pairs: &[(&str, &str)]) -> Fields {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// The double hash, written again here so a mistake in the simulator's
/// cannot hide behind itself: sorted `k=v&…` (blanks dropped when signing,
/// kept when verifying), lowercase hex SHA-256, then RSA-SHA256 of that hex.
fn digest(fields: &[(String, String)], drop_blanks: bool) -> String {
    let mut kept: Vec<_> = fields
        .iter()
        .filter(|(k, v)| k != "signature" && !(drop_blanks && v.is_empty()))
        .collect();
    kept.sort_by(|a, b| a.0.cmp(&b.0));
    let text = kept
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// The merchant key alone (the committed file holds the certificate too).
fn merchant_private_key() -> String {
    let pem = demo_keys::UNIONPAY_MERCHANT;
    let start = pem.find("-----BEGIN PRIVATE KEY-----").unwrap();
    let end = pem.find("-----END PRIVATE KEY-----").unwrap() + "-----END PRIVATE KEY-----".len();
    pem[start..end].to_owned()
}

/// The SDK's `convertResultStringToMap`: pairs split on `&` outside `{…}`
/// and `[…]`, each at its first `=`.
fn parse_answer(body: &str) -> Fields {
    let mut pairs = Vec::new();
    let (mut depth, mut start) = (0i32, 0usize);
    for (at, c) in body.char_indices() {
        match c {
            '{' | '[' => depth += 1,
            '}' | ']' => depth -= 1,
            '&' if depth == 0 => {
                pairs.push(&body[start..at]);
                start = at + 1;
            }
            _ => {}
        }
    }
    pairs.push(&body[start..]);
    pairs
        .into_iter()
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (k.to_owned(), v.to_owned())
        })
        .collect()
}

fn certificate(pem: &str) -> Pem {
    x509_parser::pem::parse_x509_pem(pem.as_bytes())
        .expect("a PEM certificate")
        .1
}

fn spki_pem(cert: &X509Certificate<'_>) -> String {
    format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        STANDARD.encode(cert.public_key().raw)
    )
}

/// Why a merchant must not believe `signPubKeyCert`, checked in the
/// protocol's order; `Ok` if it may.
fn certificate_refusal(pem: &str) -> Result<(), &'static str> {
    let (leaf, middle, root) = (
        certificate(pem),
        certificate(demo_keys::UNIONPAY_MIDDLE_CERT),
        certificate(demo_keys::UNIONPAY_ROOT_CERT),
    );
    let (leaf, middle, root) = (
        leaf.parse_x509().map_err(|_| "unparsable")?,
        middle.parse_x509().unwrap(),
        root.parse_x509().unwrap(),
    );
    if !leaf.validity().is_valid() {
        return Err("dates");
    }
    let chained = leaf.issuer() == middle.subject()
        && leaf.verify_signature(Some(middle.public_key())).is_ok()
        && middle.issuer() == root.subject()
        && middle.verify_signature(Some(root.public_key())).is_ok();
    if !chained {
        return Err("chain");
    }
    let owner = leaf
        .subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .and_then(|cn| cn.split('@').nth(2));
    if owner != Some(unionpay::UNIONPAY_NAME) {
        return Err("owner");
    }
    let may_sign = leaf
        .key_usage()
        .ok()
        .flatten()
        .is_some_and(|usage| usage.value.digital_signature());
    if !may_sign {
        return Err("key usage");
    }
    Ok(())
}

/// Whether an answer's or notification's signature verifies under the
/// certificate it carries (the certificate itself is judged apart).
fn signature_verifies(fields: &[(String, String)]) -> bool {
    let pem = certificate(get(fields, "signPubKeyCert"));
    let cert = pem.parse_x509().expect("a certificate");
    let signature = STANDARD
        .decode(get(fields, "signature"))
        .unwrap_or_default();
    rsa_verify(
        &spki_pem(&cert),
        digest(fields, false).as_bytes(),
        &signature,
    )
}

fn txn_time_now() -> String {
    let format = time::macros::format_description!("[year][month][day][hour][minute][second]");
    time::OffsetDateTime::now_utc()
        .to_offset(time::macros::offset!(+8))
        .format(format)
        .unwrap()
}

/// The merchant's side: signs, posts, parses.
struct Merchant {
    http: reqwest::Client,
    base: String,
    key: String,
    back_url: String,
}

impl Merchant {
    fn new(gateway: &Gateway, back_url: &str) -> Merchant {
        let _ = rustls::crypto::ring::default_provider().install_default();
        Merchant {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(20))
                .build()
                .unwrap(),
            base: gateway.gateway_url(),
            key: merchant_private_key(),
            back_url: back_url.to_owned(),
        }
    }

    fn envelope(txn_type: &str, sub_type: &str) -> Fields {
        owned(&[
            ("version", "5.1.0"),
            ("encoding", "UTF-8"),
            ("signMethod", "01"),
            ("certId", unionpay::DEMO_MERCHANT_CERT_ID),
            ("bizType", "000000"),
            ("accessType", "0"),
            ("merId", MER_ID),
            ("txnType", txn_type),
            ("txnSubType", sub_type),
        ])
    }

    fn signed(&self, mut fields: Fields) -> Fields {
        let signature = rsa_sign(&self.key, digest(&fields, true).as_bytes());
        fields.push(("signature".into(), STANDARD.encode(signature)));
        fields
    }

    /// Posts already signed fields; the answer as the SDK reads it.
    async fn post_signed(&self, path: &str, fields: &[(String, String)]) -> Fields {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header(
                "content-type",
                "application/x-www-form-urlencoded;charset=UTF-8",
            )
            .body(form_urlencode(fields))
            .send()
            .await
            .expect("the gateway answers");
        assert_eq!(response.status().as_u16(), 200);
        parse_answer(&response.text().await.unwrap())
    }

    async fn post(&self, path: &str, fields: Fields) -> Fields {
        self.post_signed(path, &self.signed(fields)).await
    }

    fn consume_fields(&self, order_id: &str, txn_time: &str, amount: i64, qr_no: &str) -> Fields {
        let mut fields = Self::envelope("01", "06");
        fields.extend(owned(&[
            ("channelType", "08"),
            ("orderId", order_id),
            ("txnTime", txn_time),
            ("txnAmt", &amount.to_string()),
            ("currencyCode", "156"),
            ("backUrl", &self.back_url),
            ("qrNo", qr_no),
        ]));
        fields
    }

    async fn pay(&self, order_id: &str, txn_time: &str, amount: i64, qr_no: &str) -> Fields {
        let fields = self.consume_fields(order_id, txn_time, amount, qr_no);
        self.post(unionpay::BACK_TRANS_PATH, fields).await
    }

    async fn query(&self, order_id: &str, txn_time: &str) -> Fields {
        let mut fields = Self::envelope("00", "00");
        fields.extend(owned(&[("orderId", order_id), ("txnTime", txn_time)]));
        self.post(unionpay::QUERY_TRANS_PATH, fields).await
    }

    async fn refund(&self, refund_no: &str, txn_time: &str, amount: i64, orig: &str) -> Fields {
        let mut fields = Self::envelope("04", "00");
        fields.extend(owned(&[
            ("channelType", "08"),
            ("orderId", refund_no),
            ("txnTime", txn_time),
            ("txnAmt", &amount.to_string()),
            ("currencyCode", "156"),
            ("backUrl", &self.back_url),
            ("origQryId", orig),
        ]));
        self.post(unionpay::BACK_TRANS_PATH, fields).await
    }

    async fn reverse(&self, order_id: &str, txn_time: &str) -> Fields {
        let mut fields = Self::envelope("99", "01");
        fields.extend(owned(&[
            ("channelType", "08"),
            ("orderId", order_id),
            ("txnTime", txn_time),
            ("backUrl", &self.back_url),
        ]));
        self.post(unionpay::BACK_TRANS_PATH, fields).await
    }
}

/// The merchant's `backUrl`: records every notification, answers 500 to the
/// first `failures` of them and `ok` after. Stops when dropped.
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Fields>>>,
    task: tokio::task::JoinHandle<()>,
}

type ReceiverState = (Arc<Mutex<Vec<Fields>>>, Arc<AtomicU32>);

async fn receive(
    State((got, failures)): State<ReceiverState>,
    body: Bytes,
) -> (StatusCode, &'static str) {
    got.lock().unwrap().push(parse_form(&body));
    let failing = failures
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    if failing {
        (StatusCode::INTERNAL_SERVER_ERROR, "busy")
    } else {
        (StatusCode::OK, "ok")
    }
}

impl Receiver {
    async fn start(failures: u32) -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/unionpay/notify", listener.local_addr().unwrap());
        let got = Arc::new(Mutex::new(Vec::new()));
        let app = axum::Router::new()
            .route("/unionpay/notify", axum::routing::post(receive))
            .with_state((got.clone(), Arc::new(AtomicU32::new(failures))));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver { url, got, task }
    }

    fn received(&self) -> Vec<Fields> {
        self.got.lock().unwrap().clone()
    }

    /// The first notification about `order_id` of `txn_type`, waiting at
    /// most two seconds for it.
    async fn wait_for(&self, order_id: &str, txn_type: &str) -> Fields {
        for _ in 0..200 {
            let found = self
                .received()
                .into_iter()
                .find(|n| get(n, "orderId") == order_id && get(n, "txnType") == txn_type);
            if let Some(found) = found {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("no txnType {txn_type} notification for {order_id}");
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn test_config() -> Config {
    Config {
        slow: Duration::from_millis(400),
        notify_delay: Duration::ZERO,
        notify_retry_delays: vec![Duration::from_millis(50); 2],
        ..Config::demo(MER_ID)
    }
}

async fn start(config: Config) -> (Gateway, Receiver, Merchant) {
    let gateway = Gateway::start("127.0.0.1:0", config).await.unwrap();
    let receiver = Receiver::start(0).await;
    let merchant = Merchant::new(&gateway, &receiver.url);
    (gateway, receiver, merchant)
}

#[tokio::test]
async fn a_barcode_consume_is_accepted_then_paid_by_query_and_notification() {
    let (gateway, receiver, merchant) = start(test_config()).await;
    let txn_time = txn_time_now();

    let answer = merchant.pay("ORDER20261207A", &txn_time, 1234, PAYS).await;
    assert_eq!(get(&answer, "respCode"), "00", "{answer:?}");
    assert_eq!(certificate_refusal(get(&answer, "signPubKeyCert")), Ok(()));
    assert!(signature_verifies(&answer), "the answer verifies");
    assert!(
        get(&answer, "signPubKeyCert").contains('\n'),
        "the PEM travels raw, newlines included"
    );
    assert_eq!(get(&answer, "orderId"), "ORDER20261207A");
    let query_id = get(&answer, "queryId").to_owned();
    assert_eq!(query_id.len(), 21);

    let status = merchant.query("ORDER20261207A", &txn_time).await;
    assert!(signature_verifies(&status));
    assert_eq!(get(&status, "respCode"), "00");
    assert_eq!(get(&status, "origRespCode"), "00");
    assert_eq!(get(&status, "txnType"), "01", "the original's type");
    assert_eq!(get(&status, "txnAmt"), "1234");
    assert_eq!(get(&status, "settleAmt"), "1234");
    assert_eq!(get(&status, "queryId"), query_id);
    assert_eq!(get(&status, "settleDate").len(), 4);
    assert_eq!(get(&status, "traceNo").len(), 6);
    assert_eq!(get(&status, "traceTime").len(), 10);

    let notice = receiver.wait_for("ORDER20261207A", "01").await;
    assert!(signature_verifies(&notice), "{notice:?}");
    assert_eq!(certificate_refusal(get(&notice, "signPubKeyCert")), Ok(()));
    assert_eq!(get(&notice, "respCode"), "00");
    assert_eq!(get(&notice, "queryId"), query_id);
    assert_eq!(get(&notice, "txnAmt"), "1234");
    assert_eq!(get(&notice, "txnTime"), txn_time);
    assert_eq!(get(&notice, "merId"), MER_ID);
    assert_eq!(
        gateway.order("ORDER20261207A"),
        Some((OrderState::Paid, 1234, 0))
    );
    assert!(gateway.requests()[0].contains("qrNo=6225000000000000010"));
}

#[tokio::test]
async fn a_payer_confirming_reads_05_until_paid_and_a_decline_fails_without_notification() {
    let (gateway, receiver, merchant) = start(test_config()).await;
    let txn_time = txn_time_now();

    let answer = merchant
        .pay("CONFIRMING01", &txn_time, 500, PAYS_ON_SECOND_QUERY)
        .await;
    assert_eq!(get(&answer, "respCode"), "00");
    let first = merchant.query("CONFIRMING01", &txn_time).await;
    assert_eq!(get(&first, "origRespCode"), "05");
    assert_eq!(get(&first, "settleAmt"), "", "nothing settled yet");
    let second = merchant.query("CONFIRMING01", &txn_time).await;
    assert_eq!(get(&second, "origRespCode"), "00");
    receiver.wait_for("CONFIRMING01", "01").await;

    let answer = merchant.pay("DECLINED0001", &txn_time, 500, DECLINES).await;
    assert_eq!(
        get(&answer, "respCode"),
        "00",
        "accepted: the decline comes later"
    );
    let status = merchant.query("DECLINED0001", &txn_time).await;
    assert_eq!(get(&status, "respCode"), "00");
    assert_eq!(get(&status, "origRespCode"), "64");
    assert_eq!(get(&status, "origRespMsg"), "卡上的余额不足");
    // The paid order's notification came; give a decline's the same time.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        receiver
            .received()
            .iter()
            .all(|n| get(n, "orderId") != "DECLINED0001")
    );
    assert_eq!(
        gateway.order("DECLINED0001").map(|o| o.0),
        Some(OrderState::Closed)
    );

    let refused = merchant
        .pay("BADCODE00001", &txn_time, 500, "2834000111222233350")
        .await;
    assert_eq!(get(&refused, "respCode"), "61");
    assert!(signature_verifies(&refused));
    assert_eq!(gateway.order("BADCODE00001"), None);
}

#[tokio::test]
async fn a_tampered_or_unknown_signer_is_refused_with_11_and_nothing_changes() {
    let (gateway, _receiver, merchant) = start(test_config()).await;
    let txn_time = txn_time_now();

    let mut tampered =
        merchant.signed(merchant.consume_fields("TAMPERED0001", &txn_time, 100, PAYS));
    for field in tampered.iter_mut().filter(|(k, _)| k == "txnAmt") {
        field.1 = "1".into();
    }
    let answer = merchant
        .post_signed(unionpay::BACK_TRANS_PATH, &tampered)
        .await;
    assert_eq!(get(&answer, "respCode"), "11", "{answer:?}");
    assert_eq!(get(&answer, "respMsg"), "验证签名失败");
    assert!(signature_verifies(&answer), "refusals are signed too");
    assert_eq!(gateway.order("TAMPERED0001"), None);

    // The right signature over a single hash (the widely copied mistake).
    let mut single_hash = merchant.consume_fields("SINGLEHASH01", &txn_time, 100, PAYS);
    let mut sorted = single_hash.clone();
    sorted.sort();
    let text = sorted
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let signature = rsa_sign(&merchant.key, text.as_bytes());
    single_hash.push(("signature".into(), STANDARD.encode(signature)));
    let answer = merchant
        .post_signed(unionpay::BACK_TRANS_PATH, &single_hash)
        .await;
    assert_eq!(get(&answer, "respCode"), "11");

    let mut stranger = merchant.consume_fields("STRANGER0001", &txn_time, 100, PAYS);
    for field in stranger.iter_mut().filter(|(k, _)| k == "certId") {
        field.1 = "12345678901".into();
    }
    let answer = merchant.post(unionpay::BACK_TRANS_PATH, stranger).await;
    assert_eq!(get(&answer, "respCode"), "11");
    assert_eq!(gateway.order("STRANGER0001"), None);
}

#[tokio::test]
async fn malformed_fields_duplicates_and_unknown_transactions_have_their_codes() {
    let (gateway, _receiver, merchant) = start(test_config()).await;
    let txn_time = txn_time_now();
    let with = |key: &str, value: &str| {
        let mut fields = merchant.consume_fields("MALFORMED001", &txn_time, 100, PAYS);
        fields.retain(|(k, _)| k != key);
        if !value.is_empty() {
            fields.push((key.to_owned(), value.to_owned()));
        }
        fields
    };
    for (key, value, code) in [
        ("txnTime", "2026120712000", "10"),
        ("txnTime", "20261332120000", "10"),
        ("orderId", "ORDER-2026-12", "10"),
        ("orderId", "SHORT1", "10"),
        ("txnAmt", "10.00", "10"),
        ("txnAmt", "0", "10"),
        ("currencyCode", "840", "10"),
        ("merId", "777290058110098", "31"),
        ("qrNo", "", "13"),
        ("backUrl", "", "13"),
    ] {
        let answer = merchant
            .post(unionpay::BACK_TRANS_PATH, with(key, value))
            .await;
        assert_eq!(get(&answer, "respCode"), code, "{key}={value}: {answer:?}");
        assert!(signature_verifies(&answer));
    }
    assert_eq!(gateway.order("MALFORMED001"), None);

    // Far from now is fine: paycore dates txnTime by the payment's creation.
    let old = merchant
        .pay("OLDTXNTIME01", "20200101120000", 100, PAYS)
        .await;
    assert_eq!(get(&old, "respCode"), "00");
    let again = merchant
        .pay("OLDTXNTIME01", "20200101120000", 100, PAYS)
        .await;
    assert_eq!(get(&again, "respCode"), "12");
    let wrong_time = merchant.query("OLDTXNTIME01", &txn_time).await;
    assert_eq!(
        get(&wrong_time, "respCode"),
        "34",
        "orderId + txnTime identify it"
    );
    let unknown = merchant.query("NEVERSENT001", &txn_time).await;
    assert_eq!(get(&unknown, "respCode"), "34");
    assert!(signature_verifies(&unknown));
}

#[tokio::test]
async fn each_certificate_fault_fails_the_check_it_is_for() {
    let (gateway, receiver, merchant) = start(test_config()).await;
    let txn_time = txn_time_now();
    let first = gateway.signing_certificate();
    assert_eq!(certificate_refusal(&first), Ok(()));

    for (fault, refusal) in [
        (CertificateFault::Expired, "dates"),
        (CertificateFault::WrongChain, "chain"),
        (CertificateFault::WrongOwner, "owner"),
        (CertificateFault::WrongUsage, "key usage"),
    ] {
        gateway.certificate_fault(Some(fault));
        let answer = merchant.query("NOSUCHORDER1", &txn_time).await;
        let pem = get(&answer, "signPubKeyCert");
        assert_eq!(pem, gateway.signing_certificate(), "{fault:?}");
        assert_eq!(certificate_refusal(pem), Err(refusal), "{fault:?}");
        assert!(
            signature_verifies(&answer),
            "{fault:?}: signed with the certificate's own key, so only the certificate is wrong"
        );
    }

    // Each fault alone: the checks before it pass.
    let parsed = |pem: &str| certificate(pem).contents;
    gateway.certificate_fault(Some(CertificateFault::Expired));
    let expired = gateway.signing_certificate();
    let expired = x509_parser::parse_x509_certificate(&parsed(&expired))
        .unwrap()
        .1
        .validity()
        .not_after
        .timestamp();
    assert!(expired < time::OffsetDateTime::now_utc().unix_timestamp());

    gateway.certificate_fault(Some(CertificateFault::WrongChain));
    let stranger = gateway.signing_certificate();
    let stranger = x509_parser::parse_x509_certificate(&parsed(&stranger))
        .unwrap()
        .1
        .issuer()
        .to_string();
    let middle = certificate(demo_keys::UNIONPAY_MIDDLE_CERT);
    let middle = middle.parse_x509().unwrap().subject().to_string();
    assert_ne!(stranger, middle);
    let stranger_ca = certificate(&gateway.stranger_ca_certificate());
    let stranger_ca = stranger_ca.parse_x509().unwrap();
    let wrong_chain = certificate(&gateway.signing_certificate());
    let wrong_chain = wrong_chain.parse_x509().unwrap();
    assert!(
        wrong_chain
            .verify_signature(Some(stranger_ca.public_key()))
            .is_ok(),
        "it does chain, to the stranger"
    );

    // Notifications carry the spoiled certificate too.
    let paid = merchant.pay("FAULTYCERT01", &txn_time, 100, PAYS).await;
    assert_eq!(get(&paid, "respCode"), "00");
    let notice = receiver.wait_for("FAULTYCERT01", "01").await;
    assert_eq!(
        certificate_refusal(get(&notice, "signPubKeyCert")),
        Err("chain")
    );

    gateway.certificate_fault(None);
    let good = gateway.signing_certificate();
    assert_eq!(certificate_refusal(&good), Ok(()));
    assert_ne!(good, first, "re-issued with the next serial");
}

#[tokio::test]
async fn spoiled_answer_and_notification_signatures_do_not_verify() {
    let (gateway, receiver, merchant) = start(test_config()).await;
    let txn_time = txn_time_now();

    gateway.answer_signature_fault(true);
    let answer = merchant.pay("SPOILED00001", &txn_time, 100, PAYS).await;
    assert_eq!(get(&answer, "respCode"), "00");
    assert!(!signature_verifies(&answer));
    gateway.answer_signature_fault(false);
    let status = merchant.query("SPOILED00001", &txn_time).await;
    assert!(signature_verifies(&status));

    receiver.wait_for("SPOILED00001", "01").await;
    let (status, body) = gateway
        .notify(
            "SPOILED00001",
            Tweak {
                amount: Some(1),
                bad_signature: true,
            },
        )
        .await;
    assert_eq!((status, body.as_str()), (200, "ok"));
    let spoiled = receiver.received().pop().unwrap();
    assert_eq!(get(&spoiled, "txnAmt"), "1");
    assert!(!signature_verifies(&spoiled));
}

#[tokio::test]
async fn refunds_stop_at_what_is_left_and_are_notified_and_queried() {
    let (gateway, receiver, merchant) = start(test_config()).await;
    let txn_time = txn_time_now();
    let paid = merchant.pay("REFUNDME0001", &txn_time, 1000, PAYS).await;
    let query_id = get(&paid, "queryId").to_owned();
    assert_eq!(gateway.query_id("REFUNDME0001"), Some(query_id.clone()));

    let first = merchant
        .refund("REFUND000001", &txn_time, 600, &query_id)
        .await;
    assert_eq!(get(&first, "respCode"), "00", "{first:?}");
    assert_eq!(get(&first, "origQryId"), query_id);
    let too_much = merchant
        .refund("REFUND000002", &txn_time, 401, &query_id)
        .await;
    assert_eq!(get(&too_much, "respCode"), "33", "{too_much:?}");
    assert_eq!(get(&too_much, "respMsg"), "交易金额超限[可退金额400分]");
    assert!(signature_verifies(&too_much));
    let again = merchant
        .refund("REFUND000001", &txn_time, 100, &query_id)
        .await;
    assert_eq!(get(&again, "respCode"), "12");
    let unknown = merchant
        .refund("REFUND000003", &txn_time, 100, "000000000000000000000")
        .await;
    assert_eq!(get(&unknown, "respCode"), "35");
    assert_eq!(
        gateway.order("REFUNDME0001"),
        Some((OrderState::Paid, 1000, 600))
    );

    let rest = merchant
        .refund("REFUND000004", &txn_time, 400, &query_id)
        .await;
    assert_eq!(get(&rest, "respCode"), "00");
    assert_eq!(
        gateway.order("REFUNDME0001"),
        Some((OrderState::Paid, 1000, 1000))
    );

    let notice = receiver.wait_for("REFUND000001", "04").await;
    assert!(signature_verifies(&notice));
    assert_eq!(get(&notice, "respCode"), "00");
    assert_eq!(get(&notice, "txnAmt"), "600");
    assert_eq!(get(&notice, "origQryId"), query_id);
    assert_eq!(get(&notice, "queryId"), get(&first, "queryId"));

    let status = merchant.query("REFUND000001", &txn_time).await;
    assert_eq!(get(&status, "respCode"), "00");
    assert_eq!(get(&status, "origRespCode"), "00");
    assert_eq!(get(&status, "txnType"), "04");
    assert_eq!(get(&status, "txnAmt"), "600");
    assert_eq!(get(&status, "origQryId"), query_id);
    let consume = merchant.query("REFUNDME0001", &txn_time).await;
    assert_eq!(
        get(&consume, "origRespCode"),
        "00",
        "refunds do not undo the consume"
    );
}

#[tokio::test]
async fn a_reversal_gives_the_money_back_or_stops_the_payment() {
    let (gateway, receiver, merchant) = start(test_config()).await;
    let txn_time = txn_time_now();

    let paid = merchant.pay("REVERSEPAID1", &txn_time, 800, PAYS).await;
    receiver.wait_for("REVERSEPAID1", "01").await;
    let reversed = merchant.reverse("REVERSEPAID1", &txn_time).await;
    assert_eq!(get(&reversed, "respCode"), "00", "{reversed:?}");
    assert_eq!(get(&reversed, "origQryId"), get(&paid, "queryId"));
    assert!(signature_verifies(&reversed));
    assert_eq!(
        gateway.order("REVERSEPAID1").map(|o| o.0),
        Some(OrderState::Cancelled)
    );
    let status = merchant.query("REVERSEPAID1", &txn_time).await;
    assert_eq!(get(&status, "origRespCode"), "45");
    let notice = receiver.wait_for("REVERSEPAID1", "99").await;
    assert!(signature_verifies(&notice));
    assert_eq!(get(&notice, "respCode"), "00");
    let again = merchant.reverse("REVERSEPAID1", &txn_time).await;
    assert_eq!(
        get(&again, "respCode"),
        "00",
        "a reversal is repeated until answered"
    );
    assert_eq!(get(&again, "queryId"), get(&reversed, "queryId"));
    let refund = merchant
        .refund("REFUNDREV001", &txn_time, 100, get(&paid, "queryId"))
        .await;
    assert_eq!(get(&refund, "respCode"), "45");

    // Unpaid: the payer never confirms; once reversed, no query makes it paid.
    merchant
        .pay("REVERSEWAIT1", &txn_time, 800, NEVER_CONFIRMED)
        .await;
    let reversed = merchant.reverse("REVERSEWAIT1", &txn_time).await;
    assert_eq!(get(&reversed, "respCode"), "00");
    gateway.script(
        "REVERSEWAIT1",
        paycore_simulators::Behaviour::UserPaying {
            paid_after_queries: Some(1),
        },
    );
    let status = merchant.query("REVERSEWAIT1", &txn_time).await;
    assert_eq!(get(&status, "origRespCode"), "45");
    assert_eq!(
        gateway.order("REVERSEWAIT1"),
        Some((OrderState::Cancelled, 800, 0))
    );

    let unknown = merchant.reverse("NEVERSENT002", &txn_time).await;
    assert_eq!(get(&unknown, "respCode"), "35");
}

#[tokio::test]
async fn a_reversal_is_refused_the_next_business_day() {
    let shift = Arc::new(AtomicI64::new(0));
    let clock_shift = shift.clone();
    let config = Config {
        clock: BusinessClock::from_fn(move || {
            time::OffsetDateTime::now_utc()
                + time::Duration::seconds(clock_shift.load(Ordering::SeqCst))
        }),
        ..test_config()
    };
    let (_gateway, _receiver, merchant) = start(config).await;
    let txn_time = txn_time_now();
    merchant.pay("YESTERDAY001", &txn_time, 100, PAYS).await;
    shift.store(86_400, Ordering::SeqCst);
    let reversed = merchant.reverse("YESTERDAY001", &txn_time).await;
    assert_eq!(get(&reversed, "respCode"), "35");
    assert_eq!(
        get(&reversed, "respMsg"),
        "原交易不存在或状态不正确[仅限当日]"
    );
}

#[tokio::test]
async fn a_timeout_answers_after_slow_and_the_payment_still_happens() {
    let (gateway, receiver, merchant) = start(test_config()).await;
    let txn_time = txn_time_now();
    let started = Instant::now();
    let answer = merchant
        .pay("TIMEOUT00001", &txn_time, 100, TIMES_OUT)
        .await;
    assert!(started.elapsed() >= Duration::from_millis(400));
    assert_eq!(get(&answer, "respCode"), "00");
    assert_eq!(
        gateway.order("TIMEOUT00001").map(|o| o.0),
        Some(OrderState::Paid)
    );
    receiver.wait_for("TIMEOUT00001", "01").await;
}

#[tokio::test]
async fn a_merchant_qr_is_paid_when_the_payer_scans_it() {
    let (gateway, receiver, merchant) = start(test_config()).await;
    let txn_time = txn_time_now();
    let mut fields = Merchant::envelope("01", "07");
    fields.extend(owned(&[
        ("channelType", "08"),
        ("orderId", "MERCHANTQR01"),
        ("txnTime", &txn_time),
        ("txnAmt", "2500"),
        ("currencyCode", "156"),
        ("backUrl", &receiver.url),
        ("payTimeout", "20991231235959"),
    ]));
    let answer = merchant.post(unionpay::BACK_TRANS_PATH, fields).await;
    assert_eq!(get(&answer, "respCode"), "00", "{answer:?}");
    assert!(
        get(&answer, "qrCode").starts_with("https://qr.95516.com/00010000/01"),
        "{answer:?}"
    );
    let waiting = merchant.query("MERCHANTQR01", &txn_time).await;
    assert_eq!(get(&waiting, "origRespCode"), "05");

    let (status, body) = gateway.buyer_pays("MERCHANTQR01").await;
    assert_eq!((status, body.as_str()), (200, "ok"));
    let notice = receiver.wait_for("MERCHANTQR01", "01").await;
    assert_eq!(get(&notice, "respCode"), "00");
    assert_eq!(get(&notice, "txnSubType"), "07");
    let paid = merchant.query("MERCHANTQR01", &txn_time).await;
    assert_eq!(get(&paid, "origRespCode"), "00");
}

#[tokio::test]
async fn a_notification_not_answered_200_is_sent_again() {
    let gateway = Gateway::start("127.0.0.1:0", test_config()).await.unwrap();
    let receiver = Receiver::start(1).await;
    let merchant = Merchant::new(&gateway, &receiver.url);
    merchant
        .pay("RETRIED00001", &txn_time_now(), 100, PAYS)
        .await;
    for _ in 0..200 {
        if gateway.deliveries().len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let statuses: Vec<u16> = gateway.deliveries().iter().map(|d| d.status).collect();
    assert_eq!(statuses, [500, 200]);
    assert_eq!(receiver.received().len(), 2);
}
