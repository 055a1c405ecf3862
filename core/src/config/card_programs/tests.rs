//! `[[card_programs]]` read from whole tenant files: a valid programme of
//! each kind, and each refusal at its line:column, naming its key.

use super::*;
use crate::config::tenant_from_str;
use std::path::Path;

/// A tenant with the channels `card` and `promo`; the programmes of a test
/// follow it, so their positions below are counted from the test's text.
const HEAD: &str = "id = \"t\"\napi_keys = [\"sk_test_cards\"]\n[[channels]]\nid = \"card\"\nplugin = \"sandbox@^1\"\n[[channels]]\nid = \"promo\"\nplugin = \"sandbox@^1\"\n";

fn programs(body: &str) -> Vec<CardProgram> {
    tenant_from_str(Path::new("t.toml"), &format!("{HEAD}{body}"))
        .unwrap_or_else(|e| panic!("{e}"))
        .card_programs
}

/// Each problem as `line:column: message`, lines counted in `body`.
fn problems(body: &str) -> Vec<String> {
    let head_lines = HEAD.lines().count();
    let errors = tenant_from_str(Path::new("t.toml"), &format!("{HEAD}{body}"))
        .expect_err("the body has problems");
    errors
        .0
        .iter()
        .map(|e| {
            let (line, column) = e.position.expect("every problem has a place");
            format!("{}:{column}: {}", line - head_lines, e.message)
        })
        .collect()
}

fn cny() -> Currency {
    Currency::parse("CNY").unwrap()
}

fn program(id: &str, kind: ProgramKind, currency: Currency) -> CardProgram {
    CardProgram {
        id: id.into(),
        kind,
        channel: "card".into(),
        currency: currency.clone(),
        jurisdiction: "CN".into(),
        unit: ProgramUnit::Money(currency),
        named: false,
        max_balance: None,
        validity_days: None,
        breakage: false,
        partial_use: false,
        bonus_tiers: Vec::new(),
        face_values: Vec::new(),
        uses: None,
        coupon: None,
    }
}

#[test]
fn a_member_card_in_cn_defaults_to_the_named_cap_and_no_expiry() {
    let got = programs(
        r#"[[card_programs]]
id = "member"
kind = "stored_value"
channel = "card"
currency = "CNY"
bonus_tiers = [ { top_up = "500.00", bonus = "50.00" }, { top_up = "1000", bonus = "120.00" } ]
"#,
    );
    let member = CardProgram {
        named: true,
        max_balance: Some(500_000),
        partial_use: true,
        bonus_tiers: vec![
            BonusTier {
                top_up: 50_000,
                bonus: 5_000,
            },
            BonusTier {
                top_up: 100_000,
                bonus: 12_000,
            },
        ],
        ..program("member", ProgramKind::StoredValue, cny())
    };
    assert_eq!(got, std::slice::from_ref(&member));
    assert_eq!(member.unit_code(), "CNY");
    assert_eq!(member.cap(), Some(CN_NAMED_CAP));
    for (top_up, bonus) in [
        (0, 0),
        (49_999, 0),
        (50_000, 5_000),
        (99_999, 5_000),
        (100_000, 12_000),
        (500_000, 12_000),
    ] {
        assert_eq!(member.bonus_for(top_up), bonus, "top-up of {top_up}");
    }
}

#[test]
fn gift_cards_anonymous_in_cn_and_with_breakage_elsewhere() {
    let got = programs(
        r#"[[card_programs]]
id = "gift-cn"
kind = "gift"
channel = "card"
currency = "CNY"
named = false
max_balance = "800"
validity_days = 1095
face_values = ["50", "100.00"]

[[card_programs]]
id = "gift-hk"
kind = "gift"
channel = "promo"
currency = "HKD"
jurisdiction = "HK"
max_balance = "2000.00"
validity_days = 365
breakage = true
partial_use = false
"#,
    );
    let hkd = Currency::parse("HKD").unwrap();
    let cn = CardProgram {
        max_balance: Some(80_000),
        validity_days: Some(1095),
        partial_use: true,
        face_values: vec![5_000, 10_000],
        ..program("gift-cn", ProgramKind::Gift, cny())
    };
    let hk = CardProgram {
        channel: "promo".into(),
        jurisdiction: "HK".into(),
        named: true,
        max_balance: Some(200_000),
        validity_days: Some(365),
        breakage: true,
        ..program("gift-hk", ProgramKind::Gift, hkd)
    };
    assert_eq!(got, [cn.clone(), hk.clone()]);
    assert_eq!(cn.cap(), Some(CN_ANONYMOUS_CAP));
    assert_eq!(hk.cap(), None, "no cap is known outside CN");
}

#[test]
fn a_voucher_is_anonymous_used_once_and_capped_as_such_in_cn() {
    let got = programs(
        r#"[[card_programs]]
id = "ecash"
kind = "voucher"
channel = "card"
currency = "CNY"
validity_days = 1095
face_values = ["100"]
"#,
    );
    let voucher = CardProgram {
        max_balance: Some(CN_ANONYMOUS_CAP),
        validity_days: Some(1095),
        face_values: vec![10_000],
        ..program("ecash", ProgramKind::Voucher, cny())
    };
    assert_eq!(got, [voucher]);
}

#[test]
fn a_punch_card_counts_a_service_each_use_paying_up_to_an_amount() {
    let got = programs(
        r#"[[card_programs]]
id = "ten-coffees"
kind = "punch"
channel = "card"
currency = "CNY"
unit = "coffee"
uses = 10
covers_up_to = "30.00"
validity_days = 180
"#,
    );
    let punch = CardProgram {
        unit: ProgramUnit::Service {
            name: "coffee".into(),
            covers_up_to: Money::new(3_000, cny()),
        },
        validity_days: Some(180),
        partial_use: true,
        uses: Some(10),
        ..program("ten-coffees", ProgramKind::Punch, cny())
    };
    assert_eq!(got, std::slice::from_ref(&punch));
    assert_eq!(punch.unit_code(), "coffee");
    assert_eq!((punch.cap(), punch.bonus_for(100_000)), (None, 0));
}

#[test]
fn coupons_take_an_amount_or_a_percentage_off_where_and_when_they_say() {
    let got = programs(
        r#"[[card_programs]]
id = "five-off"
kind = "coupon"
channel = "promo"
currency = "CNY"
amount_off = "5.00"
min_spend = "30.00"
hours = "09:00-21:00"
days = ["mon", "tue"]
stores = ["s001"]

[[card_programs]]
id = "tenth-off"
kind = "coupon"
channel = "promo"
currency = "JPY"
percent_off = "12.50"
max_discount = "2000"
validity_days = 30
one_per_order = false
"#,
    );
    let jpy = Currency::parse("JPY").unwrap();
    let amount_off = CardProgram {
        channel: "promo".into(),
        coupon: Some(CouponTerms {
            discount: Discount::AmountOff(500),
            min_spend: Some(3_000),
            window: Some(Window {
                days: Some([true, true, false, false, false, false, false]),
                hours: Some((9 * 60, 21 * 60)),
                text: "mon, tue 09:00-21:00".into(),
            }),
            stores: vec!["s001".into()],
            one_per_order: true,
        }),
        ..program("five-off", ProgramKind::Coupon, cny())
    };
    let percent_off = CardProgram {
        channel: "promo".into(),
        validity_days: Some(30),
        coupon: Some(CouponTerms {
            discount: Discount::PercentOff {
                percent: Decimal::new(125, 1),
                max_discount: 2_000,
            },
            min_spend: None,
            window: None,
            stores: Vec::new(),
            one_per_order: false,
        }),
        ..program("tenth-off", ProgramKind::Coupon, jpy)
    };
    assert_eq!(got, [amount_off, percent_off]);
}

#[test]
fn a_tenant_without_programmes_has_none() {
    assert_eq!(programs(""), []);
}

#[test]
fn the_keys_every_programme_needs_are_reported_at_its_header() {
    assert_eq!(
        problems("[[card_programs]]\nkind = \"gift\"\n"),
        [
            "1:1: a card programme needs `id`: 1-32 characters of a-z, 0-9, '-' or '_'",
            "1:1: a card programme needs `channel`: the id of the tenant's channel that runs it",
            "1:1: a card programme needs `currency`: an ISO 4217 code like \"CNY\"",
        ]
    );
    assert_eq!(
        problems("[[card_programs]]\nid = \"x\"\nchannel = \"card\"\ncurrency = \"CNY\"\n"),
        ["1:1: a card programme needs `kind`: one of stored_value, gift, voucher, punch, coupon"]
    );
}

#[test]
fn ids_kinds_channels_currencies_and_jurisdictions_are_checked_where_written() {
    let body = r#"[[card_programs]]
id = "Member"
kind = "loyalty"
channel = "till"
currency = "RMB"
jurisdiction = "cn"

[[card_programs]]
id = "gift"
kind = "gift"
channel = "card"
currency = "CNY"

[[card_programs]]
id = "gift"
kind = "gift"
channel = "card"
currency = "CNY"
"#;
    assert_eq!(
        problems(body),
        [
            "2:6: `id` must be 1-32 characters of a-z, 0-9, '-' or '_', starting with a letter or digit",
            "3:8: `kind`: `loyalty` is not one of: stored_value, gift, voucher, punch, coupon",
            "4:11: `channel`: unknown channel `till`; this tenant's channels are: card, promo",
            "5:12: `currency`: `RMB` is not a supported ISO 4217 currency code",
            "6:16: `jurisdiction` must be two upper-case letters, like \"CN\"",
            "15:6: card programme `gift` is defined twice",
        ]
    );
}

/// A gift card in CNY under CN's rules, with one more line.
fn gift_with(line: &str) -> String {
    format!(
        "[[card_programs]]\nid = \"g\"\nkind = \"gift\"\nchannel = \"card\"\ncurrency = \"CNY\"\n{line}\n"
    )
}

#[test]
fn money_is_a_positive_decimal_string_with_the_currency_s_decimals() {
    for (line, want) in [
        (
            "max_balance = \"4999.995\"",
            "6:15: `max_balance`: 4999.995 has more decimals than CNY allows (2)",
        ),
        (
            "max_balance = \"-5\"",
            "6:15: `max_balance` must not be negative",
        ),
        (
            "max_balance = \"0.00\"",
            "6:15: `max_balance` must be more than 0",
        ),
        (
            "max_balance = \"5,000\"",
            "6:15: `max_balance` must be an amount in major units written as a decimal string, like \"500.00\"",
        ),
        (
            "max_balance = \"1e3\"",
            "6:15: `max_balance` must be an amount in major units written as a decimal string, like \"500.00\"",
        ),
        (
            "max_balance = \" 50\"",
            "6:15: `max_balance` must be an amount in major units written as a decimal string, like \"500.00\"",
        ),
        (
            "max_balance = \"99999999999999999999\"",
            "6:15: `max_balance` is too large: at most 10000000000000.00 CNY",
        ),
        (
            // A float is refused by the reading, as any wrong type is.
            "max_balance = 500.00",
            "6:15: invalid type: floating point `500.0`, expected a string",
        ),
    ] {
        assert_eq!(problems(&gift_with(line)), [want], "{line}");
    }
    // Trailing zeros past the currency's decimals change nothing.
    assert_eq!(
        programs(&gift_with("max_balance = \"12.500\""))[0].max_balance,
        Some(1_250)
    );
    let yen = gift_with("max_balance = \"1000.5\"").replace("CNY", "JPY");
    assert_eq!(
        problems(&yen),
        ["6:15: `max_balance`: 1000.5 has more decimals than JPY allows (0)"],
        "written, though wrong, so not also missing"
    );
}

#[test]
fn keys_of_other_kinds_are_refused_naming_the_key_and_the_kind() {
    let body = r#"[[card_programs]]
id = "g"
kind = "gift"
channel = "card"
currency = "CNY"
uses = 10
bonus_tiers = []

[[card_programs]]
id = "v"
kind = "voucher"
channel = "card"
currency = "CNY"
validity_days = 1095
named = true

[[card_programs]]
id = "c"
kind = "coupon"
channel = "promo"
currency = "CNY"
amount_off = "5"
breakage = false
max_balance = "10"
"#;
    assert_eq!(
        problems(body),
        [
            "6:8: `uses` does not apply to a gift programme, only to punch",
            "7:15: `bonus_tiers` does not apply to a gift programme, only to stored_value",
            "15:9: `named` does not apply to a voucher programme, only to stored_value, gift",
            "23:12: `breakage` does not apply to a coupon programme, only to stored_value, gift, voucher, punch",
            "24:15: `max_balance` does not apply to a coupon programme, only to stored_value, gift, voucher",
        ]
    );
}

#[test]
fn cn_caps_named_and_anonymous_cards_and_forbids_breakage() {
    let sv = |lines: &str| {
        format!(
            "[[card_programs]]\nid = \"m\"\nkind = \"stored_value\"\nchannel = \"card\"\ncurrency = \"CNY\"\n{lines}\n"
        )
    };
    for (lines, want) in [
        (
            "max_balance = \"5000.01\"",
            "6:15: `max_balance` 5000.01 is above CN's cap of 5000.00 CNY on a named card",
        ),
        (
            "named = false\nmax_balance = \"1000.01\"\nvalidity_days = 1095",
            "7:15: `max_balance` 1000.01 is above CN's cap of 1000.00 CNY on an anonymous card",
        ),
        (
            "validity_days = 365",
            "6:17: `validity_days`: a named card in CN never expires; leave it out",
        ),
        (
            "named = false",
            "1:1: an anonymous card in CN must stay usable for at least 1095 days (three years): set `validity_days`",
        ),
        (
            "named = false\nvalidity_days = 1094",
            "7:17: `validity_days` must be at least 1095 (three years) on an anonymous card in CN",
        ),
        (
            "breakage = true",
            "6:12: `breakage` must be false in CN: value past its validity stays its holder's, to be reactivated",
        ),
        (
            // The expiry rules bind whatever the currency; the caps are in CNY.
            "validity_days = 30\nmax_balance = \"100\"",
            "6:17: `validity_days`: a named card in CN never expires; leave it out",
        ),
    ] {
        assert_eq!(problems(&sv(lines)), [want], "{lines}");
    }
    assert_eq!(
        problems(&sv("").replace("CNY", "USD")),
        [
            "1:1: a stored_value programme needs `max_balance`, the most one card may hold: CN's caps are in CNY, so there is none to default to"
        ]
    );
    let voucher = "[[card_programs]]\nid = \"v\"\nkind = \"voucher\"\nchannel = \"card\"\ncurrency = \"CNY\"\nmax_balance = \"2000\"\n";
    assert_eq!(
        problems(voucher),
        [
            "1:1: a voucher (anonymous: it names no holder) in CN must stay usable for at least 1095 days (three years): set `validity_days`",
            "6:15: `max_balance` 2000.00 is above CN's cap of 1000.00 CNY on a voucher (anonymous: it names no holder)",
        ]
    );
    // A punch card is prepaid too: its value is never forfeited in CN.
    let punch = "[[card_programs]]\nid = \"p\"\nkind = \"punch\"\nchannel = \"card\"\ncurrency = \"CNY\"\nunit = \"wash\"\nuses = 5\ncovers_up_to = \"40\"\nvalidity_days = 90\nbreakage = true\n";
    assert_eq!(
        problems(punch),
        [
            "10:12: `breakage` must be false in CN: value past its validity stays its holder's, to be reactivated"
        ]
    );
}

#[test]
fn elsewhere_a_card_says_what_it_holds_and_forfeits_only_what_expires() {
    let body = r#"[[card_programs]]
id = "us-gift"
kind = "gift"
channel = "card"
currency = "USD"
jurisdiction = "US"
breakage = true
validity_days = 0
"#;
    assert_eq!(
        problems(body),
        [
            "1:1: a gift programme needs `max_balance`, the most one card may hold: jurisdiction US sets no cap to default to",
            "8:17: `validity_days` must be between 1 and 36500",
        ]
    );
    let endless = body.replace("validity_days = 0\n", "max_balance = \"500\"\n");
    assert_eq!(
        problems(&endless),
        ["7:12: `breakage` needs `validity_days`: value that never expires is never forfeited"]
    );
}

#[test]
fn bonus_tiers_go_up_each_bonus_below_its_top_up_within_the_balance() {
    let body = r#"[[card_programs]]
id = "m"
kind = "stored_value"
channel = "card"
currency = "CNY"
bonus_tiers = [
  { top_up = "500.00", bonus = "50.00" },
  { top_up = "500.00", bonus = "60.00" },
  { top_up = "800.00", bonus = "800.00" },
  { top_up = "900.00" },
  { top_up = "4900.00", bonus = "100.01" },
  { top_up = "4950.00", bonus = "0" },
  { top_up = "4990.00", bonus = "1", extra = "2" },
]
"#;
    assert_eq!(
        problems(body),
        [
            "8:14: `top_up` must be more than the tier before's (500.00): tiers go up",
            "9:32: `bonus` must be less than its `top_up` (800.00)",
            "10:3: a bonus tier needs `bonus`, like { top_up = \"500.00\", bonus = \"50.00\" }",
            "11:3: a top-up of 4900.00 with its bonus of 100.01 would put 5000.01 on a card, above what one card may hold (5000.00)",
            "12:33: `bonus` must be more than 0",
            "13:38: unknown field `extra`, expected `top_up` or `bonus`",
        ]
    );
}

#[test]
fn face_values_are_distinct_and_within_the_balance() {
    assert_eq!(
        problems(&gift_with(
            "max_balance = \"500\"\nface_values = [\"100\", \"600\", \"100\", \"-1\"]"
        )),
        [
            "7:23: `face_values`: 600.00 is above what one card may hold (500.00)",
            "7:30: `face_values`: 100.00 is listed twice",
            "7:37: `face_values` must not be negative",
        ]
    );
}

#[test]
fn face_values_and_tiers_are_held_to_the_cap_even_when_max_balance_is_above_it() {
    let body = r#"[[card_programs]]
id = "m"
kind = "stored_value"
channel = "card"
currency = "CNY"
max_balance = "8000"
bonus_tiers = [ { top_up = "4900", bonus = "200" } ]
"#;
    assert_eq!(
        problems(body),
        [
            "6:15: `max_balance` 8000.00 is above CN's cap of 5000.00 CNY on a named card",
            "7:17: a top-up of 4900.00 with its bonus of 200.00 would put 5100.00 on a card, above what one card may hold (5000.00)",
        ]
    );
}

#[test]
fn a_voucher_is_used_in_full() {
    let voucher = "[[card_programs]]\nid = \"v\"\nkind = \"voucher\"\nchannel = \"card\"\ncurrency = \"CNY\"\nvalidity_days = 1095\npartial_use = true\n";
    assert_eq!(
        problems(voucher),
        ["7:15: `partial_use` must be false on a voucher: it is used once, in full"]
    );
}

#[test]
fn a_punch_card_counts_a_named_service_never_money() {
    let punch = |lines: &str| {
        format!(
            "[[card_programs]]\nid = \"p\"\nkind = \"punch\"\nchannel = \"card\"\ncurrency = \"CNY\"\n{lines}\n"
        )
    };
    assert_eq!(
        problems(&punch("")),
        [
            "1:1: a punch programme needs `unit`: the service one use buys, like \"coffee\"",
            "1:1: a punch programme needs `uses`: the units on a new card, 1 to 1000",
            "1:1: a punch programme needs `covers_up_to`: the most one use pays for, like \"30.00\"",
        ]
    );
    assert_eq!(
        problems(&punch(
            "unit = \"CNY\"\nuses = 0\ncovers_up_to = \"0\"\nmax_balance = \"10\""
        )),
        [
            "6:8: `unit` `CNY` is a currency: a punch card counts uses of a service, like \"coffee\", never money",
            "7:8: `uses` must be between 1 and 1000",
            "8:16: `covers_up_to` must be more than 0",
            "9:15: `max_balance` does not apply to a punch programme, only to stored_value, gift, voucher",
        ]
    );
    assert_eq!(
        problems(&punch(
            "unit = \"Flat White\"\nuses = 1001\ncovers_up_to = \"30\""
        )),
        [
            "6:8: `unit` must be 1-32 characters of a-z, 0-9 or '_', starting with a letter, like \"coffee\"",
            "7:8: `uses` must be between 1 and 1000",
        ]
    );
    // A lower-case word that happens to be a code is a service: a cup.
    let cup = programs(&punch("unit = \"cup\"\nuses = 3\ncovers_up_to = \"12\""));
    assert_eq!(cup[0].unit_code(), "cup");
}

#[test]
fn a_coupon_s_discount_spend_window_and_stores_are_checked() {
    let coupon = |lines: &str| {
        format!(
            "[[card_programs]]\nid = \"c\"\nkind = \"coupon\"\nchannel = \"promo\"\ncurrency = \"CNY\"\n{lines}\n"
        )
    };
    for (lines, want) in [
        (
            "",
            vec!["1:1: a coupon needs `amount_off` (\"5.00\") or `percent_off` (\"10\")"],
        ),
        (
            "amount_off = \"5\"\npercent_off = \"10\"",
            vec!["7:15: a coupon takes `amount_off` or `percent_off`, not both"],
        ),
        (
            "amount_off = \"5\"\nmin_spend = \"5.00\"\nmax_discount = \"3\"",
            vec![
                "7:13: `min_spend` (5.00) must be more than `amount_off` (5.00): the coupon would pay for the whole order",
                "8:16: `max_discount` applies to `percent_off` only: an `amount_off` discount is fixed",
            ],
        ),
        (
            "percent_off = \"12.5\"\nmax_discount = \"0.001\"\nmin_spend = \"-1\"",
            vec![
                "7:16: `max_discount`: 0.001 has more decimals than CNY allows (2)",
                "8:13: `min_spend` must not be negative",
            ],
        ),
        (
            "amount_off = \"5\"\nhours = \"9am-5pm\"\ndays = [\"mon\", \"funday\"]\nstores = [\"s1\", \"s1\", \"\"]",
            vec![
                "7:9: `hours`: `9am-5pm` is not a time window like `09:00-18:00` or `22:00-06:00`",
                "8:16: `days`: `funday` is not a day or a day range like `mon-fri` (days: mon, tue, wed, thu, fri, sat, sun)",
                "9:17: `stores`: `s1` is listed twice",
                "9:23: `stores`: a store id is 1-64 characters, none of them a control character",
            ],
        ),
        (
            "amount_off = \"5\"\ndays = []\nstores = []",
            vec![
                "7:8: `days` must name at least one day; leave it out for every day",
                "8:10: `stores` must name at least one store; leave it out for every store",
            ],
        ),
        (
            // Its value is funded when it is issued: a percentage needs a cap.
            "percent_off = \"10\"\nmin_spend = \"30.00\"",
            vec![
                "6:15: a percentage coupon needs `max_discount`: the ledger funds a coupon's value when it is issued",
            ],
        ),
        (
            // Written with the wrong type: reported where it is, not also missing.
            "percent_off = \"10\"\nmax_discount = 20",
            vec!["7:16: invalid type: integer `20`, expected a string"],
        ),
    ] {
        assert_eq!(problems(&coupon(lines)), want, "{lines}");
    }
    for percent in ["0", "100", "12.345", "ten", "-5", "150"] {
        assert_eq!(
            problems(&coupon(&format!(
                "percent_off = \"{percent}\"\nmax_discount = \"20.00\""
            ))),
            [
                "6:15: `percent_off` must be a percentage above 0 and below 100 with at most 2 decimals, written as a string like \"10\" or \"12.5\""
            ],
            "{percent}"
        );
    }
    let ninety_nine = programs(&coupon("percent_off = \"99.99\"\nmax_discount = \"20.00\""));
    let terms = ninety_nine[0].coupon.as_ref().unwrap();
    assert!(matches!(
        &terms.discount,
        Discount::PercentOff { percent, max_discount: 2_000 } if *percent == Decimal::new(9999, 2)
    ));
    assert_eq!(terms.discount.percent_hundredths(), Some(9_999));
    assert_eq!(terms.discount.value(), 2_000);
    let five = programs(&coupon("amount_off = \"5\""));
    let five = &five[0].coupon.as_ref().unwrap().discount;
    assert_eq!((five.value(), five.percent_hundredths()), (500, None));
}

#[test]
fn unknown_keys_and_wrong_types_are_the_reading_s_and_not_also_missing() {
    let body = r#"[[card_programs]]
id = "p"
kind = "punch"
channel = "card"
currency = "CNY"
unit = "coffee"
uses = "ten"
covers_up_to = "30"
colour = "red"

[[card_programs]]
id = "anon"
kind = "stored_value"
channel = "card"
currency = "CNY"
named = false
validity_days = "three years"
bonus_tiers = [ { top_up = 500, bonus = "50" } ]
"#;
    assert_eq!(
        problems(body),
        [
            "7:8: invalid type: string \"ten\", expected u64",
            "9:1: unknown field `colour`, expected one of `id`, `kind`, `channel`, `currency`, `jurisdiction`, `named`, `max_balance`, `validity_days`, `breakage`, `partial_use`, `bonus_tiers`, `face_values`, `unit`, `uses`, `covers_up_to`, `amount_off`, `percent_off`, `min_spend`, `max_discount`, `hours`, `days`, `stores`, `one_per_order`",
            "17:17: invalid type: string \"three years\", expected u64",
            "18:28: invalid type: integer `500`, expected a string",
        ]
    );
}

#[test]
fn several_programmes_problems_are_all_reported_in_file_order() {
    let body = r#"[[card_programs]]
id = "member"
kind = "stored_value"
channel = "card"
currency = "CNY"
max_balance = "8000"
validity_days = 365

[[card_programs]]
id = "coffee"
kind = "punch"
channel = "kiosk"
currency = "CNY"
unit = "coffee"
uses = 10
covers_up_to = "30.001"
face_values = ["30"]

[[card_programs]]
id = "weekday"
kind = "coupon"
channel = "promo"
currency = "CNY"
percent_off = "100"
breakage = true
"#;
    assert_eq!(
        problems(body),
        [
            "6:15: `max_balance` 8000.00 is above CN's cap of 5000.00 CNY on a named card",
            "7:17: `validity_days`: a named card in CN never expires; leave it out",
            "12:11: `channel`: unknown channel `kiosk`; this tenant's channels are: card, promo",
            "16:16: `covers_up_to`: 30.001 has more decimals than CNY allows (2)",
            "17:15: `face_values` does not apply to a punch programme, only to gift, voucher",
            "24:15: `percent_off` must be a percentage above 0 and below 100 with at most 2 decimals, written as a string like \"10\" or \"12.5\"",
            "24:15: a percentage coupon needs `max_discount`: the ledger funds a coupon's value when it is issued",
            "25:12: `breakage` does not apply to a coupon programme, only to stored_value, gift, voucher, punch",
        ]
    );
}

/// The example `docs/configuration.md` gives is a valid set of programmes.
#[test]
fn the_documented_example_is_valid() {
    let doc = include_str!("../../../../docs/configuration.md");
    let section = doc.split("## Card programmes").nth(1).expect("the section");
    let example = section
        .split("```toml\n")
        .nth(1)
        .and_then(|s| s.split("```").next())
        .expect("its example");
    let got = programs(example);
    let ids: Vec<&str> = got.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "member",
            "gift",
            "ten-coffees",
            "weekday-lunch",
            "tenth-off"
        ]
    );
}

/// What a coupon takes off an order, exact to the minor unit: never more
/// than the order, a percentage rounded down and capped.
#[test]
fn a_coupon_takes_its_discount_off_an_order() {
    let five_off = Discount::AmountOff(500);
    assert_eq!(five_off.off(3_850), 500);
    assert_eq!(five_off.off(300), 300, "never more than the order");
    let tenth = Discount::PercentOff {
        percent: rust_decimal::Decimal::new(125, 1),
        max_discount: 1_000,
    };
    assert_eq!(tenth.off(3_333), 416, "12.5 % of 33.33 is 4.16625: 4.16");
    assert_eq!(tenth.off(100_000), 1_000, "at most max_discount");
    assert_eq!(tenth.off(0), 0);
}
