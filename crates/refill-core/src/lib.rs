//! Refill's domain model, free of I/O.
//!
//! Everything here is plain data and rules: the catalog (products, device models and their slots),
//! money and units, orders and their lifecycle, forecasts of each slot's use ([`forecast`]) and
//! when to reorder ([`replenish`]), and the [`Clock`] that every time-dependent rule
//! takes as an argument instead of reading the system time itself. The service stores these
//! types, the wire crate turns them into JSON, and tests drive them with a [`ManualClock`].

pub mod catalog;
pub mod clock;
pub mod forecast;
pub mod html;
pub mod inventory;
pub mod money;
pub mod order;
pub mod pkce;
pub mod replenish;
pub mod secret;
pub mod unit;

pub use catalog::{Asin, DeviceModel, Product, SlotSpec};
pub use clock::{Clock, FastClock, ManualClock, SharedClock, SystemClock};
pub use money::{Currency, Money};
pub use order::{Handover, OrderPolicy, OrderStatus};
pub use secret::Sensitive;
pub use unit::{Quantity, Unit};
