//! The paycore channel for closed-loop cards: member stored-value cards,
//! gift cards, vouchers, punch cards and coupons, whose value the host
//! keeps in its ledger. The plugin decides whether a card may pay and how much, by its
//! programme's rules; the value moves only through the host's `ledger`
//! import (hold, capture, release, credit), never through anything the
//! plugin keeps. It speaks no provider's protocol and calls no host.

mod coupon;
mod failure;
mod find;
mod ops;
mod pay;
mod refund;
mod rules;
mod settle;

use paycore_plugin_sdk::types::{Manifest, Scene};
use paycore_plugin_sdk::{Describe, export_channel};

#[derive(Default)]
pub struct CardChannel;

impl Describe for CardChannel {
    fn manifest(&self) -> Manifest {
        Manifest::new("card", env!("CARGO_PKG_VERSION"))
            .with_description(
                "Member stored-value cards, gift cards, vouchers, punch cards and coupons on paycore's ledger",
            )
            .with_scenes(&[Scene::Barcode, Scene::Jsapi])
            .with_wallets(&["card"])
            .with_currencies(&["CNY", "HKD", "USD", "EUR", "GBP", "JPY", "SGD"])
    }
}

export_channel!(CardChannel);
