//! The state machine's tables: every command against the rows it may meet.

use super::refund::refund;
use super::*;
use crate::domain::RefundStatus;
use crate::store::RefundRecord;
use PaymentStatus::*;
use serde_json::json;

#[test]
fn final_states_stay_final() {
    for to in PaymentStatus::ALL {
        for from in [Failed, Closed] {
            let expected = if from == *to {
                Verdict::Same
            } else {
                Verdict::Refuse
            };
            assert_eq!(payment(from, *to), expected, "{from} -> {to}");
        }
    }
    assert_eq!(payment(Succeeded, Pending), Verdict::Refuse);
    assert_eq!(payment(Cancelled, Succeeded), Verdict::Refuse);
    assert_eq!(payment(Succeeded, Cancelled), Verdict::Move);
}

#[test]
fn unknown_settles_into_anything_but_is_never_reentered() {
    for to in PaymentStatus::ALL.iter().filter(|s| **s != Unknown) {
        assert_eq!(payment(Unknown, *to), Verdict::Move);
        assert_eq!(payment(*to, Unknown), Verdict::Refuse);
    }
}

#[test]
fn an_absent_order_is_final_only_after_the_payers_window() {
    for scene in [Scene::Barcode, Scene::Face] {
        assert!(
            !absent_order_is_final(scene, false, true),
            "{scene}: no cancel sent yet"
        );
        assert!(absent_order_is_final(scene, true, false), "{scene}");
    }
    for scene in [Scene::Qrcode, Scene::Jsapi, Scene::H5] {
        assert!(
            !absent_order_is_final(scene, true, false),
            "{scene}: not expired yet"
        );
        assert!(absent_order_is_final(scene, false, true), "{scene}");
    }
}

fn at(status: PaymentStatus) -> PaymentRecord {
    PaymentRecord {
        status,
        ..PaymentRecord::example()
    }
}

fn says(status: PaymentStatus) -> Proposal {
    Proposal::Answer(Answer {
        status,
        channel_order_no: Some("ch_1".into()),
        action: None,
        failure: None,
    })
}

/// A decision in a table's terms: what is written (the status moved to,
/// or `-` for history only) and the event and webhook kinds.
fn summary(d: &Decision) -> (String, Option<EventKind>, Option<EventKind>) {
    match d {
        Decision::Write {
            change,
            event,
            webhook,
        } => (
            change.status.map_or("write".into(), |s| format!("-> {s}")),
            Some(event.kind),
            *webhook,
        ),
        Decision::Record(event) => ("-".into(), event.as_ref().map(|e| e.kind), None),
    }
}

/// Every channel answer from every status: (from, answer, written, event,
/// webhook). The channel order number is news for a row without one, so a
/// `Same` answer still records it.
#[test]
fn what_a_channel_answer_does_from_each_status() {
    use EventKind::*;
    let table = [
        (
            Unknown,
            Succeeded,
            "-> succeeded",
            Some(PaymentStatusChanged),
            Some(PaymentSucceeded),
        ),
        (
            Unknown,
            Failed,
            "-> failed",
            Some(PaymentStatusChanged),
            Some(PaymentFailed),
        ),
        (
            Unknown,
            Pending,
            "-> pending",
            Some(PaymentStatusChanged),
            None,
        ),
        (
            Unknown,
            Processing,
            "-> processing",
            Some(PaymentStatusChanged),
            None,
        ),
        (
            Unknown,
            Closed,
            "-> closed",
            Some(PaymentStatusChanged),
            Some(PaymentClosed),
        ),
        (
            Unknown,
            Cancelled,
            "-> cancelled",
            Some(PaymentStatusChanged),
            Some(PaymentCancelled),
        ),
        (Unknown, Unknown, "write", Some(PaymentUpdated), None),
        (
            Pending,
            Succeeded,
            "-> succeeded",
            Some(PaymentStatusChanged),
            Some(PaymentSucceeded),
        ),
        (Pending, Pending, "write", Some(PaymentUpdated), None),
        (Pending, Unknown, "-", Some(PaymentTransitionRefused), None),
        (
            Processing,
            Pending,
            "-> pending",
            Some(PaymentStatusChanged),
            None,
        ),
        (
            Processing,
            Failed,
            "-> failed",
            Some(PaymentStatusChanged),
            Some(PaymentFailed),
        ),
        (
            Succeeded,
            Cancelled,
            "-> cancelled",
            Some(PaymentStatusChanged),
            Some(PaymentCancelled),
        ),
        (Succeeded, Failed, "-", Some(PaymentTransitionRefused), None),
        (
            Succeeded,
            Pending,
            "-",
            Some(PaymentTransitionRefused),
            None,
        ),
        (Failed, Succeeded, "-", Some(PaymentTransitionRefused), None),
        (Closed, Succeeded, "-", Some(PaymentTransitionRefused), None),
        (
            Cancelled,
            Succeeded,
            "-",
            Some(PaymentTransitionRefused),
            None,
        ),
    ];
    for (from, to, written, event, webhook) in table {
        let d = apply(&at(from), &says(to), Cause::Query);
        assert_eq!(
            summary(&d),
            (written.to_string(), event, webhook),
            "{from} + channel says {to}"
        );
    }
}

#[test]
fn an_answer_with_nothing_new_writes_nothing() {
    let mut p = at(Pending);
    p.channel_order_no = Some("ch_1".into());
    assert_eq!(
        apply(&p, &says(Pending), Cause::Query),
        Decision::Record(None)
    );
    // A QR code (an action) is news until the payment has one.
    let with_action = Proposal::Answer(Answer {
        action: Some(json!({"type": "qr_code", "qr_code": "x"})),
        ..match says(Pending) {
            Proposal::Answer(a) => a,
            _ => unreachable!(),
        }
    });
    assert!(matches!(
        apply(&p, &with_action, Cause::Pay),
        Decision::Write { .. }
    ));
    p.action = Some("{}".into());
    assert_eq!(apply(&p, &with_action, Cause::Pay), Decision::Record(None));
}

#[test]
fn a_move_writes_the_answer_and_names_its_cause() {
    let answer = Proposal::Answer(Answer {
        status: Failed,
        channel_order_no: Some("ch_9".into()),
        action: None,
        failure: Some(json!({"code": "declined"})),
    });
    let Decision::Write { change, event, .. } = apply(&at(Unknown), &answer, Cause::Callback)
    else {
        panic!("a move is written");
    };
    assert_eq!(change.status, Some(Failed));
    assert_eq!(change.channel_order_no.as_deref(), Some("ch_9"));
    assert_eq!(change.failure, Some(Some(json!({"code": "declined"}))));
    assert_eq!(event.from_status, Some("unknown"));
    assert_eq!(event.to_status, Some("failed"));
    assert_eq!(
        event.detail,
        json!({"cause": "callback", "channel_order_no": "ch_9"})
    );
}

#[test]
fn a_disbelieved_answer_moves_nothing_and_asks_a_person() {
    for from in PaymentStatus::ALL {
        let d = apply(
            &at(*from),
            &Proposal::Disbelieved {
                reason: "channel reported 1 CNY".into(),
            },
            Cause::Query,
        );
        let Decision::Write {
            change,
            event,
            webhook,
        } = d
        else {
            panic!("{from}: the reason is written");
        };
        assert_eq!(change.status, None, "{from}");
        assert_eq!(
            change.review_reason.as_deref(),
            Some("channel reported 1 CNY")
        );
        assert_eq!(event.kind, EventKind::PaymentAnswerRefused);
        assert_eq!(webhook, None);
    }
}

#[test]
fn an_unknown_outcome_is_a_note_in_the_history() {
    let d = apply(
        &at(Unknown),
        &Proposal::Unknown {
            note: "timed out".into(),
        },
        Cause::Pay,
    );
    let Decision::Record(Some(event)) = d else {
        panic!("a note");
    };
    assert_eq!(event.kind, EventKind::PaymentOutcomeUnknown);
    assert_eq!(event.detail, json!({"cause": "pay", "note": "timed out"}));
}

#[test]
fn a_reversal_is_refused_while_refunds_are_reserved() {
    let mut p = at(Succeeded);
    p.refund_reserved = 30;
    let Decision::Write { change, event, .. } = apply(&p, &says(Cancelled), Cause::Cancel) else {
        panic!("refused for review");
    };
    assert_eq!(change.status, None);
    assert!(
        change.review_reason.as_deref().unwrap().contains("30 CNY"),
        "{change:?}"
    );
    assert_eq!(event.kind, EventKind::PaymentAnswerRefused);
    // Any other answer is applied as usual.
    assert!(matches!(
        apply(&p, &says(Succeeded), Cause::Query),
        Decision::Write { .. }
    ));
}

fn assignment(channel: &str) -> ChannelAssignment {
    ChannelAssignment {
        channel_id: channel.into(),
        plugin_name: "sandbox".into(),
        plugin_version: "1.2.0".into(),
        wallet: "alipay".into(),
    }
}

#[test]
fn a_payment_starts_unknown_on_a_channel_or_pending_on_the_hosted_page() {
    let (status, event) = create(Some(&assignment("c1")));
    assert_eq!(status, Unknown);
    assert_eq!(
        (event.kind, event.from_status, event.to_status),
        (EventKind::PaymentCreated, None, Some("unknown"))
    );
    assert_eq!(
        event.detail,
        json!({"channel": "c1", "plugin": "sandbox@1.2.0"})
    );
    let (status, event) = create(None);
    assert_eq!(status, Pending);
    assert_eq!(event.to_status, Some("pending"));
    assert_eq!(event.detail, json!({"checkout": true}));
}

#[test]
fn a_wallet_is_assigned_only_to_a_pending_payment_awaiting_one() {
    let choice = WalletChoice {
        channel: assignment("c1"),
        scene: Scene::Qrcode,
    };
    let mut awaiting = at(Pending);
    awaiting.channel_id.clear();
    let decided = assign_channel(&awaiting, &choice).expect("assigned");
    assert_eq!((decided.from, decided.to), (Pending, Unknown));
    assert_eq!(decided.event.kind, EventKind::PaymentWalletChosen);
    assert_eq!(
        decided.event.detail,
        json!({"wallet": "alipay", "scene": "qrcode", "channel": "c1", "plugin": "sandbox@1.2.0"})
    );
    for status in PaymentStatus::ALL.iter().filter(|s| **s != Pending) {
        let mut p = awaiting.clone();
        p.status = *status;
        assert_eq!(assign_channel(&p, &choice), None, "{status}");
    }
    assert_eq!(
        assign_channel(&at(Pending), &choice),
        None,
        "a channel was chosen already"
    );
}

#[test]
fn tenders_are_chosen_only_for_a_pending_payment_awaiting_a_wallet() {
    let choice = WalletChoice {
        channel: assignment("c1"),
        scene: Scene::Qrcode,
    };
    let mut awaiting = at(Pending);
    awaiting.channel_id.clear();
    let decided = choose_tenders(&awaiting, Some(&choice), 3, 1350).expect("chosen");
    assert_eq!((decided.from, decided.to), (Pending, Unknown));
    assert_eq!(decided.event.kind, EventKind::PaymentTendersChosen);
    assert_eq!(
        decided.event.detail,
        json!({"tenders": 3, "channel_amount": 1350, "wallet": "alipay", "scene": "qrcode",
               "channel": "c1", "plugin": "sandbox@1.2.0"})
    );
    let closed_loop = choose_tenders(&awaiting, None, 2, 0).expect("chosen");
    assert_eq!(
        closed_loop.event.detail,
        json!({"tenders": 2, "channel_amount": 0})
    );
    for status in PaymentStatus::ALL.iter().filter(|s| **s != Pending) {
        let mut p = awaiting.clone();
        p.status = *status;
        assert_eq!(choose_tenders(&p, None, 2, 0), None, "{status}");
    }
    assert_eq!(
        choose_tenders(&at(Pending), Some(&choice), 2, 100),
        None,
        "a channel was chosen already"
    );
    let mut combined = awaiting.clone();
    combined.channel_amount = Some(0);
    assert_eq!(
        choose_tenders(&combined, None, 2, 0),
        None,
        "already a combined order"
    );
}

#[test]
fn only_an_unknown_payment_switches_channel() {
    let to = assignment("c2");
    let decided = switch_channel(&at(Unknown), &to).expect("switched");
    assert_eq!((decided.from, decided.to), (Unknown, Unknown));
    assert_eq!(
        decided.event.detail,
        json!({"from": "c", "to": "c2", "plugin": "sandbox@1.2.0"})
    );
    for status in PaymentStatus::ALL.iter().filter(|s| **s != Unknown) {
        assert_eq!(switch_channel(&at(*status), &to), None, "{status}");
    }
}

#[test]
fn a_cancel_starts_on_open_or_paid_auth_code_payments_without_refunds() {
    for status in PaymentStatus::ALL {
        let started = start_cancel(&at(*status));
        if CANCELLABLE.contains(status) {
            let event = started.expect("started");
            assert_eq!(event.kind, EventKind::PaymentCancelStarted);
            assert_eq!(event.from_status, Some(status.as_str()));
        } else {
            assert_eq!(started, Err(CancelRefused::Status(*status)));
        }
    }
    let mut refunded = at(Succeeded);
    refunded.refund_reserved = 1;
    assert_eq!(start_cancel(&refunded), Err(CancelRefused::RefundsReserved));
    let mut qr = at(Pending);
    qr.scene = Scene::Qrcode;
    assert_eq!(start_cancel(&qr), Err(CancelRefused::Scene(Scene::Qrcode)));
    let ended = cancel_ended(&at(Succeeded), "declined");
    assert_eq!(
        ended.detail,
        json!({"reversed": false, "reason": "declined"})
    );
}

#[test]
fn refunds_settle_once() {
    use RefundStatus as R;
    assert_eq!(refund(R::Pending, R::Succeeded), Verdict::Move);
    assert_eq!(refund(R::Succeeded, R::Failed), Verdict::Refuse);
    assert_eq!(refund(R::Failed, R::Succeeded), Verdict::Refuse);
    assert_eq!(refund(R::Processing, R::Pending), Verdict::Refuse);
}

fn refund_at(status: RefundStatus) -> RefundRecord {
    RefundRecord {
        id: "re_1".into(),
        tenant_id: "t".into(),
        payment_id: "pay_1".into(),
        merchant_refund_no: "R1".into(),
        request_hash: String::new(),
        amount: 40,
        currency: crate::money::Currency::parse("CNY").unwrap(),
        reason: None,
        status,
        channel_refund_no: None,
        failure: None,
        version: 0,
        created_at: String::new(),
        updated_at: String::new(),
        created_ms: 0,
        channel_amount: None,
    }
}

/// Every refund answer from every refund status: (from, answer, written,
/// event, webhook).
#[test]
fn what_a_refund_answer_does_from_each_status() {
    use EventKind::*;
    use RefundStatus as R;
    let table = [
        (
            R::Pending,
            R::Succeeded,
            "-> succeeded",
            Some(RefundStatusChanged),
            Some(RefundSucceeded),
        ),
        (
            R::Pending,
            R::Failed,
            "-> failed",
            Some(RefundStatusChanged),
            Some(RefundFailed),
        ),
        (
            R::Pending,
            R::Processing,
            "-> processing",
            Some(RefundStatusChanged),
            None,
        ),
        (R::Pending, R::Pending, "write", Some(RefundUpdated), None),
        (
            R::Processing,
            R::Succeeded,
            "-> succeeded",
            Some(RefundStatusChanged),
            Some(RefundSucceeded),
        ),
        (
            R::Processing,
            R::Pending,
            "-",
            Some(RefundTransitionRefused),
            None,
        ),
        (
            R::Succeeded,
            R::Failed,
            "-",
            Some(RefundTransitionRefused),
            None,
        ),
        (
            R::Failed,
            R::Succeeded,
            "-",
            Some(RefundTransitionRefused),
            None,
        ),
    ];
    for (from, to, written, event, webhook) in table {
        let answer = RefundAnswer {
            status: to,
            channel_refund_no: Some("cr_1".into()),
            failure: None,
        };
        let got = match apply_refund(&refund_at(from), &answer, Cause::Refund) {
            RefundDecision::Write {
                change,
                event,
                webhook,
            } => (
                change.status.map_or("write".into(), |s| format!("-> {s}")),
                Some(event.kind),
                webhook,
            ),
            RefundDecision::Record(event) => ("-".to_string(), event.map(|e| e.kind), None),
        };
        assert_eq!(got, (written.to_string(), event, webhook), "{from} + {to}");
    }
    // Nothing new: the same status and refund number.
    let mut known = refund_at(R::Processing);
    known.channel_refund_no = Some("cr_1".into());
    let same = RefundAnswer {
        status: R::Processing,
        channel_refund_no: Some("cr_1".into()),
        failure: None,
    };
    assert_eq!(
        apply_refund(&known, &same, Cause::QueryRefund),
        RefundDecision::Record(None)
    );
    let (status, event) = refund_created("pay_1", 40);
    assert_eq!(status, R::Pending);
    assert_eq!(event.detail, json!({"payment_id": "pay_1", "amount": 40}));
}
