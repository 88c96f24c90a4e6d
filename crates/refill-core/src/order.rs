//! Orders and the rules of their lifecycle.
//!
//! An order is `placed`, may be cancelled while its cancellation window is open, then is
//! `shipped` and `delivered`. While an order is open (placed or shipped) no second order for the
//! same item is placed: DRS answers `ORDER_INPROGRESS` with the open order instead.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

/// Where an order is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrderStatus {
    /// Accepted; can still be cancelled within the window.
    Placed,
    /// On its way; no longer cancellable.
    Shipped,
    /// Arrived.
    Delivered,
    /// Cancelled by the customer.
    Cancelled,
}

impl OrderStatus {
    /// The stable text form stored in the database.
    pub fn as_str(&self) -> &'static str {
        match self {
            OrderStatus::Placed => "placed",
            OrderStatus::Shipped => "shipped",
            OrderStatus::Delivered => "delivered",
            OrderStatus::Cancelled => "cancelled",
        }
    }

    /// Parses the text form.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "placed" => Some(OrderStatus::Placed),
            "shipped" => Some(OrderStatus::Shipped),
            "delivered" => Some(OrderStatus::Delivered),
            "cancelled" => Some(OrderStatus::Cancelled),
            _ => None,
        }
    }

    /// Whether the order is still under way, which blocks a second order for the same item.
    pub fn is_open(&self) -> bool {
        matches!(self, OrderStatus::Placed | OrderStatus::Shipped)
    }
}

/// Where an order goes once it can no longer be cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Handover {
    /// The service fulfils it itself (the sandbox: shipped, then delivered when due).
    #[default]
    Service,
    /// The customer buys it themselves and says so in the app ("Bought it", "It arrived").
    Manual,
    /// POSTed, signed, to the customer's own automation, which may call back.
    Webhook,
    /// Mailed to the customer's shopping address.
    Email,
}

impl Handover {
    /// Its name in the database, the configuration and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Handover::Service => "service",
            Handover::Manual => "manual",
            Handover::Webhook => "webhook",
            Handover::Email => "email",
        }
    }

    /// The method named `s` (`service` is no customer's choice, only a service's default).
    pub fn parse(s: &str) -> Option<Self> {
        [
            Handover::Service,
            Handover::Manual,
            Handover::Webhook,
            Handover::Email,
        ]
        .into_iter()
        .find(|h| h.as_str() == s)
    }
}

/// The rules for orders: their timing, and where they go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderPolicy {
    /// How long after placing an order the customer can still cancel it (DRS: 24 hours).
    pub cancel_window: Duration,
    /// How long delivery takes after an order is placed.
    pub delivery_time: Duration,
    /// How long an order that asks the customer first waits for their answer before it expires
    /// unanswered (nothing ordered).
    pub approval_lifetime: Duration,
    /// Where a customer's orders go unless they chose otherwise.
    pub handover: Handover,
}

impl Default for OrderPolicy {
    fn default() -> Self {
        Self {
            cancel_window: Duration::hours(24),
            delivery_time: Duration::days(2),
            approval_lifetime: Duration::hours(24),
            handover: Handover::Service,
        }
    }
}

impl OrderPolicy {
    /// When an order placed at `placed_at` is expected to arrive.
    pub fn expected_delivery(&self, placed_at: OffsetDateTime) -> OffsetDateTime {
        placed_at + self.delivery_time
    }

    /// Until when an order placed at `placed_at` can be cancelled.
    pub fn cancellable_until(&self, placed_at: OffsetDateTime) -> OffsetDateTime {
        placed_at + self.cancel_window
    }

    /// Whether an order in `status`, placed at `placed_at`, can be cancelled at `now`.
    pub fn can_cancel(
        &self,
        status: OrderStatus,
        placed_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> bool {
        status == OrderStatus::Placed && now < self.cancellable_until(placed_at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn only_placed_orders_inside_the_window_can_be_cancelled() {
        let policy = OrderPolicy::default();
        let placed = datetime!(2026-03-01 10:00 UTC);
        assert!(policy.can_cancel(OrderStatus::Placed, placed, placed));
        assert!(policy.can_cancel(
            OrderStatus::Placed,
            placed,
            placed + Duration::hours(23) + Duration::minutes(59)
        ));
        assert!(!policy.can_cancel(OrderStatus::Placed, placed, placed + Duration::hours(24)));
        assert!(!policy.can_cancel(OrderStatus::Shipped, placed, placed));
        assert!(!policy.can_cancel(OrderStatus::Cancelled, placed, placed));
    }

    #[test]
    fn open_statuses_block_a_second_order() {
        assert!(OrderStatus::Placed.is_open());
        assert!(OrderStatus::Shipped.is_open());
        assert!(!OrderStatus::Delivered.is_open());
        assert!(!OrderStatus::Cancelled.is_open());
        for s in ["placed", "shipped", "delivered", "cancelled"] {
            assert_eq!(OrderStatus::parse(s).unwrap().as_str(), s);
        }
    }

    #[test]
    fn delivery_is_estimated_from_the_policy() {
        let policy = OrderPolicy::default();
        assert_eq!(
            policy.expected_delivery(datetime!(2026-03-01 10:00 UTC)),
            datetime!(2026-03-03 10:00 UTC)
        );
    }
}
