//! When to reorder, and how much: the inventory position against a reorder point that covers
//! the delivery lead time at a service level.
//!
//! * **Inventory position** = what is left in the device + packs at home + ordered and not yet
//!   delivered ([`Position`]).
//! * **Reorder point** R = rate · (L + r) + z · σ_total, with L the lead time, r the review
//!   interval (how often the slot reports), z the service level's normal quantile, and
//!   σ_total² = (L + r) · σ_day² + rate² · σ_L² (use and lead time both vary); or, where
//!   more, the history's own heaviest use over L + σ_L + r days ([`Policy::with_peak`]): use
//!   in lumps as big as a pack is not normal, and its margin is read from what it did.
//! * **Order-up-to** S = R + rate · T (T the review period, or the customer's own target
//!   instead of S): whole packs, ceil((S − IP) / pack), at least one.
//!
//! Notify mode asks the same question ("would the position not cover the lead time?") to say
//! "low". [`LeadTime`] learns an item's lead time from its deliveries.

use crate::forecast::{DailyUse, Forecast};

/// What a slot has, in its unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Position {
    /// Left in the device.
    pub remaining: f64,
    /// Packs at home, in the slot's unit.
    pub on_hand: f64,
    /// Ordered and not yet delivered, in the slot's unit.
    pub in_transit: f64,
}

impl Position {
    /// Device + home + on the way.
    pub fn total(&self) -> f64 {
        self.remaining.max(0.0) + self.on_hand.max(0.0) + self.in_transit.max(0.0)
    }
}

/// The default service level: the slot stays stocked through 98 % of lead times.
pub const SERVICE_LEVEL: f64 = 0.98;

/// How a slot is replenished.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Policy {
    /// The lead time, in days, and its standard deviation.
    pub lead_time: LeadTime,
    /// Days between the slot's reports (how late a need can be seen).
    pub review_days: f64,
    /// Days of use an order brings the position up to, beyond the reorder point.
    pub cover_days: f64,
    /// The share of lead times the slot must not run out in (0.5 to 0.999).
    pub service_level: f64,
}

impl Policy {
    /// The default policy for an item delivered in `lead_time`: reviewed daily, orders cover
    /// two weeks beyond the reorder point, 98 % service.
    pub fn new(lead_time: LeadTime) -> Self {
        Policy {
            lead_time,
            review_days: 1.0,
            cover_days: 14.0,
            service_level: SERVICE_LEVEL,
        }
    }

    /// The reorder point R for `forecast` (see the module's documentation): the normal margin,
    /// or the forecast's [`Peak`] where that is more (moved to this policy's window at the
    /// forecast's rate, should the lead time have changed since).
    pub fn reorder_point(&self, forecast: &Forecast) -> f64 {
        let days = self.lead_time.mean_days.max(0.0) + self.review_days.max(0.0);
        let variance = days * forecast.sigma.powi(2)
            + forecast.rate.powi(2) * self.lead_time.sd_days.max(0.0).powi(2);
        let z = normal_quantile(self.service_level.clamp(0.5, 0.999));
        let normal = forecast.rate * days + z * variance.sqrt();
        match forecast.peak {
            Some(peak) if peak.amount.is_finite() => {
                normal.max(peak.amount + forecast.rate * (self.peak_days() as f64 - peak.days))
            }
            _ => normal,
        }
    }

    /// The days a reorder must cover when use is heavy and the delivery late: the lead time,
    /// one standard deviation of it more, and the review interval, in whole days.
    pub fn peak_days(&self) -> usize {
        let days = self.lead_time.mean_days.max(0.0)
            + self.lead_time.sd_days.max(0.0)
            + self.review_days.max(0.0);
        days.ceil().clamp(1.0, 60.0) as usize
    }

    /// `forecast` with its [`Peak`] read from `use_` (the daily use it was fitted to) over
    /// [`Policy::peak_days`], at half the service level's risk: a few months of history hold
    /// only a handful of runs as heavy as the service level's, and the run in which the
    /// position crosses the reorder point is a heavier one than most (it holds the day that
    /// crossed it).
    pub fn with_peak(&self, forecast: Forecast, use_: &DailyUse) -> Forecast {
        let risk = 1.0 - self.service_level.clamp(0.5, 0.999);
        Forecast {
            peak: use_.peak(self.peak_days(), 1.0 - risk / 2.0),
            ..forecast
        }
    }
}

/// What to do about a slot.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Decision {
    /// The position covers the lead time.
    Enough,
    /// Order this many packs.
    Order(u32),
}

/// Whether to order for a slot at `position`, used as `forecast` says, in packs of `pack`, and
/// how many: when the position is at or below the reorder point, whole packs up to the
/// order-up-to level (or the customer's `target`, counted the same way: device + home + on the
/// way).
///
/// The customer's `minimum`, where set, replaces the reorder point and is a level of the
/// device, as the customer sees it: the slot is low at or below it, unless more is already on
/// its way.
pub fn decide(
    policy: &Policy,
    forecast: &Forecast,
    position: Position,
    pack: f64,
    (minimum, target): (Option<f64>, Option<f64>),
) -> Decision {
    let reorder_point = policy.reorder_point(forecast);
    let ip = position.total();
    let low = match minimum {
        Some(minimum) => {
            let spare = position.on_hand.max(0.0) + position.in_transit.max(0.0);
            position.remaining <= minimum && (spare <= 0.0 || spare < pack)
        }
        None => ip <= reorder_point,
    };
    if !low {
        return Decision::Enough;
    }
    let up_to = target.unwrap_or_else(|| {
        reorder_point.max(minimum.unwrap_or(0.0)) + forecast.rate * policy.cover_days.max(0.0)
    });
    Decision::Order(packs_for(up_to - ip, pack))
}

/// Whole packs of `pack` that cover `missing`: at least one, at most 99.
pub fn packs_for(missing: f64, pack: f64) -> u32 {
    if pack <= 0.0 || !missing.is_finite() {
        return 1;
    }
    let packs = (missing / pack).ceil();
    if packs < 1.0 {
        1
    } else if packs > 99.0 {
        99
    } else {
        packs as u32
    }
}

/// An item's delivery lead time, learned from its deliveries (placed → delivered), starting
/// from the model's or the shop's usual time.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LeadTime {
    /// Mean days from order to delivery.
    pub mean_days: f64,
    /// Their standard deviation.
    pub sd_days: f64,
    /// Deliveries it has learned from.
    pub deliveries: u32,
}

/// How much each delivery moves the learned lead time, once there are a few.
const LEAD_ALPHA: f64 = 0.2;

impl LeadTime {
    /// The usual `days`, before any delivery (a spread of a quarter of it).
    pub fn prior(days: f64) -> Self {
        LeadTime {
            mean_days: days.max(0.0),
            sd_days: days.max(0.0) * 0.25,
            deliveries: 0,
        }
    }

    /// Learns from a delivery that took `days`.
    pub fn observe(&mut self, days: f64) {
        if !days.is_finite() || days < 0.0 {
            return;
        }
        self.deliveries = self.deliveries.saturating_add(1);
        // The first deliveries count as much as the prior; later ones are smoothed.
        let alpha = (1.0 / f64::from(self.deliveries + 1)).max(LEAD_ALPHA);
        let error = days - self.mean_days;
        self.mean_days += alpha * error;
        let variance = self.sd_days.powi(2);
        self.sd_days = (variance + alpha * (error * error - variance))
            .max(0.0)
            .sqrt();
    }
}

/// The standard normal's `p`-quantile (Acklam's rational approximation, relative error below
/// 1.2e-9), for `p` in (0, 1).
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let p = p.clamp(1e-12, 1.0 - 1e-12);
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forecast::{DemandClass, Method};

    fn forecast(rate: f64, sigma: f64) -> Forecast {
        Forecast {
            rate,
            sigma,
            class: DemandClass::Smooth,
            method: Method::Ses { alpha: 0.2 },
            observed_days: 30,
            shifts: 0,
            peak: None,
        }
    }

    #[test]
    fn lumps_bigger_than_the_normal_margin_raise_the_reorder_point_to_the_history_s_peak() {
        // 40 a day on average, in lumps of 400 every tenth day: over 4 days (a 2-day lead
        // time, its spread of 1 day, a daily review) the history holds a lump 2 runs in 5.
        let days: Vec<Option<f64>> = (0..100)
            .map(|d| Some(if d % 10 == 3 { 400.0 } else { 0.0 }))
            .collect();
        let use_ = DailyUse { first_day: 0, days };
        let policy = Policy {
            lead_time: LeadTime {
                mean_days: 2.0,
                sd_days: 1.0,
                deliveries: 5,
            },
            ..Policy::new(LeadTime::prior(2.0))
        };
        assert_eq!(policy.peak_days(), 4);
        let plain = forecast(40.0, 20.0);
        let normal = policy.reorder_point(&plain);
        assert!(normal < 400.0, "{normal}");
        let with = policy.with_peak(plain, &use_);
        assert_eq!(
            with.peak,
            Some(crate::forecast::Peak {
                days: 4.0,
                amount: 400.0
            })
        );
        assert!((policy.reorder_point(&with) - 400.0).abs() < 1e-9);
        // A lead time that grew by a day since adds a day's use at the rate.
        let later = Policy {
            lead_time: LeadTime {
                mean_days: 3.0,
                ..policy.lead_time
            },
            ..policy
        };
        assert!((later.reorder_point(&with) - 440.0).abs() < 1e-9);
        // Steady use has no lumps: the normal margin stays.
        let steady = DailyUse {
            first_day: 0,
            days: vec![Some(40.0); 100],
        };
        let with = policy.with_peak(plain, &steady);
        assert_eq!(policy.reorder_point(&with), normal);
    }

    #[test]
    fn too_short_a_history_has_no_peak() {
        let mut days = vec![Some(5.0); 22];
        // A day that says nothing breaks the runs around it.
        days[10] = None;
        let use_ = DailyUse { first_day: 0, days };
        assert_eq!(use_.peak(4, 0.99), None);
        assert_eq!(use_.peak(1, 0.99).map(|p| p.amount), Some(5.0));
        assert_eq!(use_.peak(0, 0.99), None);
    }

    #[test]
    fn the_normal_quantiles_are_the_usual_ones() {
        for (p, z) in [
            (0.5, 0.0),
            (0.9, 1.281_551_6),
            (0.95, 1.644_853_6),
            (0.98, 2.053_748_9),
            (0.99, 2.326_347_9),
            (0.1, -1.281_551_6),
            (0.001, -3.090_232_3),
        ] {
            assert!(
                (normal_quantile(p) - z).abs() < 1e-6,
                "{p}: {}",
                normal_quantile(p)
            );
        }
    }

    #[test]
    fn the_reorder_point_covers_the_lead_time_at_the_service_level() {
        // 10 a day ± 3, 2-day lead time ± 0.5, reviewed daily: 3 days of use = 30, plus
        // z(98 %) · √(3 · 9 + 100 · 0.25) = 2.0537 · √52.
        let policy = Policy {
            lead_time: LeadTime {
                mean_days: 2.0,
                sd_days: 0.5,
                deliveries: 5,
            },
            ..Policy::new(LeadTime::prior(2.0))
        };
        let r = policy.reorder_point(&forecast(10.0, 3.0));
        assert!(
            (r - (30.0 + 2.053_748_9 * 52f64.sqrt())).abs() < 1e-4,
            "{r}"
        );
    }

    #[test]
    fn orders_count_what_is_at_home_and_on_the_way() {
        let policy = Policy::new(LeadTime::prior(2.0));
        let f = forecast(10.0, 2.0);
        let low = Position {
            remaining: 20.0,
            on_hand: 0.0,
            in_transit: 0.0,
        };
        // R ≈ 30 + 2.05·√(12 + 25) ≈ 42.5; S = R + 140 ≈ 182.5: 163 missing, 4 packs of 50.
        assert_eq!(
            decide(&policy, &f, low, 50.0, (None, None)),
            Decision::Order(4)
        );
        // The same slot with a pack at home, or one on its way: enough.
        for (on_hand, in_transit) in [(50.0, 0.0), (0.0, 50.0)] {
            let covered = Position {
                on_hand,
                in_transit,
                ..low
            };
            assert_eq!(
                decide(&policy, &f, covered, 50.0, (None, None)),
                Decision::Enough
            );
        }
        // The customer's own minimum is a level of the device: it wins, unless a whole pack is
        // at home or on its way; their target counts everything.
        assert_eq!(
            decide(&policy, &f, low, 50.0, (Some(10.0), None)),
            Decision::Enough
        );
        let with_home = Position {
            on_hand: 30.0,
            ..low
        };
        // 100 − (20 + 30) = 50: one pack.
        assert_eq!(
            decide(&policy, &f, with_home, 50.0, (Some(25.0), Some(100.0))),
            Decision::Order(1)
        );
        let pack_at_home = Position {
            on_hand: 50.0,
            ..low
        };
        assert_eq!(
            decide(&policy, &f, pack_at_home, 50.0, (Some(25.0), Some(100.0))),
            Decision::Enough
        );
        assert_eq!(
            decide(&policy, &f, low, 50.0, (Some(25.0), Some(100.0))),
            Decision::Order(2)
        );
        let ordered = Position {
            in_transit: 50.0,
            ..low
        };
        assert_eq!(
            decide(&policy, &f, ordered, 50.0, (Some(25.0), None)),
            Decision::Enough
        );
    }

    #[test]
    fn whole_packs_at_least_one() {
        assert_eq!(packs_for(0.0, 500.0), 1);
        assert_eq!(packs_for(501.0, 500.0), 2);
        assert_eq!(packs_for(1e12, 500.0), 99);
        assert_eq!(packs_for(100.0, 0.0), 1);
    }

    #[test]
    fn the_lead_time_is_learned_from_deliveries() {
        let mut lead = LeadTime::prior(2.0);
        for _ in 0..30 {
            lead.observe(4.0);
        }
        assert!((lead.mean_days - 4.0).abs() < 0.01, "{lead:?}");
        assert!(lead.sd_days < 0.1, "{lead:?}");
        lead.observe(-1.0);
        lead.observe(f64::NAN);
        assert_eq!(lead.deliveries, 30);
        // The first delivery moves the prior halfway.
        let mut first = LeadTime::prior(2.0);
        first.observe(4.0);
        assert!((first.mean_days - 3.0).abs() < 1e-12, "{first:?}");
    }
}
