//! The trade statement reader on archives shaped as Alipay publishes them:
//! lines and totals of a good day, paging through a long one, and every
//! way a file can be bad failing the whole statement with its reason.

use std::io::Write as _;

use paycore_plugin_alipay::statement::{PAGE_LINES, read_page};
use paycore_plugin_sdk::types::{ChannelError, LineKind, StatementLine};

const HEADER: &str = "支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户,订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,券名称,商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注";

/// A detail row: (trade_no, out_trade_no, 业务类型, amount, refund no, 服务费, 完成时间)
fn row(trade: &str, order: &str, kind: &str, amount: &str, refund: &str, fee: &str) -> String {
    let at = "2031-06-01 10:00:00";
    let fields = [
        trade,
        order,
        kind,
        "咖啡",
        at,
        at,
        "",
        "",
        "",
        "",
        "159****5620",
        amount,
        amount,
        "0.00",
        "0.00",
        "0.00",
        "0.00",
        "0.00",
        "",
        "0.00",
        "0.00",
        refund,
        fee,
        "0.00",
        "",
    ];
    fields
        .iter()
        .map(|f| format!("{f}\t"))
        .collect::<Vec<_>>()
        .join(",")
}

struct Day {
    rows: Vec<String>,
    trailer: Vec<String>,
    summary_row: String,
    end_marker: bool,
}

impl Day {
    fn good() -> Day {
        Day {
            rows: vec![
                row("2031060122001", "A1", "交易", "88.88", "", "-0.53"),
                row("2031060122002", "A2", "交易", "10.00", "", "-0.06"),
                row("2031060122001", "A1", "退款", "-50.00", "A1-R1", "0.30"),
                row("2031060122002", "A2", "退款", "-10.00", "", "0.06"),
            ],
            trailer: vec![
                "#交易合计：2笔，商家实收共98.88元，商家优惠共0.00元".into(),
                "#退款合计：2笔，商家实收退款共-60.00元，商家优惠退款共0.00元".into(),
            ],
            summary_row: ",合计,2,2,38.88,38.88,0.00,0.00,0.00,-0.23,0.00,38.65".into(),
            end_marker: true,
        }
    }

    fn archive(&self) -> Vec<u8> {
        let mut detail = String::from(
            "#支付宝业务明细查询\r\n#账号：[20881011179556110156]\r\n#起始日期：[2031年06月01日 00:00:00]   终止日期：[2031年06月02日 00:00:00]\r\n#-----------------------------------------业务明细列表----------------------------------------\r\n",
        );
        detail.push_str(HEADER);
        detail.push_str("\r\n");
        for r in &self.rows {
            detail.push_str(r);
            detail.push_str("\r\n");
        }
        if self.end_marker {
            detail.push_str("#-----------------------------------------业务明细列表结束------------------------------------\r\n");
        }
        for t in &self.trailer {
            detail.push_str(t);
            detail.push_str("\r\n");
        }
        let summary = format!(
            "#支付宝业务汇总查询\r\n#账号：[20881011179556110156]\r\n#-----------------------------------------业务汇总列表----------------------------------------\r\n门店编号,门店名称,交易订单总笔数,退款订单总笔数,订单金额（元）,商家实收（元）,支付宝优惠（元）,商家优惠（元）,卡消费金额（元）,服务费（元）,分润（元）,实收净额（元）\r\n{}\r\n#----------------------------------------业务汇总列表结束-------------------------------------\r\n",
            self.summary_row
        );
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default();
        for (name, text) in [("detail.csv", detail), ("summary.csv", summary)] {
            zip.start_file(name, options).unwrap();
            zip.write_all(&encoding_rs::GBK.encode(&text).0).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }
}

fn reason(e: ChannelError) -> String {
    match e {
        ChannelError::InvalidRequest(f) => {
            assert_eq!(f.code, "malformed_statement");
            f.message
        }
        other => panic!("a bad statement is an invalid request, got {other:?}"),
    }
}

fn summary(l: &StatementLine) -> (LineKind, &str, Option<&str>, i64, i64) {
    (
        l.kind,
        l.merchant_order_no.as_str(),
        l.refund_no.as_deref(),
        l.amount,
        l.fee,
    )
}

#[test]
fn a_good_day_reads_as_payments_refunds_and_a_reversal_with_the_stated_totals() {
    let page = read_page(&Day::good().archive(), 0).unwrap();
    assert_eq!(page.time_zone, "Asia/Shanghai");
    assert_eq!(page.next, None);
    assert_eq!(
        page.lines.iter().map(summary).collect::<Vec<_>>(),
        vec![
            (LineKind::Payment, "A1", None, 8888, 53),
            (LineKind::Payment, "A2", None, 1000, 6),
            (LineKind::Refund, "A1", Some("A1-R1"), 5000, -30),
            (LineKind::Reversal, "A2", None, 1000, -6),
        ]
    );
    let first = &page.lines[0];
    assert_eq!(first.channel_no.as_deref(), Some("2031060122001"));
    // 2031-06-01 10:00:00 in Beijing is 02:00 UTC.
    assert_eq!(first.at, 1_938_045_600_000);
    let totals = &page.totals[0];
    assert_eq!(
        (
            totals.currency.as_str(),
            totals.payments,
            totals.payment_amount,
            totals.refunds,
            totals.refund_amount,
            totals.fees
        ),
        ("CNY", Some(2), Some(9888), Some(2), Some(6000), Some(23))
    );
}

#[test]
fn a_long_day_pages_by_page_lines_and_states_totals_on_the_last_page() {
    let mut day = Day::good();
    let rows = 2 * PAGE_LINES + 1;
    day.rows = (0..rows)
        .map(|i| {
            row(
                &format!("2031{i:010}"),
                &format!("L{i}"),
                "交易",
                "1.00",
                "",
                "-0.01",
            )
        })
        .collect();
    day.trailer[0] = format!("#交易合计：{rows}笔，商家实收共{rows}.00元，商家优惠共0.00元");
    day.trailer[1] = "#退款合计：0笔，商家实收退款共0.00元，商家优惠退款共0.00元".into();
    // 0.01 of fee a row.
    day.summary_row = format!(
        ",合计,{rows},0,{rows}.00,{rows}.00,0.00,0.00,0.00,-{}.{:02},0.00,0.00",
        rows / 100,
        rows % 100
    );
    let archive = day.archive();
    let mut cursor = None;
    let mut orders = Vec::new();
    let mut pages = 0;
    loop {
        let offset = cursor.as_deref().map_or(0, |c: &str| c.parse().unwrap());
        let page = read_page(&archive, offset).unwrap();
        pages += 1;
        orders.extend(page.lines.iter().map(|l| l.merchant_order_no.clone()));
        if page.next.is_none() {
            assert_eq!(page.totals[0].payments, Some(rows));
            assert_eq!(page.totals[0].fees, Some(rows as i64));
            break;
        }
        assert!(page.totals.is_empty(), "totals come on the last page only");
        cursor = page.next;
    }
    assert_eq!(pages, 3);
    assert_eq!(orders.len() as u64, rows);
    let expected: Vec<String> = (0..rows).map(|i| format!("L{i}")).collect();
    assert_eq!(
        orders, expected,
        "every row once, in order, across the pages"
    );
}

#[test]
fn a_truncated_archive_fails_the_statement() {
    let mut archive = Day::good().archive();
    archive.truncate(archive.len() / 2);
    let why = reason(read_page(&archive, 0).unwrap_err());
    assert!(why.contains("the archive does not open"), "{why}");
}

#[test]
fn a_malformed_amount_names_its_line() {
    let mut day = Day::good();
    day.rows[1] = row("2031060122002", "A2", "交易", "10.0.0", "", "-0.06");
    let why = reason(read_page(&day.archive(), 0).unwrap_err());
    // The marker, the header and three heading lines come first.
    assert!(
        why.contains("detail line 7") && why.contains("10.0.0"),
        "{why}"
    );
}

#[test]
fn a_detail_cut_before_its_end_marker_fails_rather_than_passing_short() {
    let mut day = Day::good();
    day.end_marker = false;
    day.trailer.clear();
    let why = reason(read_page(&day.archive(), 0).unwrap_err());
    assert!(why.contains("业务明细列表结束"), "{why}");
}

#[test]
fn a_summary_that_disagrees_with_the_detail_fails_the_statement() {
    let mut day = Day::good();
    day.summary_row = ",合计,3,2,38.88,38.88,0.00,0.00,0.00,-0.23,0.00,38.65".into();
    let why = reason(read_page(&day.archive(), 0).unwrap_err());
    assert!(why.contains("the summary counts 3 trades"), "{why}");
}

#[test]
fn a_payment_with_a_negative_amount_or_an_unknown_type_is_refused() {
    let mut day = Day::good();
    day.rows[0] = row("2031060122001", "A1", "交易", "-88.88", "", "-0.53");
    let why = reason(read_page(&day.archive(), 0).unwrap_err());
    assert!(why.contains("wrong sign"), "{why}");
    let mut day = Day::good();
    day.rows[0] = row("2031060122001", "A1", "冻结", "88.88", "", "-0.53");
    let why = reason(read_page(&day.archive(), 0).unwrap_err());
    assert!(why.contains("unknown 业务类型 `冻结`"), "{why}");
}

#[test]
fn a_file_not_in_gbk_or_without_its_columns_is_refused() {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zip.start_file("x.csv", zip::write::SimpleFileOptions::default())
        .unwrap();
    zip.write_all(b"\xff\xfe\xfd").unwrap();
    let archive = zip.finish().unwrap().into_inner();
    let why = reason(read_page(&archive, 0).unwrap_err());
    assert!(why.contains("no 业务明细 file"), "{why}");
}
