//! The payment domain's vocabulary, shared by every module: scenes, statuses
//! and identifiers. No I/O here.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(format!(
                        "`{s}` is not one of: {}",
                        [$($text),+].join(", ")
                    )),
                }
            }
        }
    };
}

string_enum!(
    /// How the payer pays.
    Scene {
        Barcode => "barcode",
        Qrcode => "qrcode",
        Jsapi => "jsapi",
        App => "app",
        H5 => "h5",
        Web => "web",
        Face => "face",
        // paycore's own hosted page: the payer chooses the wallet there, and
        // the channel is asked under the scene that fits (docs/checkout.md).
        Checkout => "checkout",
    }
);

impl Scene {
    /// Scenes where the merchant scans a code the payer shows.
    pub fn takes_auth_code(self) -> bool {
        matches!(self, Scene::Barcode | Scene::Face)
    }

    /// Scenes a channel can be asked for; `checkout` is paycore's own.
    pub fn is_channel_scene(self) -> bool {
        self != Scene::Checkout
    }
}

string_enum!(
    /// Where a payment stands. `Unknown` means money may have moved and a
    /// query must settle it; it is never silently turned into `Failed`.
    PaymentStatus {
        Pending => "pending",
        Processing => "processing",
        Unknown => "unknown",
        Succeeded => "succeeded",
        Failed => "failed",
        Closed => "closed",
        Cancelled => "cancelled",
    }
);

impl PaymentStatus {
    /// No further change is expected (refunds live on their own objects).
    pub fn is_final(self) -> bool {
        matches!(
            self,
            PaymentStatus::Succeeded
                | PaymentStatus::Failed
                | PaymentStatus::Closed
                | PaymentStatus::Cancelled
        )
    }

    /// The sweeper and `sync` ask the channel about these.
    pub fn needs_query(self) -> bool {
        matches!(
            self,
            PaymentStatus::Pending | PaymentStatus::Processing | PaymentStatus::Unknown
        )
    }
}

string_enum!(
    RefundStatus {
        Pending => "pending",
        Processing => "processing",
        Succeeded => "succeeded",
        Failed => "failed",
    }
);

impl RefundStatus {
    pub fn is_final(self) -> bool {
        matches!(self, RefundStatus::Succeeded | RefundStatus::Failed)
    }
}

/// A fresh, unguessable id with a type prefix (`pay_`, `re_`, `evt_`).
pub fn new_id(prefix: &str) -> String {
    use rand::Rng;
    let bytes: [u8; 12] = rand::rng().random();
    format!("{prefix}_{}", hex::encode(bytes))
}

/// Now as RFC 3339 UTC with second precision, the API's timestamp format.
pub fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .expect("zero nanoseconds is valid");
    now.format(&time::format_description::well_known::Rfc3339)
        .expect("UTC timestamps always format")
}

pub fn now_millis() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_round_trip_through_text() {
        for s in Scene::ALL {
            assert_eq!(s.as_str().parse::<Scene>(), Ok(*s));
        }
        for s in PaymentStatus::ALL {
            assert_eq!(s.as_str().parse::<PaymentStatus>(), Ok(*s));
        }
        let err = "teleport".parse::<Scene>().unwrap_err();
        assert!(err.contains("barcode"), "{err}");
    }

    #[test]
    fn ids_are_prefixed_and_distinct() {
        let a = new_id("pay");
        assert!(a.starts_with("pay_") && a.len() == 28);
        assert_ne!(a, new_id("pay"));
    }
}
