//! The payment domain's vocabulary, shared by every module: scenes, statuses
//! and identifiers. No I/O here.

use std::fmt;

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
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

        $crate::domain::sqlx_text!($name);
    };
}
pub(crate) use string_enum;

/// Stores a string enum as its text in either database, so rows read back
/// typed: a value no variant names is a decode error, never a default.
#[cfg(feature = "sqlx")]
macro_rules! sqlx_text {
    ($name:ident) => {
        impl<DB: sqlx::Database> sqlx::Type<DB> for $name
        where
            str: sqlx::Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <str as sqlx::Type<DB>>::type_info()
            }
            fn compatible(ty: &DB::TypeInfo) -> bool {
                <str as sqlx::Type<DB>>::compatible(ty)
            }
        }

        impl<'r, DB: sqlx::Database> sqlx::Decode<'r, DB> for $name
        where
            &'r str: sqlx::Decode<'r, DB>,
        {
            fn decode(
                value: <DB as sqlx::Database>::ValueRef<'r>,
            ) -> Result<Self, sqlx::error::BoxDynError> {
                let text = <&'r str as sqlx::Decode<'r, DB>>::decode(value)?;
                Ok(text.parse::<$name>()?)
            }
        }

        impl<'q, DB: sqlx::Database> sqlx::Encode<'q, DB> for $name
        where
            &'static str: sqlx::Encode<'q, DB>,
        {
            fn encode_by_ref(
                &self,
                buf: &mut <DB as sqlx::Database>::ArgumentBuffer,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <&'static str as sqlx::Encode<'q, DB>>::encode(self.as_str(), buf)
            }
        }
    };
}

#[cfg(not(feature = "sqlx"))]
macro_rules! sqlx_text {
    ($name:ident) => {};
}

pub(crate) use sqlx_text;

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

string_enum!(
    /// What a tenant's card programme issues (`[[card_programs]] kind`):
    /// closed-loop value a ledger keeps in the host.
    ProgramKind {
        /// A member's stored-value card, topped up by its holder.
        StoredValue => "stored_value",
        /// A gift card: value bought for someone else.
        Gift => "gift",
        /// An e-cash voucher, used once, in full.
        Voucher => "voucher",
        /// A punch card: a number of uses of a service, not money.
        Punch => "punch",
        /// A promotional discount, never sold.
        Coupon => "coupon",
    }
);

/// What an event in a payment's or refund's history records; the names are
/// those stored in `events.kind` and, for the final ones, the webhooks'
/// `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// The payment was stored (as `unknown`, or `pending` awaiting a wallet).
    PaymentCreated,
    /// A channel was called; its outcome.
    PaymentAttempt,
    /// Moved to the next candidate channel after one certainly took no money.
    PaymentChannelSwitched,
    /// The payer chose a wallet on the hosted page.
    PaymentWalletChosen,
    /// The payer applied coupons or cards on the hosted page, with a
    /// wallet for the rest or none: the payment became a combined order.
    PaymentTendersChosen,
    /// A legal move of the state machine.
    PaymentStatusChanged,
    /// New facts (channel order number, action) without a status change.
    PaymentUpdated,
    /// A channel reported a move the state machine forbids.
    PaymentTransitionRefused,
    /// A channel's answer disagreed with the payment (amount, currency).
    PaymentAnswerRefused,
    /// Nobody knows whether money moved; the sweeper asks again.
    PaymentOutcomeUnknown,
    /// A reversal was started; refunds wait for it.
    PaymentCancelStarted,
    /// A reversal certainly did not happen; refunds may proceed.
    PaymentCancelEnded,
    /// Webhook: the payment succeeded.
    PaymentSucceeded,
    /// Webhook: the payment failed.
    PaymentFailed,
    /// Webhook: the unpaid payment was closed.
    PaymentClosed,
    /// Webhook: the payment was reversed.
    PaymentCancelled,
    /// The refund was stored with its amount reserved.
    RefundCreated,
    /// A legal move of the refund's state machine.
    RefundStatusChanged,
    /// New facts without a status change.
    RefundUpdated,
    /// A channel reported a move the state machine forbids.
    RefundTransitionRefused,
    /// Webhook: the refund succeeded.
    RefundSucceeded,
    /// Webhook: the refund failed.
    RefundFailed,
    /// Webhook: reconciliation found a difference between a channel's
    /// statement and paycore (docs/reconciliation.md).
    ReconciliationDiscrepancy,
}

impl EventKind {
    pub const ALL: &'static [EventKind] = &[
        EventKind::PaymentCreated,
        EventKind::PaymentAttempt,
        EventKind::PaymentChannelSwitched,
        EventKind::PaymentWalletChosen,
        EventKind::PaymentTendersChosen,
        EventKind::PaymentStatusChanged,
        EventKind::PaymentUpdated,
        EventKind::PaymentTransitionRefused,
        EventKind::PaymentAnswerRefused,
        EventKind::PaymentOutcomeUnknown,
        EventKind::PaymentCancelStarted,
        EventKind::PaymentCancelEnded,
        EventKind::PaymentSucceeded,
        EventKind::PaymentFailed,
        EventKind::PaymentClosed,
        EventKind::PaymentCancelled,
        EventKind::RefundCreated,
        EventKind::RefundStatusChanged,
        EventKind::RefundUpdated,
        EventKind::RefundTransitionRefused,
        EventKind::RefundSucceeded,
        EventKind::RefundFailed,
        EventKind::ReconciliationDiscrepancy,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::PaymentCreated => "payment.created",
            EventKind::PaymentAttempt => "payment.attempt",
            EventKind::PaymentChannelSwitched => "payment.channel_switched",
            EventKind::PaymentWalletChosen => "payment.wallet_chosen",
            EventKind::PaymentTendersChosen => "payment.tenders_chosen",
            EventKind::PaymentStatusChanged => "payment.status_changed",
            EventKind::PaymentUpdated => "payment.updated",
            EventKind::PaymentTransitionRefused => "payment.transition_refused",
            EventKind::PaymentAnswerRefused => "payment.answer_refused",
            EventKind::PaymentOutcomeUnknown => "payment.outcome_unknown",
            EventKind::PaymentCancelStarted => "payment.cancel_started",
            EventKind::PaymentCancelEnded => "payment.cancel_ended",
            EventKind::PaymentSucceeded => "payment.succeeded",
            EventKind::PaymentFailed => "payment.failed",
            EventKind::PaymentClosed => "payment.closed",
            EventKind::PaymentCancelled => "payment.cancelled",
            EventKind::RefundCreated => "refund.created",
            EventKind::RefundStatusChanged => "refund.status_changed",
            EventKind::RefundUpdated => "refund.updated",
            EventKind::RefundTransitionRefused => "refund.transition_refused",
            EventKind::RefundSucceeded => "refund.succeeded",
            EventKind::RefundFailed => "refund.failed",
            EventKind::ReconciliationDiscrepancy => "reconciliation.discrepancy",
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What every newtype over text answers: read as `str` wherever text is
/// wanted (logs, labels, URLs), shown as its text, compared with text. A
/// function that wants the type says so, and text is not accepted there.
macro_rules! text_newtype {
    ($name:ident) => {
        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }
    };
}

pub(crate) use text_newtype;

macro_rules! string_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl From<String> for $name {
            fn from(id: String) -> Self {
                $name(id)
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                $name(id.to_string())
            }
        }

        $crate::domain::text_newtype!($name);
        // Any text is an id (unknown ones are simply not found).
        $crate::domain::sqlx_text_newtype!($name, |text| Ok($name(text)));
    };
}
pub(crate) use string_id;

string_id!(
    /// A tenant's id, as its config names it.
    TenantId
);
string_id!(
    /// A payment's id (`pay_…`).
    PaymentId
);
string_id!(
    /// A refund's id (`re_…`).
    RefundId
);
string_id!(
    /// A card programme's id, as its tenant's config names it; unique
    /// within that tenant.
    CardProgramId
);

impl PaymentId {
    pub fn generate() -> Self {
        PaymentId(new_id("pay"))
    }
}

impl RefundId {
    pub fn generate() -> Self {
        RefundId(new_id("re"))
    }
}

/// Stores a newtype over text as its text in either database; `$from_text`
/// makes it from the stored text (and may refuse it: a decode error).
#[cfg(feature = "sqlx")]
macro_rules! sqlx_text_newtype {
    ($name:ident, $from_text:expr) => {
        impl<DB: sqlx::Database> sqlx::Type<DB> for $name
        where
            String: sqlx::Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <String as sqlx::Type<DB>>::type_info()
            }
            fn compatible(ty: &DB::TypeInfo) -> bool {
                <String as sqlx::Type<DB>>::compatible(ty)
            }
        }

        impl<'r, DB: sqlx::Database> sqlx::Decode<'r, DB> for $name
        where
            String: sqlx::Decode<'r, DB>,
        {
            fn decode(
                value: <DB as sqlx::Database>::ValueRef<'r>,
            ) -> Result<Self, sqlx::error::BoxDynError> {
                let from_text: fn(String) -> Result<$name, sqlx::error::BoxDynError> = $from_text;
                from_text(<String as sqlx::Decode<'r, DB>>::decode(value)?)
            }
        }

        impl<'q, DB: sqlx::Database> sqlx::Encode<'q, DB> for $name
        where
            String: sqlx::Encode<'q, DB>,
        {
            fn encode_by_ref(
                &self,
                buf: &mut <DB as sqlx::Database>::ArgumentBuffer,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <String as sqlx::Encode<'q, DB>>::encode_by_ref(&self.0, buf)
            }
        }
    };
}

#[cfg(not(feature = "sqlx"))]
macro_rules! sqlx_text_newtype {
    ($name:ident, $from_text:expr) => {};
}

pub(crate) use sqlx_text_newtype;

/// A fresh, unguessable id with a type prefix (`pay_`, `re_`, `evt_`).
pub fn new_id(prefix: &str) -> String {
    use rand::Rng;
    let bytes: [u8; 12] = rand::rng().random();
    format!("{prefix}_{}", hex::encode(bytes))
}

/// Now on the system clock as RFC 3339 UTC with second precision, the
/// API's timestamp format. Business time (what a payment's behaviour
/// depends on) comes from a `clock::Clock` instead.
pub fn now_rfc3339() -> String {
    crate::clock::Clock::system().now_rfc3339()
}

/// Now on the system clock in milliseconds since the Unix epoch; business
/// time comes from a `clock::Clock` instead.
pub fn now_millis() -> i64 {
    crate::clock::Clock::system().now_millis()
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
        for k in ProgramKind::ALL {
            assert_eq!(k.as_str().parse::<ProgramKind>(), Ok(*k));
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

    #[test]
    fn event_kinds_are_distinct_dotted_names() {
        let names: std::collections::HashSet<&str> =
            EventKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(names.len(), EventKind::ALL.len());
        for name in names {
            let (subject, what) = name.split_once('.').expect("subject.what");
            assert!(
                matches!(subject, "payment" | "refund" | "reconciliation"),
                "{name}"
            );
            assert!(
                what.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{name}"
            );
        }
    }
}
