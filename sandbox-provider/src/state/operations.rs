//! What merchants and payers ask of the provider: pay, query, close,
//! cancel, refund and refund query, and the payer page's view and approval;
//! each applies the rules in `state` to the books in `records`.

use super::*;

impl Store {
    pub(crate) fn pay(
        &mut self,
        req: PayRequest<'_>,
        now: Instant,
        wall: OffsetDateTime,
    ) -> Result<PayOutcome, ApiError> {
        if self.is_burned(req.merchant, req.out_trade_no) {
            return Err(ApiError::OrderClosed(format!(
                "order {} was cancelled; use a new out_trade_no",
                req.out_trade_no
            )));
        }
        // Idempotency on out_trade_no: the same request again gets the same
        // order; the same number for something else is refused.
        if self.trade_no_for(req.merchant, req.out_trade_no).is_some() {
            let order = self.order_mut(req.merchant, req.out_trade_no, now)?;
            if order.status.is_dead() {
                return Err(ApiError::OrderClosed(format!(
                    "order {} is {}; use a new out_trade_no",
                    order.out_trade_no,
                    order.status.as_str()
                )));
            }
            if order.amount != req.amount || order.currency != req.currency {
                return Err(ApiError::Duplicate(format!(
                    "out_trade_no {} was already used for {} {}",
                    order.out_trade_no,
                    order.currency.format(order.amount),
                    order.currency.code
                )));
            }
            return Ok(PayOutcome::Order(order.clone()));
        }

        let trade_no = self.next_number("sbx", wall);
        let mut order = Order {
            merchant: req.merchant.to_string(),
            trade_no,
            out_trade_no: req.out_trade_no.to_string(),
            amount: req.amount,
            currency: req.currency,
            scene: req.scene,
            subject: req.subject.to_string(),
            notify_url: req.notify_url.map(str::to_string),
            status: OrderStatus::Pending,
            paid_at: None,
            refunded: 0,
            settles_at: None,
            expires_at: req.expires_in.and_then(|d| now.checked_add(d)),
            reversal: None,
        };
        let outcome = match req.auth_code.and_then(|c| c.bytes().last()) {
            // Not a payer-presented scene: wait for the payer page.
            None => {
                order.status = OrderStatus::Pending;
                Outcome::Plain
            }
            Some(b'1') => {
                order.status = OrderStatus::Failed;
                Outcome::Declined
            }
            Some(b'2') => {
                order.status = OrderStatus::Processing;
                // A delay past the end of time never settles; it must not
                // panic the request (the runtime bounds the delay too).
                let delay = self.processing_delay;
                order.settles_at = now.checked_add(delay).zip(
                    time::Duration::try_from(delay)
                        .ok()
                        .and_then(|d| wall.checked_add(d)),
                );
                Outcome::Plain
            }
            Some(b'3') => {
                // The money is taken, the answer is lost: the case a plugin
                // must resolve by querying.
                order.status = OrderStatus::Succeeded;
                order.paid_at = Some(wall);
                Outcome::Timeout
            }
            Some(_) => {
                order.status = OrderStatus::Succeeded;
                order.paid_at = Some(wall);
                Outcome::Plain
            }
        };
        let shown = order.clone();
        self.insert_order(order);
        self.record_order(&shown);
        Ok(match outcome {
            Outcome::Plain => PayOutcome::Order(shown),
            Outcome::Declined => PayOutcome::Declined(shown),
            Outcome::Timeout => PayOutcome::Timeout,
        })
    }

    /// By `trade_no` (checked against `out_trade_no` if both are given) or by
    /// `out_trade_no`. Another merchant's order is "not found".
    pub(crate) fn query(
        &mut self,
        merchant: &str,
        trade_no: Option<&str>,
        out_trade_no: Option<&str>,
        now: Instant,
    ) -> Result<Order, ApiError> {
        let order = match (trade_no, out_trade_no) {
            (Some(t), out) => {
                let o = self.orders.get_mut(t).ok_or(ApiError::OrderNotFound)?;
                if o.merchant != merchant || out.is_some_and(|out| out != o.out_trade_no) {
                    return Err(ApiError::OrderNotFound);
                }
                o.refresh(now);
                o
            }
            (None, Some(out)) => self.order_mut(merchant, out, now)?,
            (None, None) => {
                return Err(ApiError::invalid(
                    "one of the fields `out_trade_no` or `trade_no` is required",
                ));
            }
        };
        Ok(order.clone())
    }

    /// Closes an unpaid order. Closing again is harmless; a paid order cannot
    /// be closed (that is what refunds and `cancel` are for).
    pub(crate) fn close(
        &mut self,
        merchant: &str,
        out_trade_no: &str,
        now: Instant,
    ) -> Result<Order, ApiError> {
        let order = self.order_mut(merchant, out_trade_no, now)?;
        match order.status {
            OrderStatus::Pending
            | OrderStatus::Processing
            | OrderStatus::Failed
            | OrderStatus::Closed => {
                order.status = OrderStatus::Closed;
                order.settles_at = None;
                let closed = order.clone();
                self.record_order(&closed);
                Ok(closed)
            }
            OrderStatus::Succeeded => Err(ApiError::OrderPaid(format!(
                "order {} is paid; refund or cancel it instead",
                order.out_trade_no
            ))),
            OrderStatus::Cancelled => Err(ApiError::OrderClosed(format!(
                "order {} is already cancelled",
                order.out_trade_no
            ))),
        }
    }

    /// Reverses an order whatever its state: an unpaid one simply ends, a paid
    /// one is refunded in full (what remains after earlier refunds) at `wall`.
    pub(crate) fn cancel(
        &mut self,
        merchant: &str,
        out_trade_no: &str,
        now: Instant,
        wall: OffsetDateTime,
    ) -> Result<Order, ApiError> {
        if self.trade_no_for(merchant, out_trade_no).is_none() {
            // Nothing to reverse, but the number is spent: a pay request
            // for it that arrives late must not take the payer's money.
            self.burn(merchant.to_string(), out_trade_no.to_string());
            self.record(Entry::Burned {
                merchant: merchant.to_string(),
                out_trade_no: out_trade_no.to_string(),
            });
            return Err(ApiError::OrderNotFound);
        }
        let order = self.order_mut(merchant, out_trade_no, now)?;
        if order.status == OrderStatus::Succeeded {
            order.reversal = Some(Reversal {
                at: wall,
                amount: order.amount - order.refunded,
            });
            order.refunded = order.amount;
        }
        order.status = OrderStatus::Cancelled;
        order.settles_at = None;
        let cancelled = order.clone();
        self.record_order(&cancelled);
        Ok(cancelled)
    }

    pub(crate) fn refund(
        &mut self,
        req: RefundRequest<'_>,
        now: Instant,
        wall: OffsetDateTime,
    ) -> Result<Refund, ApiError> {
        if let Some(existing) = self
            .refunds
            .get(&(req.merchant.to_string(), req.out_refund_no.to_string()))
        {
            // Amount strings are canonical, so comparing the strings compares amounts.
            if existing.out_trade_no != req.out_trade_no
                || existing.currency.format(existing.amount) != req.amount
            {
                return Err(ApiError::Duplicate(format!(
                    "out_refund_no {} was already used for {} {} on order {}",
                    existing.out_refund_no,
                    existing.currency.format(existing.amount),
                    existing.currency.code,
                    existing.out_trade_no
                )));
            }
            return Ok(existing.clone());
        }

        let order = self.order_mut(req.merchant, req.out_trade_no, now)?;
        let amount = order
            .currency
            .parse(req.amount)
            .map_err(|m| ApiError::invalid(format!("field `amount`: {m}")))?;
        if order.status != OrderStatus::Succeeded && order.refunded == 0 {
            return Err(ApiError::RefundExceeds(format!(
                "order {} is {}: nothing was paid, nothing can be refunded",
                order.out_trade_no,
                order.status.as_str()
            )));
        }
        let remaining = order.amount - order.refunded;
        if amount > remaining {
            return Err(ApiError::RefundExceeds(format!(
                "refund of {} {} exceeds the {} that remains refundable",
                order.currency.format(amount),
                order.currency.code,
                order.currency.format(remaining)
            )));
        }
        let status = if req.reason == FAIL_REFUND_REASON {
            RefundStatus::Failed
        } else {
            order.refunded += amount;
            RefundStatus::Succeeded
        };
        let currency = order.currency;
        let refunded_order = order.clone();
        let refund = Refund {
            refund_no: self.next_number("sbr", wall),
            out_refund_no: req.out_refund_no.to_string(),
            out_trade_no: req.out_trade_no.to_string(),
            trade_no: refunded_order.trade_no.clone(),
            amount,
            currency,
            status,
            completed_at: wall,
        };
        self.insert_refund(req.merchant, refund.clone());
        self.record_order(&refunded_order);
        self.record_refund(req.merchant, &refund);
        Ok(refund)
    }

    pub(crate) fn refund_query(
        &self,
        merchant: &str,
        out_refund_no: &str,
    ) -> Result<Refund, ApiError> {
        self.refunds
            .get(&(merchant.to_string(), out_refund_no.to_string()))
            .cloned()
            .ok_or(ApiError::RefundNotFound)
    }

    /// What the payer page shows; the page is not per-merchant, the trade_no
    /// in the URL is the capability.
    pub(crate) fn payer_view(&mut self, trade_no: &str, now: Instant) -> Option<Order> {
        let order = self.orders.get_mut(trade_no)?;
        order.refresh(now);
        Some(order.clone())
    }

    /// The payer approves a `PENDING` order: it is paid now.
    pub(crate) fn approve(
        &mut self,
        trade_no: &str,
        now: Instant,
        wall: OffsetDateTime,
    ) -> Result<Order, ApproveError> {
        let order = self
            .orders
            .get_mut(trade_no)
            .ok_or(ApproveError::NotFound)?;
        if order.status == OrderStatus::Pending && order.is_expired(now) {
            order.status = OrderStatus::Closed;
            return Err(ApproveError::Expired);
        }
        order.refresh(now);
        if order.status != OrderStatus::Pending {
            return Err(ApproveError::NotPending(order.status));
        }
        order.status = OrderStatus::Succeeded;
        order.paid_at = Some(wall);
        let paid = order.clone();
        self.record_order(&paid);
        Ok(paid)
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> (usize, usize) {
        (self.orders.len(), self.refunds.len())
    }
}
