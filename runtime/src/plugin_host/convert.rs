//! The plugin host's edge: paycore's channel types (`paycore_core::channel`)
//! into the WIT contract's generated types for a call, and the plugin's
//! answers back. Nothing outside `plugin_host` sees a generated type.

use super::bindings::exports::paycore::channel::statement as wit_statement;
use super::bindings::paycore::channel::types as wit;
use super::load::scene_to_wit;
use paycore_core::channel::*;
use paycore_core::domain::{PaymentStatus, RefundStatus};

pub(super) fn context(c: CallContext) -> wit::CallContext {
    wit::CallContext {
        tenant: c.tenant,
        channel: c.channel,
        settings: c.settings,
        notify_url: c.notify_url,
    }
}

pub(super) fn pay_request(r: PayRequest) -> wit::PayRequest {
    wit::PayRequest {
        payment_id: r.payment_id,
        merchant_order_no: r.merchant_order_no,
        amount: r.amount,
        currency: r.currency,
        scene: scene_to_wit(r.scene),
        wallet: r.wallet,
        auth_code: r.auth_code,
        subject: r.subject,
        payer: r.payer.map(|p| wit::Payer {
            app_id: p.app_id,
            open_id: p.open_id,
            buyer_id: p.buyer_id,
        }),
        goods: r
            .goods
            .into_iter()
            .map(|g| wit::GoodsItem {
                id: g.id,
                name: g.name,
                quantity: g.quantity,
                unit_price: g.unit_price,
                discount: g.discount,
            })
            .collect(),
        receipt_no: r.receipt_no,
        store_id: r.store_id,
        terminal_id: r.terminal_id,
        client_ip: r.client_ip,
        expires_in: r.expires_in,
    }
}

pub(super) fn payment_ref(r: PaymentRef) -> wit::PaymentRef {
    wit::PaymentRef {
        payment_id: r.payment_id,
        merchant_order_no: r.merchant_order_no,
        channel_order_no: r.channel_order_no,
        amount: r.amount,
        currency: r.currency,
        scene: scene_to_wit(r.scene),
    }
}

pub(super) fn refund_request(r: RefundRequest) -> wit::RefundRequest {
    wit::RefundRequest {
        refund_id: r.refund_id,
        merchant_refund_no: r.merchant_refund_no,
        payment: payment_ref(r.payment),
        amount: r.amount,
        reason: r.reason,
    }
}

pub(super) fn refund_ref(r: RefundRef) -> wit::RefundRef {
    wit::RefundRef {
        refund_id: r.refund_id,
        merchant_refund_no: r.merchant_refund_no,
        channel_refund_no: r.channel_refund_no,
        amount: r.amount,
        payment: payment_ref(r.payment),
    }
}

pub(super) fn http_request(r: HttpRequest) -> wit::HttpRequest {
    wit::HttpRequest {
        method: r.method,
        url: r.url,
        headers: r.headers,
        body: r.body,
    }
}

/// A plugin's outbound request, for an in-memory upstream to answer.
pub(super) fn outbound_request(r: &wit::HttpRequest) -> HttpRequest {
    HttpRequest {
        method: r.method.clone(),
        url: r.url.clone(),
        headers: r.headers.clone(),
        body: r.body.clone(),
    }
}

/// An in-memory upstream's answer, as the plugin receives it.
pub(super) fn outbound_response(r: HttpResponse) -> wit::HttpResponse {
    wit::HttpResponse {
        status: r.status,
        headers: r.headers,
        body: r.body,
    }
}

pub(super) fn payment_status(s: wit::PaymentStatus) -> PaymentStatus {
    match s {
        wit::PaymentStatus::Pending => PaymentStatus::Pending,
        wit::PaymentStatus::Processing => PaymentStatus::Processing,
        wit::PaymentStatus::Succeeded => PaymentStatus::Succeeded,
        wit::PaymentStatus::Failed => PaymentStatus::Failed,
        wit::PaymentStatus::Closed => PaymentStatus::Closed,
        wit::PaymentStatus::Cancelled => PaymentStatus::Cancelled,
    }
}

pub(super) fn refund_status(s: wit::RefundStatus) -> RefundStatus {
    match s {
        wit::RefundStatus::Pending => RefundStatus::Pending,
        wit::RefundStatus::Processing => RefundStatus::Processing,
        wit::RefundStatus::Succeeded => RefundStatus::Succeeded,
        wit::RefundStatus::Failed => RefundStatus::Failed,
    }
}

pub(super) fn failure(f: wit::Failure) -> Failure {
    Failure {
        code: f.code,
        message: f.message,
        channel_code: f.channel_code,
        channel_message: f.channel_message,
    }
}

pub(super) fn channel_error(e: wit::ChannelError) -> ChannelError {
    match e {
        wit::ChannelError::Declined(f) => ChannelError::Declined(failure(f)),
        wit::ChannelError::InvalidRequest(f) => ChannelError::InvalidRequest(failure(f)),
        wit::ChannelError::Unavailable(f) => ChannelError::Unavailable(failure(f)),
        wit::ChannelError::OutcomeUnknown(f) => ChannelError::OutcomeUnknown(failure(f)),
    }
}

fn action(a: wit::Action) -> Action {
    match a {
        wit::Action::QrCode(code) => Action::QrCode(code),
        wit::Action::ClientParams(params) => Action::ClientParams(params),
        wit::Action::Redirect(url) => Action::Redirect(url),
    }
}

pub(super) fn payment_result(r: wit::PaymentResult) -> PaymentResult {
    PaymentResult {
        status: payment_status(r.status),
        channel_order_no: r.channel_order_no,
        amount: r.amount,
        currency: r.currency,
        action: r.action.map(action),
        failure: r.failure.map(failure),
    }
}

pub(super) fn refund_result(r: wit::RefundResult) -> RefundResult {
    RefundResult {
        status: refund_status(r.status),
        channel_refund_no: r.channel_refund_no,
        amount: r.amount,
        failure: r.failure.map(failure),
    }
}

pub(super) fn callback_outcome(o: wit::CallbackOutcome) -> CallbackOutcome {
    CallbackOutcome {
        verified: o.verified,
        event: o.event.map(|e| match e {
            wit::CallbackEvent::Payment(u) => CallbackEvent::Payment(PaymentUpdate {
                merchant_order_no: u.merchant_order_no,
                channel_order_no: u.channel_order_no,
                status: payment_status(u.status),
                amount: u.amount,
                currency: u.currency,
            }),
            wit::CallbackEvent::Refund(u) => CallbackEvent::Refund(RefundUpdate {
                merchant_refund_no: u.merchant_refund_no,
                channel_refund_no: u.channel_refund_no,
                status: refund_status(u.status),
                amount: u.amount,
            }),
            wit::CallbackEvent::Ignored => CallbackEvent::Ignored,
        }),
        response: HttpResponse {
            status: o.response.status,
            headers: o.response.headers,
            body: o.response.body,
        },
        unverified_claim: o.unverified_claim,
    }
}

pub(super) fn statement_page(p: wit_statement::StatementPage) -> StatementPage {
    use paycore_core::reconcile::{LineKind, LineStatus, StatedCurrencyTotals, StatementLine};
    StatementPage {
        time_zone: p.time_zone,
        lines: p
            .lines
            .into_iter()
            .map(|l| StatementLine {
                kind: match l.kind {
                    wit_statement::LineKind::Payment => LineKind::Payment,
                    wit_statement::LineKind::Refund => LineKind::Refund,
                    wit_statement::LineKind::Reversal => LineKind::Reversal,
                },
                merchant_order_no: l.merchant_order_no,
                refund_no: l.refund_no,
                channel_no: l.channel_no,
                amount: l.amount,
                fee: l.fee,
                currency: l.currency,
                status: match l.status {
                    wit_statement::LineStatus::Succeeded => LineStatus::Succeeded,
                    wit_statement::LineStatus::Processing => LineStatus::Processing,
                    wit_statement::LineStatus::Failed => LineStatus::Failed,
                },
                at_ms: l.at,
            })
            .collect(),
        next: p.next,
        totals: paycore_core::reconcile::StatedTotals {
            per_currency: p
                .totals
                .into_iter()
                .map(|t| {
                    let stated = StatedCurrencyTotals {
                        payment_count: t.payments,
                        payment_amount: t.payment_amount,
                        refund_count: t.refunds,
                        refund_amount: t.refund_amount,
                        fees: t.fees,
                    };
                    (t.currency, stated)
                })
                .collect(),
        },
    }
}
