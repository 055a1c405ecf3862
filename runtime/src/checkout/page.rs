//! The pages' HTML. Everything interpolated is escaped (subjects, goods and
//! order numbers come from merchants; nothing from the payer is echoed
//! except the amount they typed). No inline script or style: the pages'
//! Content-Security-Policy allows only paycore's own two assets.

use super::Locale;
use crate::domain::PaymentStatus;
use crate::money::Currency;
use crate::payments::WalletOffer;
use crate::payments::checkout_tenders::Draft;
use crate::payments::request::GoodsItem;
use crate::payments::view::TenderView;

/// Where a checkout payment stands, as the payer sees it.
pub enum PageState<'a> {
    /// Awaiting the payer's choice of wallet.
    Choose {
        offers: &'a [WalletOffer],
    },
    /// Sent to a wallet: scan the code (or open it on this device).
    Waiting {
        wallet: &'a str,
        qr_content: Option<String>,
        /// Parameters for the wallet's in-app payment (JSAPI), as JSON.
        client_params: Option<String>,
    },
    /// The channel has not confirmed yet (`processing`, `unknown`).
    Confirming,
    Final(PaymentStatus),
    Expired,
}

/// A short name of the state: the page carries it, the status endpoint
/// answers it, and the page's script reloads when the two differ.
pub fn state_key(state: &PageState<'_>) -> String {
    match state {
        PageState::Choose { .. } => "choose".into(),
        PageState::Waiting { .. } => "waiting".into(),
        PageState::Confirming => "confirming".into(),
        PageState::Final(s) => format!("final:{s}"),
        PageState::Expired => "expired".into(),
    }
}

/// One checkout payment's page.
pub struct CheckoutView<'a> {
    pub locale: Locale,
    pub merchant: &'a str,
    pub amount: i64,
    pub currency: &'a Currency,
    pub subject: Option<&'a str>,
    pub goods: &'a [GoodsItem],
    pub order_no: &'a str,
    pub token: &'a str,
    pub return_url: Option<&'a str>,
    pub state: PageState<'a>,
    /// A refusal to show above the state (e.g. the wallet cannot pay).
    pub notice: Option<String>,
    pub tenders: Tenders<'a>,
}

/// Coupons and cards on the page.
pub enum Tenders<'a> {
    /// The tenant has none that could pay this payment.
    None,
    /// While the payer chooses: what they applied and could apply.
    Draft(&'a Draft),
    /// A combined order: how it is being paid.
    Order(&'a [TenderView]),
}

pub fn checkout(v: &CheckoutView<'_>) -> String {
    let t = v.locale.text();
    let mut body = String::new();
    body.push_str(&format!(
        "<header><p class=\"merchant\">{} <strong>{}</strong></p>\
         <p class=\"amount\" aria-label=\"{}\">{}</p>",
        esc(t.pay_to),
        esc(v.merchant),
        esc(t.amount),
        esc(&v.locale.format_amount(v.amount, v.currency)),
    ));
    if let Some(s) = v.subject {
        body.push_str(&format!("<p class=\"subject\">{}</p>", esc(s)));
    }
    body.push_str("</header>");
    if !v.goods.is_empty() {
        body.push_str(&format!(
            "<section aria-labelledby=\"items\"><h2 id=\"items\">{}</h2><ul class=\"goods\">",
            esc(t.items)
        ));
        for g in v.goods {
            let line = g.unit_price.saturating_mul(g.quantity.into()) - g.discount;
            body.push_str(&format!(
                "<li><span>{} × {}</span><span>{}</span></li>",
                g.quantity,
                esc(&g.name),
                esc(&v.locale.format_amount(line, v.currency)),
            ));
        }
        body.push_str("</ul></section>");
    }
    if let Tenders::Order(tenders) = v.tenders {
        body.push_str(&super::tenders::order_section(
            v.locale, v.currency, tenders,
        ));
    }
    if let Some(n) = &v.notice {
        body.push_str(&format!(
            "<p class=\"notice\" role=\"alert\">{}</p>",
            esc(n)
        ));
    }
    let draft = match v.tenders {
        Tenders::Draft(d) => Some(d),
        _ => None,
    };
    let live = |class: &str, text: &str| {
        format!(
            "<p class=\"status {class}\" role=\"status\" aria-live=\"polite\">{}</p>",
            esc(text)
        )
    };
    // Open states poll for changes; final ones may return to the merchant.
    let mut polls = false;
    let mut returns = false;
    match &v.state {
        PageState::Choose { offers } => {
            if let Some(d) = draft {
                body.push_str(&super::tenders::draft_section(
                    v.locale, v.currency, v.token, d,
                ));
            }
            body.push_str(&choose(v, offers, draft));
            // With nothing to choose there is nothing to wait for.
            polls = !offers.is_empty() || draft.is_some_and(|d| !d.lines.is_empty());
        }
        PageState::Waiting {
            wallet,
            qr_content,
            client_params,
        } => {
            polls = true;
            let name = v.locale.wallet_name(wallet);
            if let Some(content) = qr_content {
                body.push_str("<figure class=\"code\">");
                if let Some(svg) = super::qr::svg(content, t.qr_label) {
                    body.push_str(&svg);
                }
                body.push_str(&format!(
                    "<figcaption>{}</figcaption></figure>",
                    esc(&t.scan_with.replace("{wallet}", &name))
                ));
                if content.starts_with("https://") || content.starts_with("http://") {
                    body.push_str(&format!(
                        "<p><a class=\"open\" href=\"{}\" target=\"_blank\" rel=\"noopener noreferrer\">{}</a></p>",
                        esc(content),
                        esc(&t.open_link.replace("{wallet}", &name))
                    ));
                }
            }
            if let Some(params) = client_params {
                body.push_str(&format!(
                    "<p>{}</p><div id=\"client-params\" data-wallet=\"{}\" data-params=\"{}\" hidden></div>",
                    esc(&t.in_app_hint.replace("{wallet}", &name)),
                    esc(wallet),
                    esc(params)
                ));
            }
            body.push_str(&live("waiting", t.waiting));
        }
        PageState::Confirming => {
            polls = true;
            body.push_str(&live("waiting", t.confirming));
        }
        PageState::Final(status) => {
            returns = true;
            let (class, text) = match status {
                PaymentStatus::Succeeded => ("paid", t.paid),
                PaymentStatus::Closed => ("closed", t.closed),
                _ => ("failed", t.failed),
            };
            body.push_str(&live(class, text));
        }
        PageState::Expired => {
            returns = true;
            body.push_str(&live("expired", t.expired));
        }
    }
    if returns && let Some(url) = v.return_url {
        body.push_str(&format!(
            "<p class=\"returning\">{}</p><p><a id=\"return\" class=\"button\" href=\"{}\">{}</a></p>",
            esc(t.returning),
            esc(url),
            esc(t.back_to_merchant)
        ));
    }
    body.push_str(&format!(
        "<footer><p class=\"muted\">{} {}</p></footer>",
        esc(t.order),
        esc(v.order_no)
    ));
    let status_url = format!("/pay/{}/status", v.token);
    let mut data = format!(" data-state=\"{}\"", esc(&state_key(&v.state)));
    if polls {
        data.push_str(&format!(" data-poll=\"{}\"", esc(&status_url)));
    } else if returns && v.return_url.is_some() {
        data.push_str(" data-return=\"1\"");
    }
    layout(
        v.locale,
        &format!("{} {}", t.pay_to, v.merchant),
        &body,
        &data,
        polls,
    )
}

/// The payer's choice of how to pay what is left: a button per wallet, or
/// one to pay with coupons and cards alone when they cover it all.
fn choose(v: &CheckoutView<'_>, offers: &[WalletOffer], draft: Option<&Draft>) -> String {
    let t = v.locale.text();
    let applied = draft.filter(|d| !d.lines.is_empty());
    let covered = applied.is_some_and(|d| d.remaining == 0);
    if offers.is_empty() && !covered {
        return format!(
            "<p class=\"status failed\" role=\"status\" aria-live=\"polite\">{}</p>",
            esc(t.no_wallet)
        );
    }
    let mut html = format!(
        "<form method=\"post\" action=\"/pay/{}\" class=\"wallets\">{}<fieldset><legend>{}</legend>",
        esc(v.token),
        applied
            .map(super::tenders::paying_inputs)
            .unwrap_or_default(),
        esc(t.choose_wallet)
    );
    if covered {
        html.push_str(&format!(
            "<button type=\"submit\" name=\"pay\" value=\"tenders\" class=\"wallet wallet-tenders\">{}</button>",
            esc(t.pay_with_tenders)
        ));
    }
    for o in offers.iter().filter(|_| !covered) {
        let name = v.locale.wallet_name(&o.wallet);
        let label = match applied {
            Some(d) => t
                .pay_rest_with
                .replace("{amount}", &v.locale.format_amount(d.remaining, v.currency))
                .replace("{wallet}", &name),
            None => format!("{} {}", t.pay_with, name),
        };
        html.push_str(&format!(
            "<button type=\"submit\" name=\"wallet\" value=\"{}\" class=\"wallet wallet-{}\">{}</button>",
            esc(&o.wallet),
            esc(&o.wallet),
            esc(&label),
        ));
    }
    html.push_str("</fieldset></form>");
    html
}

/// A static code's page.
pub struct AggregateView<'a> {
    pub locale: Locale,
    pub merchant: &'a str,
    pub store_id: &'a str,
    pub subject: Option<&'a str>,
    pub currency: &'a Currency,
    /// Fixed by the code; else the payer types it.
    pub amount: Option<i64>,
    pub token: &'a str,
    /// This page load's nonce: the order number of the payment it creates.
    pub nonce: &'a str,
    /// The wallet app showing the page, when one does and can pay.
    pub in_app: Option<&'a str>,
    /// Wallets a plain browser can pay with here (the sandbox wallet).
    pub browser_wallets: &'a [String],
    /// Wallet apps that can pay this code, for the explanation.
    pub app_wallets: &'a [String],
    pub typed: Option<&'a str>,
    pub notice: Option<String>,
}

pub fn aggregate(v: &AggregateView<'_>) -> String {
    let t = v.locale.text();
    let mut body = format!(
        "<header><p class=\"merchant\">{} <strong>{}</strong></p><p class=\"muted\">{} {}</p>",
        esc(t.pay_to),
        esc(v.merchant),
        esc(t.store),
        esc(v.store_id)
    );
    if let Some(s) = v.subject {
        body.push_str(&format!("<p class=\"subject\">{}</p>", esc(s)));
    }
    if let Some(a) = v.amount {
        body.push_str(&format!(
            "<p class=\"amount\">{}</p>",
            esc(&v.locale.format_amount(a, v.currency))
        ));
    }
    body.push_str("</header>");
    if let Some(n) = &v.notice {
        body.push_str(&format!(
            "<p class=\"notice\" role=\"alert\">{}</p>",
            esc(n)
        ));
    }
    let wallets: Vec<&str> = match v.in_app {
        Some(w) => vec![w],
        None => v.browser_wallets.iter().map(String::as_str).collect(),
    };
    if v.in_app.is_none() {
        if v.app_wallets.is_empty() && wallets.is_empty() {
            body.push_str(&format!(
                "<p class=\"status failed\">{}</p>",
                esc(t.no_wallet)
            ));
        } else if !v.app_wallets.is_empty() {
            body.push_str(&format!("<p>{}</p><ul class=\"apps\">", esc(t.which_apps)));
            for w in v.app_wallets {
                body.push_str(&format!("<li>{}</li>", esc(&v.locale.wallet_name(w))));
            }
            body.push_str("</ul>");
            if !wallets.is_empty() {
                body.push_str(&format!("<p>{}</p>", esc(t.demo_wallet)));
            }
        }
    }
    if !wallets.is_empty() {
        body.push_str(&format!(
            "<form method=\"post\" action=\"/q/{}\" class=\"enter\"><input type=\"hidden\" name=\"nonce\" value=\"{}\">",
            esc(v.token),
            esc(v.nonce)
        ));
        if v.amount.is_none() {
            body.push_str(&format!(
                "<label for=\"amount\">{} ({})</label>\
                 <input id=\"amount\" name=\"amount\" inputmode=\"decimal\" autocomplete=\"off\" required \
                 placeholder=\"{}\" value=\"{}\" aria-describedby=\"amount-hint\">\
                 <p id=\"amount-hint\" class=\"muted\">{}</p>",
                esc(t.enter_amount),
                esc(v.currency),
                esc(t.amount_hint),
                esc(v.typed.unwrap_or("")),
                esc(t.amount_hint),
            ));
        }
        for w in wallets {
            body.push_str(&format!(
                "<button type=\"submit\" name=\"wallet\" value=\"{}\" class=\"wallet wallet-{}\">{} {}</button>",
                esc(w),
                esc(w),
                esc(t.pay_with),
                esc(&v.locale.wallet_name(w))
            ));
        }
        body.push_str("</form>");
    }
    layout(
        v.locale,
        &format!("{} {}", t.pay_to, v.merchant),
        &body,
        "",
        false,
    )
}

pub fn not_found(locale: Locale) -> String {
    let t = locale.text();
    layout(
        locale,
        t.not_found_title,
        &format!(
            "<h1>{}</h1><p class=\"status failed\">{}</p>",
            esc(t.not_found_title),
            esc(t.not_found)
        ),
        "",
        false,
    )
}

fn layout(locale: Locale, title: &str, body: &str, data: &str, refresh: bool) -> String {
    // Without scripts, open pages still move on: a plain refresh.
    let noscript = if refresh {
        "<noscript><meta http-equiv=\"refresh\" content=\"5\"></noscript>"
    } else {
        ""
    };
    format!(
        "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"referrer\" content=\"no-referrer\">{noscript}\
         <title>{title}</title><link rel=\"stylesheet\" href=\"/checkout/assets/checkout.css\">\
         <script src=\"/checkout/assets/checkout.js\" defer></script></head>\
         <body><main{data}>{body}</main></body></html>",
        lang = locale.html_lang(),
        title = esc(title),
    )
}

/// HTML-escapes text for element content and quoted attributes.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cny() -> &'static Currency {
        static CNY: std::sync::OnceLock<Currency> = std::sync::OnceLock::new();
        CNY.get_or_init(|| Currency::parse("CNY").expect("known"))
    }

    fn view<'a>(state: PageState<'a>, goods: &'a [GoodsItem]) -> CheckoutView<'a> {
        CheckoutView {
            locale: Locale::En,
            merchant: "Caf\u{e9} <script>",
            amount: 8888,
            currency: cny(),
            subject: Some("2 x \"latte\""),
            goods,
            order_no: "A1",
            token: "t0k",
            return_url: Some("https://shop.example/done?a=1&b=2"),
            state,
            notice: None,
            tenders: Tenders::None,
        }
    }

    #[test]
    fn merchant_text_is_escaped_and_nothing_inline_runs() {
        let goods = [GoodsItem {
            id: "1".into(),
            name: "<img src=x onerror=alert(1)>".into(),
            quantity: 2,
            unit_price: 4500,
            discount: 112,
        }];
        let html = checkout(&view(PageState::Final(PaymentStatus::Succeeded), &goods));
        assert!(html.contains("Caf\u{e9} &lt;script&gt;"));
        assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));
        assert!(html.contains("CN¥88.88"));
        assert!(
            html.contains("CN¥88.88</span>"),
            "line total 2 × 45.00 − 1.12"
        );
        assert!(html.contains("href=\"https://shop.example/done?a=1&amp;b=2\""));
        assert_eq!(
            html.matches("<script").count(),
            1,
            "only the external script"
        );
        assert!(!html.contains("style="));
        assert!(!html.contains("onclick") && !html.contains("onerror=alert(1)>"));
    }

    #[test]
    fn open_states_poll_and_final_states_return() {
        let waiting = checkout(&view(
            PageState::Waiting {
                wallet: "sandbox",
                qr_content: Some("http://127.0.0.1:1/sandbox/payer/T1".into()),
                client_params: None,
            },
            &[],
        ));
        assert!(waiting.contains("data-poll=\"/pay/t0k/status\""));
        assert!(waiting.contains("<svg role=\"img\""));
        assert!(waiting.contains("Scan this code with Sandbox wallet to pay"));
        assert!(waiting.contains("http-equiv=\"refresh\""));
        assert!(!waiting.contains("id=\"return\""));
        let paid = checkout(&view(PageState::Final(PaymentStatus::Succeeded), &[]));
        assert!(paid.contains("data-return=\"1\"") && paid.contains("id=\"return\""));
        assert!(!paid.contains("data-poll"));
        let expired = checkout(&view(PageState::Expired, &[]));
        assert!(expired.contains("This payment link has expired"));
    }

    fn draft(remaining: i64) -> Draft {
        use crate::domain::ProgramKind;
        use crate::payments::checkout_tenders::{Applied, DraftLine};
        Draft {
            lines: vec![
                DraftLine {
                    applied: Applied::Coupon("cpn_1234abcd".into()),
                    kind: ProgramKind::Coupon,
                    card_id: "cpn_1234abcd".into(),
                    amount: 500,
                    balance_after: None,
                },
                DraftLine {
                    applied: Applied::Card("card_9876wxyz".into()),
                    kind: ProgramKind::Gift,
                    card_id: "card_9876wxyz".into(),
                    amount: 8388 - remaining,
                    balance_after: Some(0),
                },
            ],
            remaining,
            ..Draft::default()
        }
    }

    #[test]
    fn applied_coupons_and_cards_leave_the_rest_to_a_wallet_or_pay_it_all() {
        let offers = [WalletOffer {
            wallet: "sandbox".into(),
            scene: crate::domain::Scene::Qrcode,
        }];
        let rest = draft(1350);
        let mut v = view(PageState::Choose { offers: &offers }, &[]);
        v.tenders = Tenders::Draft(&rest);
        let html = checkout(&v);
        assert!(html.contains("Coupon ···abcd") && html.contains("−CN¥5.00"));
        assert!(html.contains("Gift card ···wxyz") && html.contains("balance after: CN¥0.00"));
        assert!(html.contains("<strong id=\"rest\">CN¥13.50</strong>"));
        assert!(html.contains(">Pay CN¥13.50 with Sandbox wallet</button>"));
        assert!(html.contains("name=\"rest\" value=\"1350\""));
        assert_eq!(
            html.matches("name=\"t\" value=\"card:card_9876wxyz\"")
                .count(),
            4,
            "every form carries what is applied: two removes, the code's, the wallets'"
        );
        assert!(!html.contains("name=\"pay\""));

        let all = draft(0);
        let mut v = view(PageState::Choose { offers: &offers }, &[]);
        v.tenders = Tenders::Draft(&all);
        let html = checkout(&v);
        assert!(html.contains("name=\"pay\" value=\"tenders\""));
        assert!(
            !html.contains("name=\"wallet\""),
            "nothing left for a wallet"
        );

        // No wallet and nothing applied: nothing to choose, nothing to poll.
        let none = Draft {
            remaining: 8888,
            ..Draft::default()
        };
        let mut v = view(PageState::Choose { offers: &[] }, &[]);
        v.tenders = Tenders::Draft(&none);
        let html = checkout(&v);
        assert!(html.contains("No wallet can take this payment"));
        assert!(
            html.contains("id=\"tender-code\""),
            "a coupon may still be typed"
        );
        assert!(!html.contains("data-poll"));
    }

    fn code_view<'a>(
        in_app: Option<&'a str>,
        apps: &'a [String],
        browser: &'a [String],
    ) -> AggregateView<'a> {
        AggregateView {
            locale: Locale::En,
            merchant: "Demo Coffee",
            store_id: "shop-7",
            subject: None,
            currency: cny(),
            amount: None,
            token: "tok",
            nonce: "0123456789abcdef",
            in_app,
            browser_wallets: browser,
            app_wallets: apps,
            typed: Some("\"><script>"),
            notice: None,
        }
    }

    #[test]
    fn a_plain_camera_is_told_which_apps_can_pay() {
        let apps = ["wechat".to_string(), "alipay".to_string()];
        let html = aggregate(&code_view(None, &apps, &[]));
        assert!(html.contains("Open this code with one of these apps to pay:"));
        assert!(html.contains("<li>WeChat Pay</li><li>Alipay</li>"));
        assert!(!html.contains("<form"), "no wallet to pay with here");
        // Inside WeChat: the amount form, for WeChat only.
        let html = aggregate(&code_view(Some("wechat"), &apps, &[]));
        assert!(html.contains("value=\"wechat\"") && !html.contains("value=\"alipay\""));
        assert!(!html.contains("one of these apps"));
        // What the payer typed comes back escaped.
        assert!(html.contains("value=\"&quot;&gt;&lt;script&gt;\""));
        // Nothing can pay: said so.
        let html = aggregate(&code_view(None, &[], &[]));
        assert!(html.contains("No wallet can take this payment right now."));
    }

    #[test]
    fn chinese_pages_say_it_in_chinese() {
        let mut v = view(PageState::Choose { offers: &[] }, &[]);
        v.locale = Locale::ZhCn;
        let html = checkout(&v);
        assert!(html.contains("lang=\"zh-CN\""));
        assert!(html.contains("¥88.88"));
        assert!(html.contains("目前没有可用的支付方式"));
    }
}
