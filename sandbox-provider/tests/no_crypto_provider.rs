//! In a process with no rustls crypto provider installed, reqwest panics when
//! a client is built. The provider must survive that: approval still pays the
//! order, the notification is skipped with an error log. Its own test binary
//! (so its own process), speaking raw HTTP/1.1 because reqwest cannot be used.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use axum::Router;
use common::{KEY1, M1, Server, hmac_hex};
use paycore_sandbox_provider::{Provider, ProviderConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn http(
    server: &Server,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
        server.addr,
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    s.write_all(body).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    let status = out.split(' ').nth(1).unwrap().parse().unwrap();
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

#[tokio::test]
async fn approval_works_and_notification_is_skipped_without_a_crypto_provider() {
    assert!(rustls::crypto::CryptoProvider::get_default().is_none());
    let provider = Provider::new(ProviderConfig {
        merchants: HashMap::from([(M1.to_string(), KEY1.to_vec())]),
        ..ProviderConfig::default()
    });
    let server = Server::start(Router::new().nest("/sandbox", provider.router())).await;

    let body = serde_json::to_vec(&serde_json::json!({
        "out_trade_no": "nc-1", "amount": "1.00", "currency": "CNY", "scene": "qrcode",
        "subject": "s", "notify_url": "http://127.0.0.1:9/notify",
    }))
    .unwrap();
    let sig = hmac_hex(KEY1, &body);
    let headers = [
        ("Content-Type", "application/json"),
        ("X-Sandbox-Merchant", M1),
        ("X-Sandbox-Signature", &sig),
    ];
    let (status, answer) = http(&server, "POST", "/sandbox/api/v1/pay", &headers, &body).await;
    assert_eq!(status, 200, "{answer}");
    let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
    let trade_no = answer["trade_no"].as_str().unwrap();
    // The default public base is used for the payer page link.
    assert_eq!(
        answer["qr_code"],
        format!("http://127.0.0.1:8080/sandbox/payer/{trade_no}")
    );

    let (status, _) = http(
        &server,
        "POST",
        &format!("/sandbox/payer/{trade_no}/approve"),
        &[],
        b"",
    )
    .await;
    assert_eq!(status, 303);
    provider.drain_notifications(Duration::from_secs(5)).await;
    let (status, page) = http(
        &server,
        "GET",
        &format!("/sandbox/payer/{trade_no}"),
        &[],
        b"",
    )
    .await;
    assert_eq!(status, 200);
    assert!(page.contains("SUCCEEDED"));
}
