//! The plugin's operations (its `Channel`): each paycore operation as the
//! WeChat Pay v3 API calls it, for direct merchants and for service
//! providers (partner mode), and each answer as a paycore result.
//! Notifications are verified and decrypted in `notify`.

use paycore_plugin_sdk::types::{
    Action, CallContext, CallbackOutcome, ChannelError, Failure, HttpRequest, PayRequest,
    PaymentRef, PaymentResult, PaymentStatus, RefundRef, RefundRequest, RefundResult, Scene,
    StatementPage,
};
use paycore_plugin_sdk::{Channel, Host};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use time::macros::offset;

use crate::api::{self, Client, Merchant};
use crate::sign;
use crate::wire::{self, CURRENCY, Refund, Transaction};
use crate::{WechatPay, notify, statement};

impl Channel for WechatPay {
    fn pay(
        &self,
        host: &dyn Host,
        ctx: &CallContext,
        req: PayRequest,
    ) -> Result<PaymentResult, ChannelError> {
        wire::check_order_no("out_trade_no", &req.merchant_order_no)?;
        wire::check_currency(&req.currency)?;
        let client = Client::new(host, ctx)?;
        let m = &client.merchant;
        // The payer's mini-program / official account, when the client names it.
        let payer_appid = req.payer.as_ref().and_then(|p| p.app_id.as_deref());
        let mut body = merchant_fields(
            m,
            if req.scene == Scene::Jsapi {
                payer_appid
            } else {
                None
            },
        );
        let description: String = req
            .subject
            .clone()
            .unwrap_or_else(|| req.merchant_order_no.clone())
            .chars()
            .take(127)
            .collect();
        body.insert("description".into(), description.into());
        body.insert("out_trade_no".into(), req.merchant_order_no.clone().into());
        body.insert(
            "amount".into(),
            json!({"total": req.amount, "currency": CURRENCY}),
        );
        if !req.goods.is_empty() {
            let goods: Vec<Value> = req.goods.iter().map(|g| json!({
            "merchant_goods_id": g.id, "goods_name": g.name, "quantity": g.quantity, "unit_price": g.unit_price,
        })).collect();
            body.insert(
                "detail".into(),
                json!({"invoice_id": req.receipt_no, "goods_detail": goods}),
            );
        }
        let kind = match req.scene {
            Scene::Barcode | Scene::Face => "codepay",
            Scene::Jsapi => "jsapi",
            Scene::App => "app",
            Scene::H5 => "h5",
            // A PC web checkout shows the Native QR code: WeChat has no other.
            Scene::Qrcode | Scene::Web => "native",
        };
        if kind == "codepay" {
            // Payment codes and face-pay codes are both `auth_code`s.
            let code = req
                .auth_code
                .as_deref()
                .filter(|c| !c.is_empty())
                .ok_or_else(|| invalid("missing_field", "`auth_code` is required"))?;
            body.insert("payer".into(), json!({"auth_code": code}));
            let mut scene =
                json!({"store_info": {"out_id": req.store_id.clone().unwrap_or_default()}});
            if let Some(ip) = &req.client_ip {
                scene["device_ip"] = ip.clone().into();
            }
            body.insert("scene_info".into(), scene);
        } else {
            body.insert("notify_url".into(), m.notify_url.into());
            if let Some(seconds) = req.expires_in {
                body.insert(
                    "time_expire".into(),
                    time_expire(host.now_millis(), seconds).into(),
                );
            }
        }
        if kind == "jsapi" {
            let openid = req
                .payer
                .as_ref()
                .and_then(|p| p.open_id.clone())
                .ok_or_else(|| {
                    invalid("missing_payer", "WeChat JSAPI needs the payer's `open_id`")
                })?;
            // A partner's payer is known under the sub-merchant's app when there is one.
            let field = match (m.partner(), body.contains_key("sub_appid")) {
                (false, _) => "openid",
                (true, true) => "sub_openid",
                (true, false) => "sp_openid",
            };
            body.insert("payer".into(), json!({field: openid}));
        }
        if kind == "h5" {
            let ip = req.client_ip.clone().ok_or_else(|| {
                invalid("missing_field", "WeChat H5 needs the payer's `client_ip`")
            })?;
            body.insert(
                "scene_info".into(),
                json!({"payer_client_ip": ip, "h5_info": {"type": "Wap"}}),
            );
        }
        let text = Value::Object(body.clone()).to_string();
        let answer = client.send("POST", &format!("{}/{kind}", transactions(m)), &text)?;
        let body_appid = body
            .get("sub_appid")
            .or(body.get("appid"))
            .and_then(Value::as_str)
            .unwrap_or(m.appid)
            .to_owned();
        match (kind, answer) {
            ("codepay", Ok(bytes)) => transaction_result(&api::parse(&bytes)?),
            // The payer is entering a password: paycore queries, then reverses
            // after the deadline.
            ("codepay", Err(e)) if e.code == "USERPAYING" => {
                Ok(PaymentResult::status_only(PaymentStatus::Processing, None))
            }
            (_, Err(e)) => Err(e.into_channel_error()),
            ("native", Ok(bytes)) => {
                let Created { code_url, .. } = api::parse(&bytes)?;
                let url = code_url.ok_or_else(|| malformed("native answered without code_url"))?;
                Ok(pending(Some(Action::QrCode(url))))
            }
            ("h5", Ok(bytes)) => {
                let Created { h5_url, .. } = api::parse(&bytes)?;
                let url = h5_url.ok_or_else(|| malformed("h5 answered without h5_url"))?;
                Ok(pending(Some(Action::Redirect(url))))
            }
            (_, Ok(bytes)) => {
                let Created { prepay_id, .. } = api::parse(&bytes)?;
                let prepay_id = prepay_id.ok_or_else(|| malformed("answered without prepay_id"))?;
                let params = if kind == "jsapi" {
                    jsapi_params(host, &body_appid, &prepay_id)?
                } else {
                    app_params(
                        host,
                        &body_appid,
                        m.sub_mchid.unwrap_or(m.mchid),
                        &prepay_id,
                    )?
                };
                Ok(pending(Some(Action::ClientParams(params))))
            }
        }
    }

    fn query(
        &self,
        host: &dyn Host,
        ctx: &CallContext,
        payment: PaymentRef,
    ) -> Result<PaymentResult, ChannelError> {
        let client = Client::new(host, ctx)?;
        let m = &client.merchant;
        let path = match &payment.channel_order_no {
            Some(id) => format!("{}/id/{id}?{}", transactions(m), merchant_query(m)),
            None => format!(
                "{}/out-trade-no/{}?{}",
                transactions(m),
                payment.merchant_order_no,
                merchant_query(m)
            ),
        };
        let bytes = client
            .send("GET", &path, "")?
            .map_err(api::ApiError::into_channel_error)?;
        transaction_result(&api::parse(&bytes)?)
    }

    fn refund(
        &self,
        host: &dyn Host,
        ctx: &CallContext,
        req: RefundRequest,
    ) -> Result<RefundResult, ChannelError> {
        wire::check_order_no("out_refund_no", &req.merchant_refund_no)?;
        wire::check_currency(&req.payment.currency)?;
        let client = Client::new(host, ctx)?;
        let m = &client.merchant;
        let mut body = Map::new();
        if let Some(sub) = m.sub_mchid {
            body.insert("sub_mchid".into(), sub.into());
        }
        match &req.payment.channel_order_no {
            Some(id) => body.insert("transaction_id".into(), id.clone().into()),
            None => body.insert(
                "out_trade_no".into(),
                req.payment.merchant_order_no.clone().into(),
            ),
        };
        body.insert(
            "out_refund_no".into(),
            req.merchant_refund_no.clone().into(),
        );
        if let Some(reason) = &req.reason {
            body.insert("reason".into(), reason.clone().into());
        }
        body.insert("notify_url".into(), m.notify_url.into());
        body.insert(
            "amount".into(),
            json!({"refund": req.amount, "total": req.payment.amount, "currency": CURRENCY}),
        );
        let bytes = client
            .send(
                "POST",
                "/v3/refund/domestic/refunds",
                &Value::Object(body).to_string(),
            )?
            .map_err(api::ApiError::into_channel_error)?;
        refund_result(&api::parse(&bytes)?)
    }

    fn query_refund(
        &self,
        host: &dyn Host,
        ctx: &CallContext,
        refund: RefundRef,
    ) -> Result<RefundResult, ChannelError> {
        let client = Client::new(host, ctx)?;
        let m = &client.merchant;
        let mut path = format!("/v3/refund/domestic/refunds/{}", refund.merchant_refund_no);
        if let Some(sub) = m.sub_mchid {
            path.push_str(&format!("?sub_mchid={sub}"));
        }
        let bytes = client
            .send("GET", &path, "")?
            .map_err(api::ApiError::into_channel_error)?;
        refund_result(&api::parse(&bytes)?)
    }

    fn close(
        &self,
        host: &dyn Host,
        ctx: &CallContext,
        payment: PaymentRef,
    ) -> Result<PaymentResult, ChannelError> {
        let client = Client::new(host, ctx)?;
        let m = &client.merchant;
        let mut body = Map::new();
        match m.sub_mchid {
            Some(sub) => {
                body.insert("sp_mchid".into(), m.mchid.into());
                body.insert("sub_mchid".into(), sub.into());
            }
            None => {
                body.insert("mchid".into(), m.mchid.into());
            }
        }
        order_action(&client, &payment, "close", body, PaymentStatus::Closed)
    }

    fn cancel(
        &self,
        host: &dyn Host,
        ctx: &CallContext,
        payment: PaymentRef,
    ) -> Result<PaymentResult, ChannelError> {
        let client = Client::new(host, ctx)?;
        let m = &client.merchant;
        let body = merchant_fields(m, None);
        // Reverse goes by our number: after a timed-out pay it is all we have.
        order_action(&client, &payment, "reverse", body, PaymentStatus::Cancelled)
    }

    /// The trade bill of `day`, a page of rows at a time (`statement`).
    fn statement(
        &self,
        host: &dyn Host,
        ctx: &CallContext,
        day: String,
        cursor: Option<String>,
    ) -> Result<StatementPage, ChannelError> {
        statement::page(host, ctx, &day, cursor)
    }

    fn handle_callback(
        &self,
        host: &dyn Host,
        ctx: &CallContext,
        request: HttpRequest,
    ) -> Result<CallbackOutcome, ChannelError> {
        notify::handle(host, ctx, &request)
    }
}

/// `/v3/pay/transactions` or, for a service provider, `/v3/pay/partner/transactions`.
fn transactions(m: &Merchant) -> &'static str {
    if m.partner() {
        "/v3/pay/partner/transactions"
    } else {
        "/v3/pay/transactions"
    }
}

/// The query string naming the merchant on GETs.
fn merchant_query(m: &Merchant) -> String {
    match m.sub_mchid {
        Some(sub) => format!("sp_mchid={}&sub_mchid={sub}", m.mchid),
        None => format!("mchid={}", m.mchid),
    }
}

/// The merchant fields every order body starts with.
/// POSTs `body` to one of an order's actions by our order number
/// (`close`, `reverse`); WeChat Pay answers 204 No Content once it is done,
/// and the payment is then `done`.
fn order_action(
    client: &Client,
    payment: &PaymentRef,
    action: &str,
    body: Map<String, Value>,
    done: PaymentStatus,
) -> Result<PaymentResult, ChannelError> {
    let path = format!(
        "{}/out-trade-no/{}/{action}",
        transactions(&client.merchant),
        payment.merchant_order_no
    );
    client
        .send("POST", &path, &Value::Object(body).to_string())?
        .map_err(api::ApiError::into_channel_error)?;
    Ok(PaymentResult::status_only(
        done,
        payment.channel_order_no.clone(),
    ))
}

fn merchant_fields(m: &Merchant, appid: Option<&str>) -> Map<String, Value> {
    let mut body = Map::new();
    match m.sub_mchid {
        Some(sub) => {
            body.insert("sp_appid".into(), m.appid.into());
            body.insert("sp_mchid".into(), m.mchid.into());
            body.insert("sub_mchid".into(), sub.into());
            if let Some(sub_appid) = appid.or(m.sub_appid) {
                body.insert("sub_appid".into(), sub_appid.into());
            }
        }
        None => {
            body.insert("appid".into(), appid.unwrap_or(m.appid).into());
            body.insert("mchid".into(), m.mchid.into());
        }
    }
    body
}

#[derive(Deserialize)]
struct Created {
    prepay_id: Option<String>,
    code_url: Option<String>,
    h5_url: Option<String>,
}

/// What `wx.requestPayment` / `WeixinJSBridge` needs, signed over
/// `appId\ntimeStamp\nnonceStr\npackage\n`.
pub fn jsapi_params(
    host: &dyn Host,
    appid: &str,
    prepay_id: &str,
) -> Result<Vec<(String, String)>, ChannelError> {
    let ts = (host.now_millis() / 1000).to_string();
    let nonce = sign::nonce(&[appid, prepay_id, &ts]);
    let package = format!("prepay_id={prepay_id}");
    let pay_sign = sign::sign(host, &sign::message(&[appid, &ts, &nonce, &package]))?;
    Ok(pairs(&[
        ("appId", appid),
        ("timeStamp", &ts),
        ("nonceStr", &nonce),
        ("package", &package),
        ("signType", "RSA"),
        ("paySign", &pay_sign),
    ]))
}

/// What the app SDK's `PayReq` needs, signed over
/// `appid\ntimestamp\nnoncestr\nprepayid\n`.
fn app_params(
    host: &dyn Host,
    appid: &str,
    partnerid: &str,
    prepay_id: &str,
) -> Result<Vec<(String, String)>, ChannelError> {
    let ts = (host.now_millis() / 1000).to_string();
    let nonce = sign::nonce(&[appid, prepay_id, &ts]);
    let signature = sign::sign(host, &sign::message(&[appid, &ts, &nonce, prepay_id]))?;
    Ok(pairs(&[
        ("appid", appid),
        ("partnerid", partnerid),
        ("prepayid", prepay_id),
        ("package", "Sign=WXPay"),
        ("noncestr", &nonce),
        ("timestamp", &ts),
        ("sign", &signature),
    ]))
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// `time_expire` is RFC 3339 in Beijing time.
fn time_expire(now_millis: u64, seconds: u32) -> String {
    let at = i64::try_from(now_millis / 1000).unwrap_or(0) + i64::from(seconds);
    time::OffsetDateTime::from_unix_timestamp(at)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .to_offset(offset!(+8))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

pub fn refund_result(refund: &Refund) -> Result<RefundResult, ChannelError> {
    let status = wire::refund_status(&refund.status)
        .ok_or_else(|| malformed(&format!("unknown refund status `{}`", refund.status)))?;
    Ok(RefundResult {
        status,
        channel_refund_no: refund.refund_id.clone(),
        amount: Some(refund.amount.refund),
        failure: (status == paycore_plugin_sdk::types::RefundStatus::Failed).then(|| {
            Failure::new("refund_closed", "WeChat Pay closed the refund")
                .with_channel(&refund.status, None)
        }),
    })
}

pub fn transaction_result(t: &Transaction) -> Result<PaymentResult, ChannelError> {
    let status = t.status()?;
    Ok(PaymentResult {
        status,
        channel_order_no: t.transaction_id.clone(),
        amount: t.amount.as_ref().map(|a| a.total),
        currency: t.amount.as_ref().map(|a| a.currency.clone()),
        action: None,
        failure: (status == PaymentStatus::Failed).then(|| {
            Failure::new("declined", "the payment failed at WeChat Pay")
                .with_channel(&t.trade_state, None)
        }),
    })
}

fn pending(action: Option<Action>) -> PaymentResult {
    PaymentResult {
        action,
        ..PaymentResult::status_only(PaymentStatus::Pending, None)
    }
}

fn invalid(code: &str, message: &str) -> ChannelError {
    ChannelError::InvalidRequest(Failure::new(code, message))
}

fn malformed(why: &str) -> ChannelError {
    ChannelError::OutcomeUnknown(Failure::new("malformed_answer", why.to_owned()))
}
