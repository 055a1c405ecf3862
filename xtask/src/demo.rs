//! `cargo xtask demo`: once the demo runtime is ready, make a checkout
//! payment and a static QR code for the demo tenant through the API and
//! print their links, so the hosted cashier can be tried at once. Plain
//! HTTP/1.1 over a loopback socket: xtask stays free of an HTTP client.

use anyhow::{Context, Result, bail};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

const ADDR: &str = "127.0.0.1:8080";
/// The demo tenant's published test key (config/tenants/demo.toml).
const DEMO_KEY: &str = "sk_test_demo";

/// Waits (at most a minute) for the runtime, then prints the links.
pub fn print_links() -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok((200, _)) = request("GET", "/readyz", None) {
            break;
        }
        if Instant::now() > deadline {
            bail!("the demo did not become ready within a minute");
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let payment = format!(
        r#"{{"merchant_order_no":"DEMO-CHECKOUT-{stamp}","amount":1800,"currency":"CNY","scene":"checkout","subject":"Flat white","goods":[{{"id":"sku-2","name":"flat white","quantity":1,"unit_price":1800}}]}}"#
    );
    let (status, body) = request("POST", "/v1/payments", Some(&payment))?;
    if status != 201 {
        bail!("creating the demo checkout payment: {status} {body}");
    }
    let checkout = json_string(&body, "url").context("the checkout link")?;
    let code = r#"{"store_id":"demo-store","terminal_id":"counter-1","currency":"CNY","subject":"Demo Coffee, counter 1"}"#;
    let (status, body) = request("POST", "/v1/qr-codes", Some(code))?;
    if status != 201 {
        bail!("creating the demo QR code: {status} {body}");
    }
    let static_code = json_string(&body, "url").context("the QR code's link")?;
    let image = json_string(&body, "image_url").context("the QR code's image")?;
    println!(
        "\n== hosted cashier (docs/checkout.md)\n\
         checkout link:        {checkout}\n\
         static QR code page:  {static_code}\n\
         its printable SVG:    {image}  (with the demo key)\n\
         Open a link, choose the sandbox wallet, then open the sandbox wallet's\n\
         page it shows and approve: the checkout page turns to paid by itself.\n"
    );
    Ok(())
}

fn request(method: &str, path: &str, body: Option<&str>) -> Result<(u16, String)> {
    let mut stream = TcpStream::connect(ADDR)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let body = body.unwrap_or("");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {ADDR}\r\nAuthorization: Bearer {DEMO_KEY}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("an HTTP status line")?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

/// The first `"key":"…"` string in a JSON text (the demo's answers hold
/// URLs, which need no unescaping).
fn json_string(json: &str, key: &str) -> Option<String> {
    let start = json.find(&format!("\"{key}\":\""))? + key.len() + 4;
    let end = json[start..].find('"')? + start;
    Some(json[start..end].to_string())
}
