use super::*;
use flate2::Compression;
use flate2::write::GzEncoder;
use std::io::Write;

const HEADER: &str = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注";
const SUMMARY_HEADER: &str =
    "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额";

fn payment(time: &str, trade_no: &str, order: &str, amount: &str, fee: &str) -> String {
    format!(
        "`{time},`wxd678efh567hg6787,`1900000001,`0,`,`{trade_no},`{order},`oUpF8uMuAJO_M2pxb1Q9zNjWeS6o,`MICROPAY,`SUCCESS,`OTHERS,`CNY,`{amount},`0.00,`0,`0,`0.00,`0.00,`,`,`2 x latte, large,`,`{fee},`0.60%,`{amount},`0.00,`"
    )
}

fn refund(time: &str, order: &str, refund_id: &str, no: &str, amount: &str, fee: &str) -> String {
    format!(
        "`{time},`wxd678efh567hg6787,`1900000001,`0,`,`4200000000202606010000000001,`{order},`oUpF8uMuAJO_M2pxb1Q9zNjWeS6o,`MICROPAY,`REFUND,`OTHERS,`CNY,`0.00,`0.00,`{refund_id},`{no},`{amount},`0.00,`ORIGINAL,`SUCCESS,`2 x latte,`,`{fee},`0.60%,`0.00,`{amount},`"
    )
}

fn revoked(time: &str, order: &str, amount: &str, fee: &str) -> String {
    format!(
        "`{time},`wxd678efh567hg6787,`1900000001,`0,`,`4200000000202606010000000003,`{order},`oUpF8uMuAJO_M2pxb1Q9zNjWeS6o,`MICROPAY,`REVOKED,`OTHERS,`CNY,`0.00,`0.00,`503000000000000000003,`0,`{amount},`0.00,`ORIGINAL,`SUCCESS,`tea,`,`{fee},`0.60%,`0.00,`{amount},`"
    )
}

fn good_rows() -> Vec<String> {
    vec![
        payment(
            "2031-06-01 10:00:01",
            "4200000000202606010000000001",
            "WX-1",
            "88.88",
            "0.53000",
        ),
        payment(
            "2031-06-01 11:00:00",
            "4200000000202606010000000003",
            "WX-3",
            "25.00",
            "0.15000",
        ),
        refund(
            "2031-06-01 12:00:00",
            "WX-1",
            "503000000020260601001",
            "WX-1-R1",
            "8.88",
            "-0.05000",
        ),
        revoked("2031-06-01 13:00:00", "WX-3", "25.00", "-0.15000"),
    ]
}

fn csv(rows: &[String], summary: &str) -> String {
    let mut text = format!("{HEADER}\r\n");
    for row in rows {
        text.push_str(row);
        text.push_str("\r\n");
    }
    text.push_str(SUMMARY_HEADER);
    text.push_str("\r\n");
    text.push_str(summary);
    text.push_str("\r\n");
    text
}

fn good_csv() -> String {
    csv(
        &good_rows(),
        "`4,`113.88,`33.88,`0.00,`0.48000,`113.88,`33.88",
    )
}

fn gzip(text: &str) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(text.as_bytes()).unwrap();
    encoder.finish().unwrap()
}

fn sha1(text: &str) -> String {
    hex::encode(Sha1::digest(text.as_bytes()))
}

/// The bill as published: its gzip and the digest WeChat states.
fn read(text: &str, offset: u64, limit: u64) -> Result<Parsed, String> {
    read_bill(&gzip(text), &sha1(text), offset, limit)
}

#[test]
fn a_good_bill_reads_as_lines_and_totals() {
    let bill = read(&good_csv(), 0, 100).unwrap();
    assert_eq!(bill.rows, 4);
    let june_1 = |h: i64, m: i64, s: i64| 1_938_009_600_000 + ((h * 60 + m) * 60 + s) * 1000;
    assert_eq!(
        bill.lines,
        vec![
            StatementLine {
                kind: LineKind::Payment,
                merchant_order_no: "WX-1".into(),
                refund_no: None,
                channel_no: Some("4200000000202606010000000001".into()),
                amount: 8888,
                fee: 53,
                currency: "CNY".into(),
                status: LineStatus::Succeeded,
                at: june_1(10, 0, 1),
            },
            StatementLine {
                kind: LineKind::Payment,
                merchant_order_no: "WX-3".into(),
                refund_no: None,
                channel_no: Some("4200000000202606010000000003".into()),
                amount: 2500,
                fee: 15,
                currency: "CNY".into(),
                status: LineStatus::Succeeded,
                at: june_1(11, 0, 0),
            },
            StatementLine {
                kind: LineKind::Refund,
                merchant_order_no: "WX-1".into(),
                refund_no: Some("WX-1-R1".into()),
                channel_no: Some("503000000020260601001".into()),
                amount: 888,
                fee: -5,
                currency: "CNY".into(),
                status: LineStatus::Succeeded,
                at: june_1(12, 0, 0),
            },
            StatementLine {
                kind: LineKind::Reversal,
                merchant_order_no: "WX-3".into(),
                refund_no: None,
                channel_no: Some("503000000000000000003".into()),
                amount: 2500,
                fee: -15,
                currency: "CNY".into(),
                status: LineStatus::Succeeded,
                at: june_1(13, 0, 0),
            },
        ]
    );
    assert_eq!(
        bill.totals,
        StatedTotals {
            currency: "CNY".into(),
            payments: None,
            payment_amount: Some(11_388),
            refunds: None,
            refund_amount: Some(3_388),
            fees: Some(48),
        }
    );
}

#[test]
fn a_bom_lf_endings_and_backticked_header_read_the_same() {
    let text = format!("\u{feff}{}", good_csv().replace("\r\n", "\n")).replacen(
        "交易时间,",
        "`交易时间,",
        1,
    );
    let bill = read(&text, 0, 100).unwrap();
    assert_eq!(bill.lines.len(), 4);
    assert_eq!(bill.lines[0].amount, 8888);
}

#[test]
fn pages_read_only_their_rows_and_a_bad_row_fails_its_own_page() {
    let page = read(&good_csv(), 1, 2).unwrap();
    assert_eq!(page.rows, 4);
    let orders: Vec<_> = page
        .lines
        .iter()
        .map(|l| (l.kind, l.merchant_order_no.as_str()))
        .collect();
    assert_eq!(
        orders,
        [(LineKind::Payment, "WX-3"), (LineKind::Refund, "WX-1")]
    );
    // A malformed row is read, and refused, by the page it falls on; the
    // pages before it only count it (the host acts on no page before it
    // has read them all, so the run fails either way).
    let mut rows = good_rows();
    rows[3] = rows[3].replace("`25.00,`0.00,`ORIGINAL", "`25.0.0,`0.00,`ORIGINAL");
    let text = csv(&rows, "`4,`113.88,`33.88,`0.00,`0.48000,`113.88,`33.88");
    let first = read(&text, 0, 1).unwrap();
    assert_eq!((first.rows, first.lines.len()), (4, 1));
    let err = read(&text, 3, 1).unwrap_err();
    assert_eq!(
        err,
        "line 5: 退款金额 `25.0.0`: `25.0.0` is not a decimal amount"
    );
}

#[test]
fn an_empty_day_has_a_header_and_a_zero_summary() {
    let text = csv(&[], "`0,`0.00,`0.00,`0.00,`0.00000,`0.00,`0.00");
    let bill = read(&text, 0, 100).unwrap();
    assert_eq!((bill.rows, bill.lines.len()), (0, 0));
    assert_eq!(bill.totals.payment_amount, Some(0));
}

#[test]
fn a_digest_that_does_not_match_is_refused_before_the_content() {
    let text = good_csv();
    let err = read_bill(&gzip(&text), &sha1("something else"), 0, 100).unwrap_err();
    assert!(
        err.starts_with(&format!(
            "its SHA-1 is {} but WeChat Pay stated",
            sha1(&text)
        )),
        "{err}"
    );
    // Even when the content would not read either.
    let broken = text.replace("88.88", "8X.88");
    let err = read_bill(&gzip(&broken), &sha1(&text), 0, 100).unwrap_err();
    assert!(err.contains("the file was altered or cut short"), "{err}");
    // Upper-case hex is the same digest.
    assert!(read_bill(&gzip(&text), &sha1(&text).to_uppercase(), 0, 100).is_ok());
}

#[test]
fn a_cut_gzip_is_refused_as_broken() {
    let text = good_csv();
    let gz = gzip(&text);
    for cut in [gz.len() - 4, gz.len() / 2, 12] {
        let err = read_bill(&gz[..cut], &sha1(&text), 0, 100).unwrap_err();
        assert!(
            err.contains("gzip stream is broken") || err.contains("altered or cut short"),
            "cut at {cut}: {err}"
        );
    }
    let err = read_bill(&gz[..gz.len() / 2], &sha1(&text), 0, 100).unwrap_err();
    assert!(err.contains("gzip stream is broken"), "{err}");
    let err = read_bill(b"not a gzip at all", &sha1(&text), 0, 100).unwrap_err();
    assert!(err.contains("gzip stream is broken"), "{err}");
}

#[test]
fn a_bill_without_its_summary_is_cut_short() {
    let mut text = format!("{HEADER}\r\n");
    for row in good_rows() {
        text.push_str(&row);
        text.push_str("\r\n");
    }
    let err = read(&text, 0, 100).unwrap_err();
    assert_eq!(
        err,
        "no summary (总交易单数…) after its 4 rows: the file is cut short"
    );
    let err = read(&format!("{text}{SUMMARY_HEADER}\r\n"), 0, 100).unwrap_err();
    assert_eq!(err, "the summary's header has no row");
    let err = read("", 0, 100).unwrap_err();
    assert_eq!(err, "the file is empty");
}

#[test]
fn a_summary_stating_other_rows_is_refused() {
    let text = csv(
        &good_rows(),
        "`5,`113.88,`33.88,`0.00,`0.48000,`113.88,`33.88",
    );
    assert_eq!(
        read(&text, 0, 100).unwrap_err(),
        "its summary states 5 rows (总交易单数) but it lists 4"
    );
    let text = csv(
        &good_rows(),
        "`4.0,`113.88,`33.88,`0.00,`0.48000,`113.88,`33.88",
    );
    assert_eq!(read(&text, 0, 100).unwrap().rows, 4);
}

#[test]
fn unknown_and_missing_columns_are_refused() {
    let text = good_csv().replacen("费率备注", "结算金额", 1);
    assert_eq!(
        read(&text, 0, 100).unwrap_err(),
        "line 1 (the header): unknown column `结算金额`"
    );
    let text = good_csv().replacen(",申请退款金额,", ",订单金额,", 1);
    assert_eq!(
        read(&text, 0, 100).unwrap_err(),
        "line 1 (the header): column `订单金额` appears twice"
    );
    let text = good_csv().replacen(",申请退款金额,", ",", 1);
    assert_eq!(
        read(&text, 0, 100).unwrap_err(),
        "line 1 (the header): no column `申请退款金额`"
    );
    let text = good_csv().replacen("退款总金额,充值券", "退款总金额,充值券总金额,充值券", 1);
    assert_eq!(
        read(&text, 0, 100).unwrap_err(),
        "line 6 (the summary's header): unknown column `充值券总金额`"
    );
}

#[test]
fn each_malformed_field_names_its_line_and_column() {
    let cases = [
        (
            "`88.88,`0.00,`0,",
            "`88.8.8,`0.00,`0,",
            "line 2: 应结订单金额 `88.8.8`: `88.8.8` is not a decimal amount",
        ),
        (
            "`0.53000,",
            "`0.53100,",
            "line 2: 手续费 `0.53100`: `0.53100` has more decimals than CNY allows",
        ),
        (
            "`2031-06-01 10:00:01,",
            "`2031-06-01 25:00:01,",
            "line 2: 交易时间 `2031-06-01 25:00:01`:",
        ),
        (
            "`CNY,`88.88",
            "`XYZ,`88.88",
            "line 2: 货币种类: unknown currency `XYZ`",
        ),
        (
            "`MICROPAY,`SUCCESS,`OTHERS,`CNY,`88.88",
            "`MICROPAY,`PAYERROR,`OTHERS,`CNY,`88.88",
            "line 2: unknown 交易状态 `PAYERROR`",
        ),
        (
            "`ORIGINAL,`SUCCESS,`2 x latte,",
            "`ORIGINAL,`MAYBE,`2 x latte,",
            "line 4: unknown 退款状态 `MAYBE`",
        ),
        ("`WX-1,`oUpF8", "`,`oUpF8", "line 2: 商户订单号 is empty"),
        (
            ",`0.60%,`88.88,",
            ",`0.60%,`88.88,`1.00,",
            "line 2: 28 fields where the header has 27",
        ),
        (
            "`4,`113.88",
            "`4,`113.8x",
            "line 7 (the summary): 应结订单总金额 `113.8x`: `113.8x` is not a decimal amount",
        ),
    ];
    for (from, to, expected) in cases {
        let text = good_csv().replacen(from, to, 1);
        assert_ne!(text, good_csv(), "{from}");
        let err = read(&text, 0, 100).unwrap_err();
        assert!(err.starts_with(expected), "{from}: {err}");
    }
    let text = good_csv().replacen("\r\n`2031-06-01 10:00:01,", "\r\n2031-06-01 10:00:01,", 1);
    assert_eq!(
        read(&text, 0, 100).unwrap_err(),
        "line 2: a field without its leading backtick"
    );
    let text = format!("{}`4,`1.00\r\n", good_csv());
    assert_eq!(
        read(&text, 0, 100).unwrap_err(),
        "line 8 follows the summary"
    );
    let not_utf8 = [HEADER.as_bytes(), b"\r\n\xff\xfe\r\n"].concat();
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(&not_utf8).unwrap();
    let gz = encoder.finish().unwrap();
    let digest = hex::encode(Sha1::digest(&not_utf8));
    assert_eq!(
        read_bill(&gz, &digest, 0, 100).unwrap_err(),
        "line 2 is not UTF-8"
    );
}

#[test]
fn refund_states_and_numbers_follow_the_bill() {
    let mut rows = good_rows();
    rows[2] = rows[2].replace("`ORIGINAL,`SUCCESS,", "`ORIGINAL,`PROCESSING,");
    let text = csv(&rows, "`4,`113.88,`33.88,`0.00,`0.48000,`113.88,`33.88");
    let bill = read(&text, 0, 100).unwrap();
    assert_eq!(bill.lines[2].status, LineStatus::Processing);
    for (status, expected) in [
        ("SUCCESS", LineStatus::Succeeded),
        ("PROCESSING", LineStatus::Processing),
        ("CHANGE", LineStatus::Processing),
        ("FAIL", LineStatus::Failed),
        ("REFUNDCLOSE", LineStatus::Failed),
    ] {
        assert_eq!(refund_state(status), Ok(expected), "{status}");
    }
    assert_eq!(number("0"), None);
    assert_eq!(number(""), None);
    assert_eq!(number("R-1"), Some("R-1".to_owned()));
}

#[test]
fn an_overlong_line_is_refused_without_reading_it_whole() {
    let text = format!("{HEADER}\r\n`{}\r\n", "9".repeat(70_000));
    assert_eq!(
        read(&text, 0, 100).unwrap_err(),
        "line 2 is longer than 65536 bytes"
    );
}

#[test]
fn days_are_checked() {
    assert!(check_day("2031-06-01").is_ok());
    for bad in ["2031-6-1", "2031-06-01&bill_type=SUCCESS", "", "2031-02-30"] {
        assert!(check_day(bad).is_err(), "{bad}");
    }
}

mod flow {
    //! The two exchanges through the fake host: the signed, verified
    //! request for the bill, then the signed download WeChat does not
    //! sign.

    use super::*;
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use paycore_plugin_sdk::testing::{FakeHost, call_context, rsa_sign, rsa_verify};
    use paycore_plugin_sdk::types::{HttpRequest, HttpResponse};

    const MERCHANT_PRIVATE: &str =
        include_str!("../../../../config/secrets/wechatpay-demo-merchant-private.pem");
    const MERCHANT_PUBLIC: &str =
        include_str!("../../../../config/secrets/wechatpay-demo-merchant-public.pem");
    const PLATFORM_PRIVATE: &str =
        include_str!("../../../../config/secrets/wechatpay-demo-platform-private.pem");
    const PLATFORM_PUBLIC: &str =
        include_str!("../../../../config/secrets/wechatpay-demo-platform-public.pem");
    const BASE: &str = "http://127.0.0.1:9";
    const PLATFORM_SERIAL: &str = "PUB_KEY_ID_0119000000012026112500000000000001";

    fn ctx(partner: bool) -> CallContext {
        let mut settings = vec![
            ("base_url", BASE),
            ("mchid", "1900000001"),
            ("appid", "wxd678efh567hg6787"),
            ("serial_no", "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"),
            ("platform_serial", PLATFORM_SERIAL),
        ];
        if partner {
            settings.push(("sub_mchid", "1900000109"));
        }
        call_context(&settings)
    }

    fn signed(status: u16, body: &str) -> HttpResponse {
        let (ts, nonce) = ("1795593600", "593BEC0C930BF1AFEB40B4A08C8FB242");
        let sig = STANDARD.encode(rsa_sign(
            PLATFORM_PRIVATE,
            format!("{ts}\n{nonce}\n{body}\n").as_bytes(),
        ));
        HttpResponse {
            status,
            headers: vec![
                ("Wechatpay-Serial".into(), PLATFORM_SERIAL.into()),
                ("Wechatpay-Timestamp".into(), ts.into()),
                ("Wechatpay-Nonce".into(), nonce.into()),
                ("Wechatpay-Signature".into(), sig),
            ],
            body: body.as_bytes().to_vec(),
        }
    }

    /// The request's `Authorization` verifies over its path and query.
    fn signature_valid(req: &HttpRequest) -> bool {
        let header = req.header("authorization").unwrap();
        let field = |name: &str| {
            header
                .split(['"', ','])
                .collect::<Vec<_>>()
                .windows(2)
                .find(|w| w[0].trim_start().ends_with(&format!("{name}=")))
                .map(|w| w[1].to_owned())
                .unwrap()
        };
        let path = req.url.strip_prefix(BASE).unwrap();
        let message = format!(
            "GET\n{path}\n{}\n{}\n\n",
            field("timestamp"),
            field("nonce_str")
        );
        rsa_verify(
            MERCHANT_PUBLIC,
            message.as_bytes(),
            &STANDARD.decode(field("signature")).unwrap(),
        )
    }

    /// A WeChat Pay that publishes `text` for every day.
    fn host(
        text: String,
        bill: impl Fn(&str) -> HttpResponse + 'static,
        file: impl Fn(Vec<u8>) -> HttpResponse + 'static,
    ) -> FakeHost {
        FakeHost::new()
            .with_rsa_private_key("merchant_private_key", MERCHANT_PRIVATE)
            .with_rsa_public_key("platform_public_key", PLATFORM_PUBLIC)
            .with_responder(move |req| {
                assert!(signature_valid(req), "{}", req.url);
                assert_eq!(req.method, "GET");
                if req.url.contains("/v3/bill/tradebill?") {
                    Ok(bill(&sha1(&text)))
                } else {
                    assert_eq!(req.url, format!("{BASE}/v3/billdownload/file?token=T1"));
                    Ok(file(gzip(&text)))
                }
            })
    }

    fn answer(digest: &str) -> HttpResponse {
        signed(
            200,
            &format!(
                r#"{{"hash_type":"SHA1","hash_value":"{digest}","download_url":"{BASE}/v3/billdownload/file?token=T1"}}"#
            ),
        )
    }

    /// WeChat sends the file with no signature headers.
    fn unsigned(gz: Vec<u8>) -> HttpResponse {
        HttpResponse {
            status: 200,
            headers: vec![("Content-Type".into(), "application/octet-stream".into())],
            body: gz,
        }
    }

    fn fetch(
        host: &FakeHost,
        partner: bool,
        cursor: Option<&str>,
    ) -> Result<StatementPage, ChannelError> {
        page(host, &ctx(partner), "2031-06-01", cursor.map(str::to_owned))
    }

    #[test]
    fn the_bill_is_asked_for_then_downloaded_and_read() {
        let direct = host(good_csv(), answer, unsigned);
        let page = fetch(&direct, false, None).unwrap();
        assert_eq!(page.time_zone, "Asia/Shanghai");
        assert_eq!(page.lines.len(), 4);
        assert_eq!(page.next, None);
        assert_eq!(page.totals[0].payment_amount, Some(11_388));
        let urls: Vec<_> = direct.requests().into_iter().map(|r| r.url).collect();
        assert_eq!(
            urls,
            [
                format!(
                    "{BASE}/v3/bill/tradebill?bill_date=2031-06-01&bill_type=ALL&tar_type=GZIP"
                ),
                format!("{BASE}/v3/billdownload/file?token=T1"),
            ]
        );
        let partner = host(good_csv(), answer, unsigned);
        fetch(&partner, true, None).unwrap();
        assert!(
            partner.requests()[0]
                .url
                .ends_with("&tar_type=GZIP&sub_mchid=1900000109")
        );
    }

    #[test]
    fn pages_go_by_offset_and_only_the_last_states_totals() {
        let mut rows = Vec::new();
        for i in 0..(PAGE_ROWS + 2) {
            rows.push(payment(
                "2031-06-01 10:00:01",
                &format!("4200{i:010}"),
                &format!("WX-{i}"),
                "1.00",
                "0.01000",
            ));
        }
        let n = PAGE_ROWS + 2;
        let summary = format!(
            "`{n},`{n}.00,`0.00,`0.00,`{}.{:02}000,`{n}.00,`0.00",
            n / 100,
            n % 100
        );
        let text = csv(&rows, &summary);
        let host = host(text, answer, unsigned);
        let first = fetch(&host, false, None).unwrap();
        let page = PAGE_ROWS.to_string();
        assert_eq!(
            (first.lines.len() as u64, first.next.as_deref()),
            (PAGE_ROWS, Some(page.as_str()))
        );
        assert!(first.totals.is_empty());
        let last = fetch(&host, false, Some(&page)).unwrap();
        assert_eq!(last.lines.len(), 2);
        assert_eq!(
            last.lines[1].merchant_order_no,
            format!("WX-{}", PAGE_ROWS + 1)
        );
        assert_eq!((last.next, last.totals[0].fees), (None, Some(n as i64)));
        let past = (PAGE_ROWS + 1000).to_string();
        let err = fetch(&host, false, Some(&past)).unwrap_err();
        assert!(
            matches!(&err, ChannelError::InvalidRequest(f) if f.code == "invalid_cursor"),
            "{err:?}"
        );
        let err = fetch(&host, false, Some("x")).unwrap_err();
        assert!(
            matches!(&err, ChannelError::InvalidRequest(f) if f.code == "invalid_cursor"),
            "{err:?}"
        );
    }

    #[test]
    fn a_bill_not_generated_yet_is_unavailable_and_a_day_without_one_is_empty() {
        let creating = host(
            good_csv(),
            |_| {
                signed(
                    400,
                    r#"{"code":"STATEMENT_CREATING","message":"账单生成中"}"#,
                )
            },
            unsigned,
        );
        let err = fetch(&creating, false, None).unwrap_err();
        let ChannelError::Unavailable(f) = &err else {
            panic!("{err:?}")
        };
        assert_eq!(f.code, "statement_not_ready");
        assert_eq!(f.channel_code.as_deref(), Some("STATEMENT_CREATING"));
        assert_eq!(creating.requests().len(), 1, "nothing downloaded");
        let none = host(
            good_csv(),
            |_| {
                signed(
                    400,
                    r#"{"code":"NO_STATEMENT_EXIST","message":"账单文件不存在"}"#,
                )
            },
            unsigned,
        );
        let empty = fetch(&none, false, None).unwrap();
        assert_eq!(
            (empty.lines.len(), empty.next, empty.totals.len()),
            (0, None, 0)
        );
        let bad_date = host(
            good_csv(),
            |_| signed(400, r#"{"code":"INVALID_REQUEST","message":"参数错误"}"#),
            unsigned,
        );
        let err = fetch(&bad_date, false, None).unwrap_err();
        assert!(
            matches!(&err, ChannelError::InvalidRequest(f) if f.code == "channel_rejected"),
            "{err:?}"
        );
        let err = page(&bad_date, &ctx(false), "2031-6-1", None).unwrap_err();
        assert!(
            matches!(&err, ChannelError::InvalidRequest(f) if f.code == "invalid_date"),
            "{err:?}"
        );
        assert_eq!(bad_date.requests().len(), 1, "a bad day is never sent");
    }

    #[test]
    fn an_unverified_answer_or_a_refused_download_is_retryable() {
        let unverified = host(
            good_csv(),
            |digest| {
                let mut a = answer(digest);
                a.body.push(b' ');
                a
            },
            unsigned,
        );
        let err = fetch(&unverified, false, None).unwrap_err();
        assert!(
            matches!(&err, ChannelError::Unavailable(f) if f.code == "unverified_answer"),
            "{err:?}"
        );
        let expired = host(good_csv(), answer, |_| {
            HttpResponse::json(
                400,
                r#"{"code":"INVALID_REQUEST","message":"下载链接已过期"}"#,
            )
        });
        let err = fetch(&expired, false, None).unwrap_err();
        let ChannelError::Unavailable(f) = &err else {
            panic!("{err:?}")
        };
        assert_eq!(f.code, "statement_download_failed");
        assert_eq!(f.channel_code.as_deref(), Some("INVALID_REQUEST"));
    }

    #[test]
    fn a_bad_file_fails_the_page_naming_why() {
        let wrong = host(good_csv(), |_| answer(&sha1("another file")), unsigned);
        let err = fetch(&wrong, false, None).unwrap_err();
        let ChannelError::InvalidRequest(f) = &err else {
            panic!("{err:?}")
        };
        assert_eq!(f.code, "malformed_statement");
        assert!(f.message.contains("SHA-1"), "{}", f.message);
        let cut = host(good_csv(), answer, |mut gz| {
            gz.truncate(gz.len() / 2);
            unsigned(gz)
        });
        let err = fetch(&cut, false, None).unwrap_err();
        assert!(
            format!("{err:?}").contains("gzip stream is broken"),
            "{err:?}"
        );
    }

    #[test]
    fn a_download_url_off_the_api_host_gets_no_signature() {
        let elsewhere = FakeHost::new()
            .with_rsa_private_key("merchant_private_key", MERCHANT_PRIVATE)
            .with_rsa_public_key("platform_public_key", PLATFORM_PUBLIC)
            .with_responder(|_| {
                Ok(signed(
                    200,
                    r#"{"hash_type":"SHA1","hash_value":"00","download_url":"https://files.example.com/bill?token=T1"}"#,
                ))
            });
        let err = fetch(&elsewhere, false, None).unwrap_err();
        assert!(
            matches!(&err, ChannelError::InvalidRequest(f) if f.code == "unexpected_download_url"),
            "{err:?}"
        );
        assert_eq!(elsewhere.requests().len(), 1);
    }
}

/// A large day stays streamed: 100,000 rows read in pages with the
/// page's lines only.
#[test]
fn a_hundred_thousand_rows_read_page_by_page() {
    let mut text = format!("{HEADER}\r\n");
    for i in 0..100_000u64 {
        text.push_str(&payment(
            "2031-06-01 10:00:01",
            &format!("42000000002026060{i:011}"),
            &format!("WX-{i}"),
            "1.00",
            "0.01000",
        ));
        text.push_str("\r\n");
    }
    text.push_str(&format!(
        "{SUMMARY_HEADER}\r\n`100000,`100000.00,`0.00,`0.00,`1000.00000,`100000.00,`0.00\r\n"
    ));
    let gz = gzip(&text);
    let digest = sha1(&text);
    drop(text);
    let last = read_bill(&gz, &digest, 95_000, PAGE_ROWS).unwrap();
    assert_eq!(last.rows, 100_000);
    assert_eq!(last.lines.len(), 5_000);
    assert_eq!(last.lines[0].merchant_order_no, "WX-95000");
    assert_eq!(last.totals.fees, Some(100_000));
}
