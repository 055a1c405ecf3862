//! The Huifu (e-CNY) simulator driven over real HTTP on loopback by a small
//! merchant that signs its own way (canonical `data` built with serde_json's
//! escaping, SHA256withRSA with the committed merchant key), verifies
//! answers over the raw `data` text as Go's SDK does, and receives
//! notifications on its own listener, verifying them over `resp_data`.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use paycore_plugin_sdk::params::parse_form;
use paycore_plugin_sdk::testing::{rsa_sign, rsa_verify};
use paycore_simulators::huifu::{self, Config, Gateway};
use paycore_simulators::{Behaviour, OrderState, Tweak, demo_keys};
use serde_json::Value;
use serde_json::value::RawValue;

type Fields = Vec<(String, String)>;

const HUIFU_ID: &str = "6666000108854952";
/// e-CNY payment codes by their last digit (see `Behaviour::for_auth_code`).
const PAYS: &str = "0123456789012345670";
const DECLINES: &str = "0123456789012345671";
const PAYS_ON_SECOND_QUERY: &str = "0123456789012345672";
const TIMES_OUT: &str = "0123456789012345673";
const NEVER_CONFIRMED: &str = "0123456789012345674";
const RISK: &str = r#"{"ip_addr":"192.168.1.20"}"#;
/// The key spoiled notifications are signed with (not Huifu's).
const ALIPAY_GATEWAY_PUBLIC: &str =
    include_str!("../../../config/secrets/alipay-demo-gateway-public.pem");

fn owned(pairs: &[(&str, &str)]) -> Fields {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// The canonical text of `data`, written again here so a mistake in the
/// simulator's cannot hide behind itself: keys sorted, compact, each string
/// escaped by serde_json (which escapes exactly `"`, `\` and controls).
fn canonical(fields: &[(String, String)]) -> String {
    let sorted: BTreeMap<&str, &str> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let pairs: Vec<String> = sorted
        .into_iter()
        .map(|(k, v)| {
            format!(
                "{}:{}",
                serde_json::to_string(k).unwrap(),
                serde_json::to_string(v).unwrap()
            )
        })
        .collect();
    format!("{{{}}}", pairs.join(","))
}

fn today() -> String {
    let format = time::macros::format_description!("[year][month][day]");
    time::OffsetDateTime::now_utc()
        .to_offset(time::macros::offset!(+8))
        .format(format)
        .unwrap()
}

fn verifies(public_pem: &str, text: &str, signature: &str) -> bool {
    STANDARD
        .decode(signature)
        .is_ok_and(|raw| rsa_verify(public_pem, text.as_bytes(), &raw))
}

/// An answer as Go's `HandleResponse` reads it: the raw `data` text, the
/// `sign`, and the fields parsed from that text.
#[derive(Debug)]
struct Answer {
    raw_data: String,
    sign: String,
    data: HashMap<String, String>,
}

impl Answer {
    fn get(&self, key: &str) -> &str {
        self.data.get(key).map(String::as_str).unwrap_or_default()
    }

    /// Signed by Huifu over exactly the bytes of `data` received.
    fn verified(&self) -> bool {
        verifies(demo_keys::ECNY_HUIFU_PUBLIC, &self.raw_data, &self.sign)
    }
}

/// The merchant's side: signs `data`, posts the envelope, reads the answer.
struct Merchant {
    http: reqwest::Client,
    base: String,
    notify_url: String,
}

impl Merchant {
    fn new(gateway: &Gateway, notify_url: &str) -> Merchant {
        let _ = rustls::crypto::ring::default_provider().install_default();
        Merchant {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(20))
                .build()
                .unwrap(),
            base: gateway.base_url(),
            notify_url: notify_url.to_owned(),
        }
    }

    fn sign(text: &str) -> String {
        STANDARD.encode(rsa_sign(demo_keys::ECNY_MERCHANT_PRIVATE, text.as_bytes()))
    }

    /// The envelope as Go's `DoPostReq` sends it: `data` is the very text
    /// that was signed.
    fn envelope(data_text: &str, sign: &str, sys_id: &str) -> String {
        format!(r#"{{"data":{data_text},"product_id":"MCS","sign":"{sign}","sys_id":"{sys_id}"}}"#)
    }

    /// Posts a body as is: (status, body).
    async fn post_raw(&self, path: &str, body: String) -> (u16, String) {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json;charset=UTF-8")
            .body(body)
            .send()
            .await
            .expect("the gateway answers");
        (
            response.status().as_u16(),
            response.text().await.unwrap_or_default(),
        )
    }

    async fn call(&self, path: &str, data: Fields) -> Answer {
        let text = canonical(&data);
        let body = Self::envelope(&text, &Self::sign(&text), HUIFU_ID);
        let (status, body) = self.post_raw(path, body).await;
        assert_eq!(status, 200, "{body}");
        read_answer(&body)
    }

    fn micropay_fields(&self, req_seq_id: &str, amount: &str, auth_code: &str) -> Fields {
        owned(&[
            ("req_date", &today()),
            ("req_seq_id", req_seq_id),
            ("huifu_id", HUIFU_ID),
            ("trans_amt", amount),
            ("goods_desc", "e-CNY 测试商品 <1 & 2>"),
            ("auth_code", auth_code),
            ("risk_check_data", RISK),
            ("notify_url", &self.notify_url),
        ])
    }

    async fn pay(&self, req_seq_id: &str, amount: &str, auth_code: &str) -> Answer {
        let fields = self.micropay_fields(req_seq_id, amount, auth_code);
        self.call(huifu::MICROPAY_PATH, fields).await
    }

    async fn query(&self, req_seq_id: &str) -> Answer {
        let fields = owned(&[
            ("huifu_id", HUIFU_ID),
            ("org_req_date", &today()),
            ("org_req_seq_id", req_seq_id),
        ]);
        self.call(huifu::QUERY_PATH, fields).await
    }

    fn refund_fields(&self, refund_seq_id: &str, amount: &str, payment: &str) -> Fields {
        owned(&[
            ("req_date", &today()),
            ("req_seq_id", refund_seq_id),
            ("huifu_id", HUIFU_ID),
            ("ord_amt", amount),
            ("org_req_date", &today()),
            ("org_req_seq_id", payment),
            ("digital_currency_data", r#"{"refund_desc":"顾客退货"}"#),
            ("notify_url", &self.notify_url),
        ])
    }

    async fn refund(&self, refund_seq_id: &str, amount: &str, payment: &str) -> Answer {
        let fields = self.refund_fields(refund_seq_id, amount, payment);
        self.call(huifu::REFUND_PATH, fields).await
    }
}

fn read_answer(body: &str) -> Answer {
    let envelope: HashMap<String, Box<RawValue>> =
        serde_json::from_str(body).expect("a JSON answer");
    let raw_data = envelope["data"].get().to_owned();
    let sign: String = serde_json::from_str(envelope["sign"].get()).unwrap();
    let data = serde_json::from_str(&raw_data).expect("data: strings only");
    Answer {
        raw_data,
        sign,
        data,
    }
}

/// A notification as the merchant received it.
#[derive(Debug, Clone)]
struct Notification {
    form: Fields,
    resp_data: String,
    sign: String,
}

impl Notification {
    fn data(&self) -> Value {
        serde_json::from_str(&self.resp_data).expect("resp_data is JSON")
    }

    fn field(&self, key: &str) -> String {
        self.data()[key].as_str().unwrap_or_default().to_owned()
    }

    fn verified(&self) -> bool {
        verifies(demo_keys::ECNY_HUIFU_PUBLIC, &self.resp_data, &self.sign)
    }
}

type ReceiverState = (Arc<Mutex<Vec<Notification>>>, Arc<AtomicBool>);

/// Acknowledges as the protocol says (`RECV_ORD_ID_<req_seq_id>`), or, when
/// told to, with a plain `OK` Huifu does not take as one.
async fn receive(State((got, acknowledge)): State<ReceiverState>, body: Bytes) -> String {
    let form = parse_form(&body);
    let field = |key: &str| {
        form.iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let notification = Notification {
        resp_data: field("resp_data"),
        sign: field("sign"),
        form: form.clone(),
    };
    let req_seq_id = notification.field("req_seq_id");
    got.lock().unwrap().push(notification);
    if acknowledge.load(Ordering::SeqCst) {
        format!("RECV_ORD_ID_{req_seq_id}")
    } else {
        "OK".to_owned()
    }
}

/// The merchant's `notify_url`. Stops when dropped.
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Notification>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    async fn start(acknowledge: bool) -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/huifu/notify", listener.local_addr().unwrap());
        let got = Arc::new(Mutex::new(Vec::new()));
        let app = axum::Router::new()
            .route("/huifu/notify", axum::routing::post(receive))
            .with_state((got.clone(), Arc::new(AtomicBool::new(acknowledge))));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver { url, got, task }
    }

    fn received(&self) -> Vec<Notification> {
        self.got.lock().unwrap().clone()
    }

    /// The first notification about `req_seq_id`, waiting at most two
    /// seconds for it.
    async fn wait_for(&self, req_seq_id: &str) -> Notification {
        for _ in 0..200 {
            let found = self
                .received()
                .into_iter()
                .find(|n| n.field("req_seq_id") == req_seq_id);
            if let Some(found) = found {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("no notification for {req_seq_id}");
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
        notify_timeout: Duration::from_secs(2),
        notify_retry_delays: vec![Duration::from_millis(50); 3],
        ..Config::demo(HUIFU_ID)
    }
}

async fn start(config: Config) -> (Gateway, Receiver, Merchant) {
    let gateway = Gateway::start("127.0.0.1:0", config).await.unwrap();
    let receiver = Receiver::start(true).await;
    let merchant = Merchant::new(&gateway, &receiver.url);
    (gateway, receiver, merchant)
}

/// Waits (bounded) until the gateway has made `count` deliveries.
async fn wait_for_deliveries(gateway: &Gateway, count: usize) {
    for _ in 0..200 {
        if gateway.deliveries().len() >= count {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_b_scan_c_payment_is_paid_signed_over_raw_data_and_notified_until_acknowledged() {
    let (gateway, receiver, merchant) = start(test_config()).await;

    let answer = merchant.pay("ECNYPAID0001", "88.88", PAYS).await;
    assert!(answer.verified(), "{answer:?}");
    assert_eq!(answer.get("resp_code"), "00000000", "{answer:?}");
    assert_eq!(answer.get("trans_stat"), "S");
    assert_eq!(answer.get("trade_type"), "D_MICROPAY");
    assert_eq!(answer.get("trans_amt"), "88.88");
    assert_eq!(answer.get("pay_amt"), "88.88");
    assert_eq!(answer.get("req_seq_id"), "ECNYPAID0001");
    assert_eq!(answer.get("huifu_id"), HUIFU_ID);
    let hf_seq_id = answer.get("hf_seq_id").to_owned();
    assert_eq!(hf_seq_id.len(), 40);
    assert_eq!(gateway.hf_seq_id("ECNYPAID0001"), Some(hf_seq_id.clone()));
    assert_eq!(gateway.query_id("ECNYPAID0001"), Some(hf_seq_id.clone()));
    let answered: Fields = answer
        .data
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    assert_eq!(
        answer.raw_data,
        canonical(&answered),
        "data is emitted canonical"
    );
    let dc_response: Value = serde_json::from_str(answer.get("dc_response")).unwrap();
    assert!(dc_response.is_object(), "a JSON string in answers");

    let notice = receiver.wait_for("ECNYPAID0001").await;
    assert!(notice.verified(), "{notice:?}");
    let data = notice.data();
    assert_eq!(data["trans_type"], "D_MICROPAY");
    assert_eq!(data["trans_stat"], "S");
    assert_eq!(data["trans_amt"], "88.88");
    assert_eq!(data["hf_seq_id"], hf_seq_id.as_str());
    assert_eq!(data["notify_type"], 1, "a number");
    assert!(
        data["dc_response"].is_object(),
        "an object in notifications"
    );
    let outer: HashMap<_, _> = notice.form.iter().cloned().collect();
    assert_eq!(outer["resp_code"], "00000000");

    // Acknowledged at once: no retry after three retry intervals.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let deliveries = gateway.deliveries();
    assert_eq!(deliveries.len(), 1, "{deliveries:?}");
    assert!(deliveries[0].acknowledged);
    assert_eq!(deliveries[0].answer, "RECV_ORD_ID_ECNYPAID0001");
    assert_eq!(deliveries[0].trans_type, "D_MICROPAY");
    assert_eq!(receiver.received().len(), 1);

    let status = merchant.query("ECNYPAID0001").await;
    assert!(status.verified());
    assert_eq!(status.get("resp_code"), "00000000");
    assert_eq!(status.get("trans_stat"), "S");
    assert_eq!(status.get("trans_type"), "D_MICROPAY");
    assert_eq!(status.get("org_hf_seq_id"), hf_seq_id);
    assert_eq!(status.get("password_trade"), "");
    assert_eq!(
        gateway.order("ECNYPAID0001"),
        Some((OrderState::Paid, 8888, 0))
    );
    assert!(gateway.requests()[0].contains(PAYS));
}

#[tokio::test]
async fn a_notification_not_acknowledged_exactly_is_sent_three_more_times() {
    let gateway = Gateway::start("127.0.0.1:0", test_config()).await.unwrap();
    let receiver = Receiver::start(false).await;
    let merchant = Merchant::new(&gateway, &receiver.url);
    merchant.pay("UNACKED00001", "1.00", PAYS).await;
    wait_for_deliveries(&gateway, 4).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let deliveries = gateway.deliveries();
    assert_eq!(deliveries.len(), 4, "1 try + 3 retries: {deliveries:?}");
    assert!(
        deliveries
            .iter()
            .all(|d| d.status == 200 && d.answer == "OK" && !d.acknowledged)
    );
    assert_eq!(receiver.received().len(), 4);
}

#[tokio::test]
async fn a_tampered_or_unknown_request_is_refused_by_the_gateway_and_nothing_is_stored() {
    let (gateway, _receiver, merchant) = start(test_config()).await;
    let fields = merchant.micropay_fields("TAMPERED0001", "88.88", PAYS);
    let text = canonical(&fields);
    let sign = Merchant::sign(&text);

    let tampered = text.replace("88.88", "0.01");
    let refused = merchant
        .post_raw(
            huifu::MICROPAY_PATH,
            Merchant::envelope(&tampered, &sign, HUIFU_ID),
        )
        .await;
    assert_eq!(refused, (922, String::new()));

    let huifu_signed = STANDARD.encode(rsa_sign(demo_keys::ECNY_HUIFU_PRIVATE, text.as_bytes()));
    let refused = merchant
        .post_raw(
            huifu::MICROPAY_PATH,
            Merchant::envelope(&text, &huifu_signed, HUIFU_ID),
        )
        .await;
    assert_eq!(
        refused.0, 922,
        "signed with a key that is not the merchant's"
    );

    let unsigned = format!(r#"{{"data":{text},"product_id":"MCS","sys_id":"{HUIFU_ID}"}}"#);
    let refused = merchant.post_raw(huifu::MICROPAY_PATH, unsigned).await;
    assert_eq!(refused.0, 922);

    let stranger = Merchant::envelope(&text, &sign, "6666000000000000");
    let refused = merchant.post_raw(huifu::MICROPAY_PATH, stranger).await;
    assert_eq!(refused, (921, String::new()));

    let data_as_string = format!(
        r#"{{"data":{},"product_id":"MCS","sign":"{sign}","sys_id":"{HUIFU_ID}"}}"#,
        serde_json::to_string(&text).unwrap()
    );
    let refused = merchant
        .post_raw(huifu::MICROPAY_PATH, data_as_string)
        .await;
    assert_eq!(refused.0, 412);
    assert_eq!(gateway.order("TAMPERED0001"), None);

    // As Java's and PHP's SDKs send it: unsorted, `\u`-escaped, `\/`. The
    // gateway verifies over the re-canonicalized parsed `data`.
    let loose = format!(
        r#"{{"trans_amt":"1.00","goods_desc":"\u6d4b\u8bd5 a\/b","huifu_id":"{HUIFU_ID}","req_seq_id":"LOOSE0000001","req_date":"{}","auth_code":"{PAYS}","risk_check_data":"{{\"ip_addr\":\"10.0.0.1\"}}"}}"#,
        today()
    );
    let canonical_text = canonical(&owned(&[
        ("trans_amt", "1.00"),
        ("goods_desc", "测试 a/b"),
        ("huifu_id", HUIFU_ID),
        ("req_seq_id", "LOOSE0000001"),
        ("req_date", &today()),
        ("auth_code", PAYS),
        ("risk_check_data", r#"{"ip_addr":"10.0.0.1"}"#),
    ]));
    let (status, body) = merchant
        .post_raw(
            huifu::MICROPAY_PATH,
            Merchant::envelope(&loose, &Merchant::sign(&canonical_text), HUIFU_ID),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let answer = read_answer(&body);
    assert_eq!(answer.get("resp_code"), "00000000", "{answer:?}");
    assert_eq!(
        gateway.order("LOOSE0000001").map(|o| o.0),
        Some(OrderState::Paid)
    );
}

#[tokio::test]
async fn codes_that_are_not_e_cny_and_malformed_fields_are_refused_signed() {
    let (gateway, _receiver, merchant) = start(test_config()).await;
    for (code, wallet) in [
        ("134567890123456780", "WeChat"),
        ("284567890123456780", "Alipay"),
        ("6225000000000000010", "UnionPay"),
        ("012345678901234567", "18 digits"),
        ("0123456789012345670 ", "trailing space"),
    ] {
        let answer = merchant.pay("OTHERWALLET1", "1.00", code).await;
        assert!(answer.verified(), "{wallet}");
        assert_eq!(answer.get("resp_code"), "10000000", "{wallet}: {answer:?}");
        assert_eq!(answer.get("resp_desc"), "付款码格式异常", "{wallet}");
    }
    assert_eq!(gateway.order("OTHERWALLET1"), None);

    let with = |key: &str, value: Option<&str>| {
        let mut fields = merchant.micropay_fields("MALFORMED001", "1.00", PAYS);
        fields.retain(|(k, _)| k != key);
        if let Some(value) = value {
            fields.push((key.to_owned(), value.to_owned()));
        }
        fields
    };
    for (key, value, code) in [
        ("trans_amt", Some("88.8"), "10000000"),
        ("trans_amt", Some("0.00"), "10000000"),
        ("trans_amt", Some("088.88"), "10000000"),
        ("trans_amt", Some("88.888"), "10000000"),
        ("trans_amt", Some("1,00"), "10000000"),
        ("trans_amt", Some("8888"), "10000000"),
        ("risk_check_data", None, "10000000"),
        ("risk_check_data", Some("{}"), "10000000"),
        ("risk_check_data", Some("ip=1.2.3.4"), "10000000"),
        ("goods_desc", Some(""), "10000000"),
        ("req_date", Some("20200101"), "10000000"),
        ("req_seq_id", Some("ORDER-2026-12"), "10000000"),
        (
            "notify_url",
            Some("http://shop.example/notify?x=1"),
            "10000000",
        ),
        ("huifu_id", Some("6666000000000000"), "22000000"),
    ] {
        let answer = merchant.call(huifu::MICROPAY_PATH, with(key, value)).await;
        assert!(answer.verified());
        assert_eq!(answer.get("resp_code"), code, "{key}={value:?}: {answer:?}");
    }
    let yesterday = merchant
        .call(huifu::MICROPAY_PATH, with("req_date", Some("20200101")))
        .await;
    assert_eq!(yesterday.get("resp_desc"), "请求日期必须是当前日期");
    assert_eq!(gateway.order("MALFORMED001"), None);

    let first = merchant.pay("DUPLICATE001", "1.00", PAYS).await;
    assert_eq!(first.get("resp_code"), "00000000");
    let again = merchant.pay("DUPLICATE001", "1.00", PAYS).await;
    assert_eq!(again.get("resp_code"), "20000000");
    let unknown = merchant.query("NEVERSENT001").await;
    assert_eq!(unknown.get("resp_code"), "23000001");
    assert!(unknown.verified());
}

#[tokio::test]
async fn a_payer_confirming_is_processing_until_the_second_query() {
    let (gateway, receiver, merchant) = start(test_config()).await;
    let answer = merchant
        .pay("CONFIRMING01", "5.00", PAYS_ON_SECOND_QUERY)
        .await;
    assert_eq!(answer.get("resp_code"), "00000100");
    assert_eq!(answer.get("trans_stat"), "P");
    assert_eq!(answer.get("out_trans_id"), "", "nothing paid yet");

    let first = merchant.query("CONFIRMING01").await;
    assert_eq!(first.get("resp_code"), "00000000");
    assert_eq!(first.get("trans_stat"), "P");
    assert_eq!(first.get("password_trade"), "Y");
    assert!(gateway.deliveries().is_empty(), "no notification while P");

    let second = merchant.query("CONFIRMING01").await;
    assert_eq!(second.get("trans_stat"), "S");
    assert_eq!(second.get("pay_amt"), "5.00");
    let notice = receiver.wait_for("CONFIRMING01").await;
    assert!(notice.verified());
    assert_eq!(notice.field("trans_stat"), "S");
}

#[tokio::test]
async fn a_decline_fails_with_90000000_and_is_notified_failed() {
    let (gateway, receiver, merchant) = start(test_config()).await;
    let answer = merchant.pay("DECLINED0001", "5.00", DECLINES).await;
    assert!(answer.verified());
    assert_eq!(answer.get("resp_code"), "90000000");
    assert_eq!(answer.get("resp_desc"), "业务执行失败，余额不足");
    assert_eq!(answer.get("trans_stat"), "F");
    let status = merchant.query("DECLINED0001").await;
    assert_eq!(status.get("resp_code"), "00000000");
    assert_eq!(status.get("trans_stat"), "F");
    let notice = receiver.wait_for("DECLINED0001").await;
    assert!(notice.verified());
    assert_eq!(notice.field("trans_stat"), "F");
    assert_eq!(notice.field("resp_code"), "90000000");
    assert_eq!(
        gateway.order("DECLINED0001").map(|o| o.0),
        Some(OrderState::Closed)
    );
}

#[tokio::test]
async fn a_timeout_answers_after_slow_and_the_payment_still_happens() {
    let (gateway, receiver, merchant) = start(test_config()).await;
    let started = Instant::now();
    let answer = merchant.pay("TIMEOUT00001", "1.00", TIMES_OUT).await;
    assert!(started.elapsed() >= Duration::from_millis(400));
    assert_eq!(answer.get("resp_code"), "00000000");
    assert_eq!(
        gateway.order("TIMEOUT00001").map(|o| o.0),
        Some(OrderState::Paid)
    );
    receiver.wait_for("TIMEOUT00001").await;
}

#[tokio::test]
async fn a_c_scan_b_order_shows_a_qr_and_is_paid_when_the_payer_scans_it() {
    let (gateway, receiver, merchant) = start(test_config()).await;
    let order = |trade_type: &str, req_seq_id: &str| {
        owned(&[
            ("req_date", &today()),
            ("req_seq_id", req_seq_id),
            ("huifu_id", HUIFU_ID),
            ("goods_desc", "扫码点餐"),
            ("trade_type", trade_type),
            ("trans_amt", "25.00"),
            ("notify_url", &receiver.url),
            ("time_expire", "20991231235959"),
            ("dc_data", r#"{"digital_bank_no":"01003"}"#),
        ])
    };
    let answer = merchant
        .call(huifu::JSPAY_PATH, order("D_NATIVE", "NATIVEQR0001"))
        .await;
    assert!(answer.verified());
    assert_eq!(answer.get("resp_code"), "00000100", "{answer:?}");
    assert_eq!(answer.get("trans_stat"), "P");
    assert_eq!(answer.get("trade_type"), "D_NATIVE");
    assert!(!answer.get("qr_code").is_empty());
    let waiting = merchant.query("NATIVEQR0001").await;
    assert_eq!(waiting.get("trans_stat"), "P");
    assert_eq!(waiting.get("trans_type"), "D_NATIVE");

    let (status, body) = gateway.buyer_pays("NATIVEQR0001").await;
    assert_eq!((status, body.as_str()), (200, "RECV_ORD_ID_NATIVEQR0001"));
    let notice = receiver.wait_for("NATIVEQR0001").await;
    assert!(notice.verified());
    assert_eq!(notice.field("trans_type"), "D_NATIVE");
    assert_eq!(notice.field("trans_stat"), "S");
    assert_eq!(notice.data()["dc_response"]["custom_bank_code"], "01003");
    let paid = merchant.query("NATIVEQR0001").await;
    assert_eq!(paid.get("trans_stat"), "S");
    assert_eq!(paid.get("trans_amt"), "25.00");

    let wechat = merchant
        .call(huifu::JSPAY_PATH, order("T_NATIVE", "WECHATQR0001"))
        .await;
    assert_eq!(wechat.get("resp_code"), "23000004");
    assert_eq!(gateway.order("WECHATQR0001"), None);
}

#[tokio::test]
async fn refunds_need_a_reason_stop_at_what_is_left_and_are_notified_and_queried() {
    let (gateway, receiver, merchant) = start(test_config()).await;
    merchant.pay("REFUNDME0001", "10.00", PAYS).await;

    let first = merchant
        .refund("REFUND000001", "6.00", "REFUNDME0001")
        .await;
    assert!(first.verified());
    assert_eq!(first.get("resp_code"), "00000000", "{first:?}");
    assert_eq!(first.get("trans_stat"), "S");
    assert_eq!(first.get("pay_channel"), "D");
    assert_eq!(first.get("actual_ref_amt"), "6.00");
    assert_eq!(first.get("org_req_seq_id"), "REFUNDME0001");
    assert_eq!(
        gateway.refund_hf_seq_id("REFUND000001").as_deref(),
        Some(first.get("hf_seq_id"))
    );

    let too_much = merchant
        .refund("REFUND000002", "4.01", "REFUNDME0001")
        .await;
    assert!(too_much.verified());
    assert_eq!(too_much.get("resp_code"), "23000003", "{too_much:?}");
    let mut no_reason = merchant.refund_fields("REFUND000003", "1.00", "REFUNDME0001");
    no_reason.retain(|(k, _)| k != "digital_currency_data");
    let no_reason = merchant.call(huifu::REFUND_PATH, no_reason).await;
    assert_eq!(no_reason.get("resp_code"), "21000000");
    assert_eq!(no_reason.get("resp_desc"), "数字货币交易退款原因必填");
    let mut blank_reason = merchant.refund_fields("REFUND000004", "1.00", "REFUNDME0001");
    for field in blank_reason
        .iter_mut()
        .filter(|(k, _)| k == "digital_currency_data")
    {
        field.1 = r#"{"refund_desc":" "}"#.into();
    }
    let blank_reason = merchant.call(huifu::REFUND_PATH, blank_reason).await;
    assert_eq!(blank_reason.get("resp_code"), "21000000");
    let again = merchant
        .refund("REFUND000001", "1.00", "REFUNDME0001")
        .await;
    assert_eq!(again.get("resp_code"), "20000000");
    let unknown = merchant
        .refund("REFUND000005", "1.00", "NEVERPAID001")
        .await;
    assert_eq!(unknown.get("resp_code"), "23000001");
    assert_eq!(
        gateway.order("REFUNDME0001"),
        Some((OrderState::Paid, 1000, 600))
    );

    let notice = receiver.wait_for("REFUND000001").await;
    assert!(notice.verified());
    assert_eq!(notice.field("trans_type"), "TRANS_REFUND");
    assert_eq!(notice.field("trans_stat"), "S");
    assert_eq!(notice.field("ord_amt"), "6.00");
    assert_eq!(notice.field("total_ref_amt"), "6.00");
    assert_eq!(notice.field("org_req_seq_id"), "REFUNDME0001");
    assert_eq!(notice.field("pay_channel"), "D");

    let status = merchant
        .call(
            huifu::REFUND_QUERY_PATH,
            owned(&[
                ("huifu_id", HUIFU_ID),
                ("org_req_date", &today()),
                ("org_req_seq_id", "REFUND000001"),
            ]),
        )
        .await;
    assert!(status.verified());
    assert_eq!(status.get("resp_code"), "00000000", "{status:?}");
    assert_eq!(status.get("trans_stat"), "S");
    assert_eq!(status.get("trans_type"), "TRANS_REFUND");
    assert_eq!(status.get("ord_amt"), "6.00");
    assert_eq!(status.get("org_hf_seq_id"), first.get("hf_seq_id"));
    let by_serial = merchant
        .call(
            huifu::REFUND_QUERY_PATH,
            owned(&[
                ("huifu_id", HUIFU_ID),
                ("org_hf_seq_id", first.get("hf_seq_id")),
            ]),
        )
        .await;
    assert_eq!(by_serial.get("org_req_seq_id"), "REFUND000001");
    let no_such = merchant
        .call(
            huifu::REFUND_QUERY_PATH,
            owned(&[
                ("huifu_id", HUIFU_ID),
                ("org_req_date", &today()),
                ("org_req_seq_id", "REFUND000002"),
            ]),
        )
        .await;
    assert_eq!(
        no_such.get("resp_code"),
        "23000001",
        "a refused refund left nothing"
    );

    let rest = merchant
        .refund("REFUND000006", "4.00", "REFUNDME0001")
        .await;
    assert_eq!(rest.get("resp_code"), "00000000");
    assert_eq!(
        gateway.order("REFUNDME0001"),
        Some((OrderState::Paid, 1000, 1000))
    );
    let second = receiver.wait_for("REFUND000006").await;
    assert_eq!(second.field("total_ref_amt"), "10.00");

    merchant.pay("UNPAID000001", "3.00", NEVER_CONFIRMED).await;
    let unpaid = merchant
        .refund("REFUND000007", "1.00", "UNPAID000001")
        .await;
    assert_eq!(unpaid.get("resp_code"), "23000000");
}

#[tokio::test]
async fn close_is_refused_for_e_cny_and_changes_nothing() {
    let (gateway, _receiver, merchant) = start(test_config()).await;
    merchant.pay("WAITING00001", "3.00", NEVER_CONFIRMED).await;
    let close = |req_seq_id: &str, org: &str| {
        owned(&[
            ("req_date", &today()),
            ("req_seq_id", req_seq_id),
            ("huifu_id", HUIFU_ID),
            ("org_req_date", &today()),
            ("org_req_seq_id", org),
        ])
    };
    let refused = merchant
        .call(huifu::CLOSE_PATH, close("CLOSE0000001", "WAITING00001"))
        .await;
    assert!(refused.verified());
    assert_eq!(refused.get("resp_code"), "23000004");
    assert_eq!(
        refused.get("resp_desc"),
        "原订单为数字人民币交易，不支持关单"
    );
    assert_eq!(refused.get("trans_stat"), "F");
    assert_eq!(
        gateway.order("WAITING00001").map(|o| o.0),
        Some(OrderState::Waiting)
    );
    let mut close_query = close("CLOSE0000002", "WAITING00001");
    close_query.retain(|(k, _)| k != "req_date" && k != "req_seq_id");
    let refused = merchant.call(huifu::CLOSE_QUERY_PATH, close_query).await;
    assert_eq!(refused.get("resp_code"), "23000004");
    let unknown = merchant
        .call(huifu::CLOSE_PATH, close("CLOSE0000003", "NEVERSENT002"))
        .await;
    assert_eq!(unknown.get("resp_code"), "23000001");
    let still = merchant.query("WAITING00001").await;
    assert_eq!(still.get("trans_stat"), "P");
}

#[tokio::test]
async fn spoiled_answers_and_notifications_do_not_verify() {
    let (gateway, receiver, merchant) = start(test_config()).await;

    gateway.answer_signature_fault(true);
    let answer = merchant.pay("SPOILED00001", "1.00", PAYS).await;
    assert_eq!(answer.get("resp_code"), "00000000");
    assert!(!answer.verified());
    gateway.answer_signature_fault(false);
    assert!(merchant.query("SPOILED00001").await.verified());

    gateway.script("BADSIGNED001", Behaviour::BadSignature);
    let answer = merchant.pay("BADSIGNED001", "1.00", PAYS).await;
    assert_eq!(answer.get("resp_code"), "00000000");
    assert!(!answer.verified());
    assert!(!merchant.query("BADSIGNED001").await.verified());

    receiver.wait_for("SPOILED00001").await;
    let (status, body) = gateway
        .notify(
            "SPOILED00001",
            Tweak {
                amount: Some(1),
                bad_signature: true,
            },
        )
        .await;
    assert_eq!((status, body.as_str()), (200, "RECV_ORD_ID_SPOILED00001"));
    let spoiled = receiver.received().pop().unwrap();
    assert_eq!(spoiled.field("trans_amt"), "0.01");
    assert!(!spoiled.verified());
    assert!(
        verifies(ALIPAY_GATEWAY_PUBLIC, &spoiled.resp_data, &spoiled.sign),
        "signed, with another key"
    );
}

#[tokio::test]
async fn withheld_notifications_are_not_sent_but_asked_for_ones_are() {
    let (gateway, receiver, merchant) = start(test_config()).await;
    gateway.withhold_notifications(true);
    merchant.pay("WITHHELD0001", "2.00", PAYS).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(gateway.deliveries().is_empty());
    assert!(receiver.received().is_empty());

    let (status, body) = gateway.notify("WITHHELD0001", Tweak::default()).await;
    assert_eq!((status, body.as_str()), (200, "RECV_ORD_ID_WITHHELD0001"));
    let deliveries = gateway.deliveries();
    assert_eq!(deliveries.len(), 1);
    assert!(deliveries[0].acknowledged);
    assert!(receiver.wait_for("WITHHELD0001").await.verified());
}
