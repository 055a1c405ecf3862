use super::*;

fn cny() -> Currency {
    Currency::lookup("CNY").unwrap()
}

fn pay<'a>(out: &'a str, scene: Scene, auth: Option<&'a str>) -> PayRequest<'a> {
    PayRequest {
        merchant: "m1",
        out_trade_no: out,
        amount: 1000,
        currency: cny(),
        scene,
        auth_code: auth,
        subject: "s",
        notify_url: None,
        expires_in: None,
    }
}

fn order(o: PayOutcome) -> Order {
    match o {
        PayOutcome::Order(o) => o,
        other => panic!("expected an order, got {other:?}"),
    }
}

#[test]
fn evicts_oldest_orders_and_refunds() {
    let mut s = Store::with_limits(Duration::ZERO, 3, 2);
    let (now, wall) = (Instant::now(), OffsetDateTime::now_utc());
    for i in 0..5 {
        s.pay(
            pay(&format!("o{i}"), Scene::Barcode, Some("1234567890")),
            now,
            wall,
        )
        .unwrap();
    }
    assert_eq!(s.len().0, 3);
    assert!(matches!(
        s.query("m1", None, Some("o0"), now),
        Err(ApiError::OrderNotFound)
    ));
    assert!(matches!(
        s.query("m1", None, Some("o1"), now),
        Err(ApiError::OrderNotFound)
    ));
    assert!(s.query("m1", None, Some("o4"), now).is_ok());
    assert_eq!(s.by_out.len(), 3);
    assert_eq!(s.order_fifo.len(), 3);
    for i in 0..3 {
        let r = RefundRequest {
            merchant: "m1",
            out_trade_no: "o4",
            out_refund_no: &format!("r{i}"),
            amount: "1.00",
            reason: "",
        };
        s.refund(r, now, wall).unwrap();
    }
    assert_eq!(s.len().1, 2);
    assert!(s.refund_query("m1", "r0").is_err());
    assert!(s.refund_query("m1", "r2").is_ok());
}

#[test]
fn trade_numbers_are_unique_and_shaped() {
    let mut s = Store::new(Duration::ZERO);
    let (now, wall) = (Instant::now(), OffsetDateTime::now_utc());
    let a = order(s.pay(pay("a", Scene::Qrcode, None), now, wall).unwrap());
    let b = order(s.pay(pay("b", Scene::Qrcode, None), now, wall).unwrap());
    assert_ne!(a.trade_no, b.trade_no);
    assert!(a.trade_no.starts_with("sbx"));
    assert!(a.trade_no[3..].bytes().all(|c| c.is_ascii_digit()));
}

#[test]
fn a_delay_past_the_end_of_time_stays_processing_without_panicking() {
    let mut s = Store::new(Duration::from_millis(u64::MAX));
    let (now, wall) = (Instant::now(), OffsetDateTime::now_utc());
    let p = order(
        s.pay(pay("p", Scene::Barcode, Some("1234567892")), now, wall)
            .unwrap(),
    );
    assert_eq!(p.status, OrderStatus::Processing);
    let much_later = now + Duration::from_secs(86_400 * 365);
    let still = s.query("m1", Some(&p.trade_no), None, much_later).unwrap();
    assert_eq!(still.status, OrderStatus::Processing);
}

#[test]
fn processing_settles_and_pending_expires_lazily() {
    let mut s = Store::new(Duration::from_secs(3));
    let (now, wall) = (Instant::now(), OffsetDateTime::now_utc());
    let p = order(
        s.pay(pay("p", Scene::Barcode, Some("1234567892")), now, wall)
            .unwrap(),
    );
    assert_eq!(p.status, OrderStatus::Processing);
    assert_eq!(
        s.query("m1", None, Some("p"), now).unwrap().status,
        OrderStatus::Processing
    );
    let later = now + Duration::from_secs(3);
    let settled = s.query("m1", Some(&p.trade_no), None, later).unwrap();
    assert_eq!(settled.status, OrderStatus::Succeeded);
    assert_eq!(settled.paid_at, Some(wall + Duration::from_secs(3)));

    let mut req = pay("q", Scene::Qrcode, None);
    req.expires_in = Some(Duration::from_secs(60));
    let q = order(s.pay(req, now, wall).unwrap());
    assert_eq!(
        s.approve(&q.trade_no, now + Duration::from_secs(61), wall)
            .unwrap_err(),
        ApproveError::Expired
    );
    assert_eq!(
        s.query("m1", None, Some("q"), now).unwrap().status,
        OrderStatus::Closed
    );
}

#[test]
fn merchants_have_separate_namespaces() {
    let mut s = Store::new(Duration::ZERO);
    let (now, wall) = (Instant::now(), OffsetDateTime::now_utc());
    let a = order(s.pay(pay("same", Scene::Qrcode, None), now, wall).unwrap());
    let mut other = pay("same", Scene::Qrcode, None);
    other.merchant = "m2";
    other.amount = 5;
    let b = order(s.pay(other, now, wall).unwrap());
    assert_ne!(a.trade_no, b.trade_no);
    assert!(matches!(
        s.query("m2", Some(&a.trade_no), None, now),
        Err(ApiError::OrderNotFound)
    ));
}

#[test]
fn cancel_after_partial_refund_refunds_the_rest() {
    let mut s = Store::new(Duration::ZERO);
    let (now, wall) = (Instant::now(), OffsetDateTime::now_utc());
    s.pay(pay("o", Scene::Barcode, Some("1234567890")), now, wall)
        .unwrap();
    let r = RefundRequest {
        merchant: "m1",
        out_trade_no: "o",
        out_refund_no: "r",
        amount: "4.00",
        reason: "",
    };
    s.refund(r, now, wall).unwrap();
    let c = s.cancel("m1", "o", now, wall).unwrap();
    assert_eq!((c.status, c.refunded), (OrderStatus::Cancelled, 1000));
    assert_eq!(
        c.reversal,
        Some(Reversal {
            at: wall,
            amount: 600
        })
    );
    let r2 = RefundRequest {
        merchant: "m1",
        out_trade_no: "o",
        out_refund_no: "r2",
        amount: "0.01",
        reason: "",
    };
    assert!(matches!(
        s.refund(r2, now, wall),
        Err(ApiError::RefundExceeds(_))
    ));
}
