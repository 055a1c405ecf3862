//! What a test (or the demo's "the payer pays" button) does to either
//! simulator: script an order, move it, read it, read what the plugin sent,
//! make the payer pay and send a notification. Written once for both: only
//! the notification itself, and the routes of the API, are each channel's
//! own.

use std::collections::HashMap;
use std::future::Future;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::orders::{Behaviour, OrderState, Orders, Tweak};
use crate::server::Running;

/// What a simulated channel does its own way. Its state is the router's.
pub trait Channel: Clone + Send + Sync + 'static {
    /// The simulator's memory of orders, scripts and requests.
    fn orders(&self) -> &Orders;

    /// Sends the channel's payment notification for the order as it
    /// stands, spoiled as `tweak` says; answers paycore's (status, body).
    fn notify(
        &self,
        out_trade_no: &str,
        tweak: Tweak,
    ) -> impl Future<Output = (u16, String)> + Send;
}

/// A simulator serving on loopback, and the test's controls over it.
pub struct Simulator<C> {
    pub running: Running,
    pub(crate) channel: C,
}

impl<C: Channel> Simulator<C> {
    /// Serves `api` (the channel's own routes) and `POST /_sim/pay`.
    pub(crate) fn serve(
        listener: tokio::net::TcpListener,
        api: Router<C>,
        channel: C,
    ) -> anyhow::Result<Simulator<C>> {
        let app = api
            .route("/_sim/pay", axum::routing::post(demo_pay::<C>))
            .with_state(channel.clone());
        Ok(Simulator {
            running: Running::serve(listener, app)?,
            channel,
        })
    }

    /// Scripts an order before it exists, or changes an existing one's
    /// behaviour from now on.
    pub fn script(&self, out_trade_no: &str, behaviour: Behaviour) {
        self.channel.orders().script(out_trade_no, behaviour);
    }

    /// Moves an order without telling anyone (e.g. paid, before a test
    /// sends its own notification).
    pub fn set_state(&self, out_trade_no: &str, state: OrderState) {
        self.channel.orders().update(out_trade_no, |o| {
            o.scanned = true;
            o.state = state;
        });
    }

    /// Puts an order in the simulator's memory as if it had been made
    /// through the API (benches fill a day's statement this way).
    pub fn insert_order(&self, order: crate::orders::Order) {
        self.channel.orders().insert(order);
    }

    /// (state, amount, refunded) of an order.
    pub fn order(&self, out_trade_no: &str) -> Option<(OrderState, i64, i64)> {
        self.channel
            .orders()
            .get(out_trade_no)
            .map(|o| (o.state, o.amount, o.refunded()))
    }

    /// Every raw request the simulator received.
    pub fn requests(&self) -> Vec<String> {
        self.channel.orders().requests()
    }

    /// The payer pays a QR / JSAPI / app / page order; the channel then
    /// notifies the merchant. Returns paycore's answer.
    pub async fn buyer_pays(&self, out_trade_no: &str) -> (u16, String) {
        buyer_pays(&self.channel, out_trade_no).await
    }

    /// Sends a notification for the order as it stands, spoiled as `tweak`
    /// says. Returns paycore's (status, body).
    pub async fn notify(&self, out_trade_no: &str, tweak: Tweak) -> (u16, String) {
        self.channel.notify(out_trade_no, tweak).await
    }
}

async fn buyer_pays<C: Channel>(channel: &C, out_trade_no: &str) -> (u16, String) {
    channel.orders().update(out_trade_no, |o| {
        o.scanned = true;
        o.state = OrderState::Paid;
    });
    channel.notify(out_trade_no, Tweak::default()).await
}

/// `POST /_sim/pay?out_trade_no=…`: the demo's payer pays (then the
/// channel notifies).
async fn demo_pay<C: Channel>(
    State(channel): State<C>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Some(no) = q.get("out_trade_no") else {
        return (StatusCode::BAD_REQUEST, "out_trade_no?").into_response();
    };
    if channel.orders().get(no).is_none() {
        return (StatusCode::NOT_FOUND, "no such order").into_response();
    }
    let (status, body) = buyer_pays(&channel, no).await;
    format!("paid; paycore answered HTTP {status}: {body}").into_response()
}
