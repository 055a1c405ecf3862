//! The API's edges: whatever is wrong with a request — its method, its
//! path, its query, its headers, its body's type — the answer is the
//! documented error shape with a request id, and nothing is stored.

use paycore::store::Table;
use paycore_e2e::*;
use reqwest::Method;

const ADMIN_KEY: &str = "adm_test_e2e";

/// `r` is the API's error: `status`, `error.code`, the field to blame
/// (when one is), a message, and the same request id in the header and in
/// the body.
fn assert_error(r: &Reply, status: StatusCode, code: &str, field: Option<&str>, what: &str) {
    assert_eq!(r.status, status, "{what}: {}", r.body);
    let error = &r.body["error"];
    assert_eq!(error["code"], code, "{what}: {}", r.body);
    assert!(
        error["type"].as_str().is_some_and(|t| !t.is_empty()),
        "{what}"
    );
    assert!(
        error["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{what}"
    );
    assert_eq!(error["field"].as_str(), field, "{what}: {}", r.body);
    let id = r
        .header("paycore-request-id")
        .unwrap_or_else(|| panic!("{what}: no request id"));
    assert!(id.starts_with("req_"), "{what}: {id}");
    assert_eq!(error["request_id"], id, "{what}");
    assert!(
        r.header("content-type")
            .is_some_and(|c| c.starts_with("application/json")),
        "{what}"
    );
}

async fn call(t: &TestApp, method: Method, path: &str, key: &str) -> Reply {
    t.send(t.client.request(method, t.url(path)).bearer_auth(key))
        .await
}

/// Rows of every table that records what the API did.
async fn rows(t: &TestApp) -> Vec<i64> {
    let mut rows = Vec::new();
    for table in [
        Table::Payments,
        Table::Refunds,
        Table::Events,
        Table::Callbacks,
        Table::Outbox,
    ] {
        rows.push(t.store().count(table).await.unwrap());
    }
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_method_a_path_does_not_take_is_405_with_allow() {
    let t = TestApp::start().await;
    let before = rows(&t).await;
    // (method, path, key, a method the Allow header must list)
    let cases = [
        (Method::PUT, "/v1/payments", DEMO_KEY, "POST"),
        (Method::DELETE, "/v1/payments", DEMO_KEY, "GET"),
        (Method::DELETE, "/v1/payments/pay_x", DEMO_KEY, "GET"),
        (Method::GET, "/v1/payments/pay_x/sync", DEMO_KEY, "POST"),
        (Method::PUT, "/v1/payments/pay_x/refunds", DEMO_KEY, "POST"),
        (Method::PATCH, "/v1/refunds/re_x", DEMO_KEY, "GET"),
        (Method::PUT, "/v1/qr-codes", DEMO_KEY, "GET"),
        (Method::GET, "/v1/routing/explain", DEMO_KEY, "POST"),
        (Method::PUT, "/v1/events", DEMO_KEY, "GET"),
        (
            Method::GET,
            "/v1/callbacks/demo/sandbox-main",
            DEMO_KEY,
            "POST",
        ),
        (Method::POST, "/healthz", DEMO_KEY, "GET"),
        (Method::DELETE, "/admin/status", ADMIN_KEY, "GET"),
        (
            Method::PUT,
            "/admin/channels/demo/sandbox-main/recording",
            ADMIN_KEY,
            "DELETE",
        ),
        (Method::DELETE, "/pay/not-a-token", DEMO_KEY, "POST"),
    ];
    for (method, path, key, allowed) in cases {
        let what = format!("{method} {path}");
        let r = call(&t, method, path, key).await;
        assert_error(
            &r,
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            None,
            &what,
        );
        let allow = r
            .header("allow")
            .unwrap_or_else(|| panic!("{what}: no Allow"));
        assert!(
            allow.split(',').any(|m| m.trim() == allowed),
            "{what}: Allow {allow}"
        );
    }
    assert_eq!(rows(&t).await, before, "nothing stored");
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_path_parameter_that_is_not_utf8_is_400_naming_it() {
    let t = TestApp::start().await;
    let before = rows(&t).await;
    let cases = [
        (Method::GET, "/v1/payments/pay_%ff%fe", DEMO_KEY, "id"),
        (Method::POST, "/v1/payments/pay_%ff%fe/sync", DEMO_KEY, "id"),
        (
            Method::POST,
            "/v1/payments/pay_%c3%28/close",
            DEMO_KEY,
            "id",
        ),
        (Method::POST, "/v1/payments/pay_%ff/cancel", DEMO_KEY, "id"),
        (Method::GET, "/v1/refunds/re_%ff", DEMO_KEY, "id"),
        (Method::POST, "/v1/refunds/re_%ff/sync", DEMO_KEY, "id"),
        (Method::GET, "/v1/qr-codes/qr_%ff", DEMO_KEY, "id"),
        (Method::GET, "/v1/qr-codes/qr_%ff/image.svg", DEMO_KEY, "id"),
        (Method::POST, "/v1/events/evt_%ff/redeliver", DEMO_KEY, "id"),
        (
            Method::POST,
            "/admin/plugins/%ff/rollback",
            ADMIN_KEY,
            "name",
        ),
        (
            Method::POST,
            "/admin/channels/demo/%ff/recording",
            ADMIN_KEY,
            "channel",
        ),
    ];
    for (method, path, key, field) in cases {
        let what = format!("{method} {path}");
        let r = call(&t, method, path, key).await;
        assert_error(
            &r,
            StatusCode::BAD_REQUEST,
            "invalid_path",
            Some(field),
            &what,
        );
    }
    // With a body, too: the path is read before the body.
    let refund = t
        .post(
            DEMO_KEY,
            "/v1/payments/pay_%ff/refunds",
            json!({ "merchant_refund_no": "R1", "amount": 1 }),
        )
        .await;
    assert_error(
        &refund,
        StatusCode::BAD_REQUEST,
        "invalid_path",
        Some("id"),
        "refund",
    );
    // Callbacks carry no key; the channel still gets the error shape.
    let callback = t
        .send(
            t.client
                .post(t.url("/v1/callbacks/%ff/sandbox-main"))
                .body("{}"),
        )
        .await;
    assert_error(
        &callback,
        StatusCode::BAD_REQUEST,
        "invalid_path",
        Some("tenant"),
        "callback",
    );
    // A hosted page's token that cannot be decoded is an unknown token: the
    // payer sees the 404 page.
    let page = t.send(t.client.get(t.url("/pay/%ff%fe"))).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(
        page.header("content-type")
            .is_some_and(|c| c.starts_with("text/html"))
    );
    assert_eq!(rows(&t).await, before, "nothing stored");
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_parameter_given_twice_is_400_naming_it() {
    let t = TestApp::start().await;
    let cases = [
        (
            "/v1/payments?merchant_order_no=A&merchant_order_no=B",
            "merchant_order_no",
        ),
        (
            "/v1/payments?merchant_order_no=A&merchant_order_no=A",
            "merchant_order_no",
        ),
        ("/v1/events?payment_id=pay_a&payment_id=pay_b", "payment_id"),
        ("/v1/qr-codes?limit=1&limit=2", "limit"),
        ("/v1/qr-codes?store_id=a&limit=5&store_id=b", "store_id"),
    ];
    for (path, field) in cases {
        let r = t.get(DEMO_KEY, path).await;
        assert_error(
            &r,
            StatusCode::BAD_REQUEST,
            "parameter_repeated",
            Some(field),
            path,
        );
    }
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_not_declared_as_json_is_415_and_pays_nothing() {
    let t = TestApp::start().await;
    let paid = t.pay(barcode("EDGE-CT-0", 1000, "134567890124")).await;
    assert_eq!(paid.status, StatusCode::CREATED);
    let before = rows(&t).await;
    let payment = barcode("EDGE-CT-1", 1000, "134567890124").to_string();
    let bodies = [
        ("/v1/payments", payment.clone()),
        (
            &format!("/v1/payments/{}/refunds", paid.id()) as &str,
            json!({ "merchant_refund_no": "EDGE-R-1", "amount": 1 }).to_string(),
        ),
        (
            "/v1/qr-codes",
            json!({ "store_id": "s1", "currency": "CNY" }).to_string(),
        ),
        ("/v1/routing/explain", payment.clone()),
    ]
    .map(|(path, body)| (path.to_string(), body));
    let content_types = [
        None,
        Some("text/plain"),
        Some("application/xml"),
        Some("application/x-www-form-urlencoded"),
        Some("image/png"),
        Some("application/json; charset=latin1"),
    ];
    for (path, body) in &bodies {
        for content_type in content_types {
            let mut request = t
                .client
                .post(t.url(path))
                .bearer_auth(DEMO_KEY)
                .body(body.clone());
            if let Some(c) = content_type {
                request = request.header("content-type", c);
            }
            let r = t.send(request).await;
            let what = format!("{path} as {content_type:?}");
            assert_error(
                &r,
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                Some("Content-Type"),
                &what,
            );
        }
    }
    assert_eq!(rows(&t).await, before, "nothing stored");
    let codes = t.get(DEMO_KEY, "/v1/qr-codes").await;
    assert_eq!(codes.body["data"], json!([]), "{}", codes.body);
    // Channels' callbacks are whatever the channel sends: not refused for
    // their type (this one is refused by the plugin, for its signature).
    let callback = t
        .send(
            t.client
                .post(t.url("/v1/callbacks/demo/sandbox-main"))
                .header("content-type", "text/plain")
                .body("{}"),
        )
        .await;
    assert_ne!(callback.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_with_whitespace_are_401_and_two_authorization_headers_are_400() {
    let t = TestApp::start().await;
    let before = rows(&t).await;
    let read = "/v1/payments/pay_none";
    let with = |values: &[&str], path: &str| {
        let mut request = t.client.get(t.url(path));
        for v in values {
            request = request.header("authorization", *v);
        }
        t.send(request)
    };
    let good = with(&["Bearer sk_test_demo"], read).await;
    assert_eq!(good.status, StatusCode::NOT_FOUND, "the key itself is good");
    for value in [
        "Bearer  sk_test_demo",
        "Bearer \tsk_test_demo",
        "Bearer sk_test_demo \t x",
        "Bearer sk_test\t_demo",
        "Bearer",
        "bearer sk_test_demo",
    ] {
        let r = with(&[value], read).await;
        assert_error(&r, StatusCode::UNAUTHORIZED, "invalid_api_key", None, value);
    }
    let admin = with(&["Bearer  adm_test_e2e"], "/admin/status").await;
    assert_error(
        &admin,
        StatusCode::UNAUTHORIZED,
        "invalid_api_key",
        None,
        "admin",
    );
    for values in [
        ["Bearer sk_test_demo", "Bearer sk_test_demo"],
        ["Bearer sk_test_demo", "Bearer sk_test_acme"],
        ["Bearer sk_test_nope", "Bearer sk_test_demo"],
    ] {
        let what = values.join(" + ");
        let r = with(&values, read).await;
        assert_error(
            &r,
            StatusCode::BAD_REQUEST,
            "invalid_header",
            Some("Authorization"),
            &what,
        );
    }
    let admin = with(
        &["Bearer adm_test_e2e", "Bearer adm_test_e2e"],
        "/admin/status",
    )
    .await;
    assert_error(
        &admin,
        StatusCode::BAD_REQUEST,
        "invalid_header",
        Some("Authorization"),
        "admin",
    );
    // Refused before anything is done, creates included.
    let create = t
        .send(
            t.client
                .post(t.url("/v1/payments"))
                .header("authorization", "Bearer sk_test_demo")
                .header("authorization", "Bearer sk_test_acme")
                .json(&barcode("EDGE-AUTH-1", 100, "134567890124")),
        )
        .await;
    assert_error(
        &create,
        StatusCode::BAD_REQUEST,
        "invalid_header",
        Some("Authorization"),
        "create",
    );
    assert_eq!(rows(&t).await, before, "nothing stored");
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_ip_that_is_not_an_address_is_422_naming_it() {
    let t = TestApp::start().await;
    let before = rows(&t).await;
    for junk in ["not-an-ip", "203.0.113", "203.0.113.7:8080", "<script>"] {
        let mut body = barcode("EDGE-IP-1", 100, "134567890124");
        body["client_ip"] = json!(junk);
        let r = t.pay(body).await;
        assert_error(
            &r,
            StatusCode::UNPROCESSABLE_ENTITY,
            "parameter_invalid",
            Some("client_ip"),
            junk,
        );
    }
    assert_eq!(rows(&t).await, before, "nothing stored");
    let mut body = barcode("EDGE-IP-1", 100, "134567890124");
    body["client_ip"] = json!("2001:db8::7");
    assert_eq!(t.pay(body).await.status, StatusCode::CREATED);
    t.stop().await;
}

/// A NUL byte in a header is not HTTP: hyper's parser refuses the request
/// head before any of paycore runs, with an empty 400, and closes the
/// connection (docs/api.md says why this one answer has no error body).
/// Nothing is stored, and the server keeps serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nul_byte_in_a_header_is_refused_before_paycore_and_changes_nothing() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let t = TestApp::start().await;
    let before = rows(&t).await;
    let addr = t.base.trim_start_matches("http://");
    let body = barcode("EDGE-NUL-1", 100, "134567890124").to_string();
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /v1/payments HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {DEMO_KEY}\0\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_to_end(&mut answer),
    )
    .await
    .expect("the connection is closed")
    .unwrap();
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 400 "), "{text}");
    assert!(
        text.to_ascii_lowercase().contains("content-length: 0"),
        "{text}"
    );
    assert_eq!(rows(&t).await, before, "nothing stored");
    let after = t.pay(barcode("EDGE-NUL-1", 100, "134567890124")).await;
    assert_eq!(after.status, StatusCode::CREATED, "{}", after.body);
    t.stop().await;
}
