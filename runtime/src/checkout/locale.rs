//! The page's two languages, chosen by `Accept-Language`, and money as a
//! payer reads it. Amounts are formatted from integer minor units with the
//! currency's exponent: exact, never through a float.

use paycore_core::money::AmountInputError;
use paycore_core::money::Currency;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locale {
    En,
    ZhCn,
}

impl Locale {
    /// The best of the payer's languages we have, by their `q` weights;
    /// English when none of them is Chinese. Any `zh` (zh-CN, zh-Hans,
    /// zh-TW…) gets the Simplified Chinese page: it is the only Chinese one.
    pub fn from_accept_language(header: Option<&str>) -> Locale {
        let Some(header) = header else {
            return Locale::En;
        };
        let mut best: Option<(u32, Locale)> = None;
        for part in header.split(',').take(32) {
            let mut pieces = part.split(';');
            let tag = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = pieces
                .find_map(|p| p.trim().strip_prefix("q="))
                .map_or(1000, parse_q);
            if q == 0 {
                continue;
            }
            let locale = if tag == "zh" || tag.starts_with("zh-") {
                Some(Locale::ZhCn)
            } else if tag == "en" || tag.starts_with("en-") {
                Some(Locale::En)
            } else {
                None
            };
            if let Some(l) = locale
                && best.is_none_or(|(bq, _)| q > bq)
            {
                best = Some((q, l));
            }
        }
        best.map_or(Locale::En, |(_, l)| l)
    }

    pub fn html_lang(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::ZhCn => "zh-CN",
        }
    }

    pub fn text(self) -> &'static Text {
        match self {
            Locale::En => &EN,
            Locale::ZhCn => &ZH_CN,
        }
    }

    /// A wallet's name as payers know it.
    pub fn wallet_name(self, wallet: &str) -> String {
        let known = match (wallet, self) {
            ("wechat", Locale::En) => "WeChat Pay",
            ("wechat", Locale::ZhCn) => "微信支付",
            ("alipay", Locale::En) => "Alipay",
            ("alipay", Locale::ZhCn) => "支付宝",
            ("unionpay", Locale::En) => "UnionPay",
            ("unionpay", Locale::ZhCn) => "云闪付",
            ("sandbox", Locale::En) => "Sandbox wallet",
            ("sandbox", Locale::ZhCn) => "沙箱钱包",
            (other, _) => return other.to_string(),
        };
        known.to_string()
    }

    /// What a card programme issues, as payers call it.
    pub fn card_kind_name(self, kind: &str) -> &'static str {
        match (kind, self) {
            ("coupon", Locale::En) => "Coupon",
            ("coupon", Locale::ZhCn) => "优惠券",
            ("stored_value", Locale::En) => "Member card",
            ("stored_value", Locale::ZhCn) => "会员卡",
            ("gift", Locale::En) => "Gift card",
            ("gift", Locale::ZhCn) => "礼品卡",
            ("voucher", Locale::En) => "Voucher",
            ("voucher", Locale::ZhCn) => "电子现金券",
            (_, Locale::En) => "Card",
            (_, Locale::ZhCn) => "储值卡",
        }
    }

    /// `minor` units of `currency` as the payer reads them: `¥88.88` in
    /// Chinese, `CN¥88.88` in English, thousands grouped.
    pub fn format_amount(self, minor: i64, currency: &Currency) -> String {
        let exp = currency.exponent();
        let sign = if minor < 0 { "-" } else { "" };
        let digits = minor.unsigned_abs().to_string();
        let exp = exp as usize;
        let padded = format!("{digits:0>width$}", width = exp + 1);
        let (int, frac) = padded.split_at(padded.len() - exp);
        let grouped = group_thousands(int);
        let number = if frac.is_empty() {
            grouped
        } else {
            format!("{grouped}.{frac}")
        };
        match symbol(currency, self) {
            Some(s) => format!("{sign}{s}{number}"),
            None => format!("{sign}{number} {currency}"),
        }
    }
}

fn parse_q(q: &str) -> u32 {
    // q is 0 to 1 with at most three decimals; compared as thousandths.
    let q = q.trim();
    let (int, frac) = q.split_once('.').unwrap_or((q, ""));
    let whole: u32 = match int {
        "1" => 1000,
        "0" => 0,
        _ => return 0,
    };
    let frac: String = frac.chars().take(3).collect();
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return 0;
    }
    let thousandths: u32 = format!("{frac:0<3}").parse().unwrap_or(0);
    (whole + thousandths).min(1000)
}

fn group_thousands(int: &str) -> String {
    let mut out = String::with_capacity(int.len() + int.len() / 3);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn symbol(currency: &str, locale: Locale) -> Option<&'static str> {
    Some(match (currency, locale) {
        ("CNY", Locale::ZhCn) => "¥",
        ("CNY", Locale::En) => "CN¥",
        ("JPY", Locale::En) => "¥",
        ("JPY", Locale::ZhCn) => "JP¥",
        ("USD", Locale::En) => "$",
        ("USD", Locale::ZhCn) => "US$",
        ("HKD", _) => "HK$",
        ("EUR", _) => "€",
        ("GBP", _) => "£",
        _ => return None,
    })
}

/// Every sentence the pages show, in one language.
pub struct Text {
    pub pay_to: &'static str,
    pub amount: &'static str,
    pub order: &'static str,
    pub items: &'static str,
    pub choose_wallet: &'static str,
    pub pay_with: &'static str,
    pub scan_with: &'static str,
    pub open_link: &'static str,
    pub waiting: &'static str,
    pub confirming: &'static str,
    pub paid: &'static str,
    pub failed: &'static str,
    pub closed: &'static str,
    pub expired: &'static str,
    pub returning: &'static str,
    pub back_to_merchant: &'static str,
    pub not_found_title: &'static str,
    pub not_found: &'static str,
    pub enter_amount: &'static str,
    pub amount_hint: &'static str,
    pub pay: &'static str,
    pub which_apps: &'static str,
    pub demo_wallet: &'static str,
    pub in_app_hint: &'static str,
    pub no_wallet: &'static str,
    pub form_used: &'static str,
    pub try_again: &'static str,
    pub qr_label: &'static str,
    pub store: &'static str,
    pub tenders: &'static str,
    pub your_tenders: &'static str,
    pub tender_code: &'static str,
    pub apply: &'static str,
    pub use_it: &'static str,
    pub remove: &'static str,
    pub balance_after: &'static str,
    pub left_to_pay: &'static str,
    pub pay_rest_with: &'static str,
    pub pay_with_tenders: &'static str,
    pub not_applied: &'static str,
    pub enter_code: &'static str,
    pub paid_by: &'static str,
}

static EN: Text = Text {
    pay_to: "Pay",
    amount: "Amount",
    order: "Order",
    items: "Items",
    choose_wallet: "Choose how to pay",
    pay_with: "Pay with",
    scan_with: "Scan this code with {wallet} to pay",
    open_link: "Open {wallet} on this device",
    waiting: "Waiting for your payment…",
    confirming: "Confirming your payment…",
    paid: "Paid. Thank you!",
    failed: "The payment failed.",
    closed: "This payment was closed.",
    expired: "This payment link has expired. Ask the merchant for a new one.",
    returning: "Returning to the merchant…",
    back_to_merchant: "Back to the merchant",
    not_found_title: "Payment link not valid",
    not_found: "This payment link is not valid. Check it, or ask the merchant for a new one.",
    enter_amount: "Enter the amount",
    amount_hint: "For example 12.50",
    pay: "Pay",
    which_apps: "Open this code with one of these apps to pay:",
    demo_wallet: "Or pay here with:",
    in_app_hint: "Paying in {wallet}",
    no_wallet: "No wallet can take this payment right now.",
    form_used: "This form was already used for another amount. Reload the page to start again.",
    try_again: "Try again",
    qr_label: "Payment QR code",
    store: "Store",
    tenders: "Coupons and cards",
    your_tenders: "Yours to use:",
    tender_code: "Coupon code or member payment code",
    apply: "Apply",
    use_it: "Use",
    remove: "Remove",
    balance_after: "balance after: {amount}",
    left_to_pay: "Left to pay",
    pay_rest_with: "Pay {amount} with {wallet}",
    pay_with_tenders: "Pay with coupons and cards",
    not_applied: "Not applied: {reason}",
    enter_code: "Enter a coupon code or a member payment code.",
    paid_by: "Paid by",
};

static ZH_CN: Text = Text {
    pay_to: "付款给",
    amount: "金额",
    order: "订单号",
    items: "商品",
    choose_wallet: "选择支付方式",
    pay_with: "使用",
    scan_with: "请使用{wallet}扫描二维码付款",
    open_link: "在本设备打开{wallet}",
    waiting: "等待付款…",
    confirming: "正在确认支付结果…",
    paid: "支付成功，谢谢！",
    failed: "支付失败。",
    closed: "该订单已关闭。",
    expired: "支付链接已过期，请联系商户重新获取。",
    returning: "正在返回商户…",
    back_to_merchant: "返回商户",
    not_found_title: "支付链接无效",
    not_found: "该支付链接无效，请检查链接或联系商户重新获取。",
    enter_amount: "输入金额",
    amount_hint: "例如 12.50",
    pay: "付款",
    which_apps: "请使用以下应用扫描此码付款：",
    demo_wallet: "或在此使用：",
    in_app_hint: "正在使用{wallet}付款",
    no_wallet: "目前没有可用的支付方式。",
    form_used: "此表单已用于另一金额，请刷新页面重新开始。",
    try_again: "重试",
    qr_label: "付款二维码",
    store: "门店",
    tenders: "优惠券与会员卡",
    your_tenders: "可用的券和卡：",
    tender_code: "优惠券码或会员付款码",
    apply: "使用",
    use_it: "使用",
    remove: "取消",
    balance_after: "支付后余额 {amount}",
    left_to_pay: "还需支付",
    pay_rest_with: "使用{wallet}支付 {amount}",
    pay_with_tenders: "使用券和卡付款",
    not_applied: "未能使用：{reason}",
    enter_code: "请输入优惠券码或会员付款码。",
    paid_by: "支付方式",
};

impl Locale {
    /// Why a typed amount was refused, in this language.
    pub fn amount_error(self, error: &AmountInputError, currency: &Currency) -> String {
        use Locale::*;
        let locale = self;
        match (error, locale) {
            (AmountInputError::Empty, En) => "Enter an amount.".into(),
            (AmountInputError::Empty, ZhCn) => "请输入金额。".into(),
            (AmountInputError::NotANumber, En) => {
                "Enter the amount as a number, like 12.50.".into()
            }
            (AmountInputError::NotANumber, ZhCn) => "请输入数字金额，例如 12.50。".into(),
            (AmountInputError::TooManyDecimals { allowed: 0 }, En) => {
                format!("{currency} amounts have no decimals.")
            }
            (AmountInputError::TooManyDecimals { allowed: 0 }, ZhCn) => {
                format!("{currency} 金额不能有小数。")
            }
            (AmountInputError::TooManyDecimals { allowed }, En) => {
                format!("Use at most {allowed} decimals.")
            }
            (AmountInputError::TooManyDecimals { allowed }, ZhCn) => {
                format!("最多 {allowed} 位小数。")
            }
            (AmountInputError::Zero, En) => "The amount must be more than zero.".into(),
            (AmountInputError::Zero, ZhCn) => "金额必须大于零。".into(),
            (AmountInputError::AboveLimit { max_minor }, En) => format!(
                "The most you can pay here is {}.",
                locale.format_amount(*max_minor, currency)
            ),
            (AmountInputError::AboveLimit { max_minor }, ZhCn) => format!(
                "单笔最多可付 {}。",
                locale.format_amount(*max_minor, currency)
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_the_preferred_known_language() {
        use Locale::*;
        for (header, want) in [
            (None, En),
            (Some(""), En),
            (Some("zh-CN,zh;q=0.9,en;q=0.8"), ZhCn),
            (Some("en-US,en;q=0.9,zh-CN;q=0.8"), En),
            (Some("fr-FR,zh;q=0.5"), ZhCn),
            (Some("de,fr"), En),
            (Some("zh;q=0,en;q=0.1"), En),
            (Some("en;q=0.4, zh-Hans;q=0.6"), ZhCn),
            (Some("zh-TW"), ZhCn),
            (Some("zh;q=garbage,en"), En),
            (Some(";;;,,,q=1"), En),
        ] {
            assert_eq!(Locale::from_accept_language(header), want, "{header:?}");
        }
    }

    #[test]
    fn amounts_are_formatted_exactly_for_each_currency_and_locale() {
        use Locale::*;
        for (minor, currency, locale, want) in [
            (8888, "CNY", ZhCn, "¥88.88"),
            (8888, "CNY", En, "CN¥88.88"),
            (1, "CNY", En, "CN¥0.01"),
            (100, "CNY", ZhCn, "¥1.00"),
            (123456789, "CNY", ZhCn, "¥1,234,567.89"),
            (
                999_999_999_999_999_999,
                "CNY",
                En,
                "CN¥9,999,999,999,999,999.99",
            ),
            (500, "JPY", En, "¥500"),
            (1234567, "JPY", ZhCn, "JP¥1,234,567"),
            (1, "BHD", En, "0.001 BHD"),
            (1050, "USD", En, "$10.50"),
            (1050, "USD", ZhCn, "US$10.50"),
        ] {
            assert_eq!(
                locale.format_amount(minor, &Currency::parse(currency).unwrap()),
                want
            );
        }
    }

    #[test]
    fn wallets_have_their_local_names() {
        assert_eq!(Locale::ZhCn.wallet_name("wechat"), "微信支付");
        assert_eq!(Locale::En.wallet_name("alipay"), "Alipay");
        assert_eq!(Locale::En.wallet_name("paypay"), "paypay");
    }
}
