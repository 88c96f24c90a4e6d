//! Properties of the forecast and the reorder rule over arbitrary report histories: whatever a
//! slot reports, the forecast is finite and not negative, more supply never runs out sooner,
//! and more stock never orders more.

use proptest::prelude::*;
use refill_core::forecast::{daily_use, Forecast, LevelReport, Sensor};
use refill_core::replenish::{decide, Decision, LeadTime, Policy, Position};
use time::{Duration, OffsetDateTime};

const START: OffsetDateTime = time::macros::datetime!(2026-11-01 00:00 UTC);

/// A history: (hours since the previous report, level) pairs, levels anywhere from empty to
/// over capacity, some reports at the same moment.
fn histories() -> impl Strategy<Value = Vec<LevelReport>> {
    prop::collection::vec((0u32..72, 0.0f64..1200.0), 0..120).prop_map(|steps| {
        let mut t = START;
        steps
            .into_iter()
            .map(|(hours, level)| {
                t += Duration::hours(i64::from(hours));
                LevelReport::new(t, level)
            })
            .collect()
    })
}

proptest! {
    #[test]
    fn forecasts_are_finite_and_not_negative(reports in histories(), prior in 0.0f64..100.0, step in prop::sample::select(vec![0.0, 100.0])) {
        let use_ = daily_use(&reports, Sensor { capacity: 1000.0, step });
        prop_assert!(use_.observed().all(|u| u.is_finite() && u >= 0.0));
        let f = Forecast::fit(&use_, prior);
        prop_assert!(f.rate.is_finite() && f.rate >= 0.0, "{f:?}");
        prop_assert!(f.sigma.is_finite() && f.sigma >= 0.0, "{f:?}");
    }

    #[test]
    fn more_supply_never_runs_out_sooner(reports in histories(), prior in 0.1f64..100.0, a in 0.0f64..5000.0, b in 0.0f64..5000.0, silent in 0i64..30) {
        let f = Forecast::fit(&daily_use(&reports, Sensor::fine(1000.0)), prior);
        let (less, more) = if a <= b { (a, b) } else { (b, a) };
        let now = START + Duration::days(silent);
        if let (Some(x), Some(y)) = (f.run_out(less, START, now), f.run_out(more, START, now)) {
            prop_assert!(x.earliest <= y.earliest && x.likely <= y.likely, "{x:?} {y:?}");
            prop_assert!(x.earliest <= x.likely);
            if let Some(latest) = x.latest {
                prop_assert!(x.likely <= latest);
            }
        }
    }

    #[test]
    fn more_stock_never_orders_more(reports in histories(), prior in 0.0f64..100.0, remaining in 0.0f64..1000.0, extra in 0.0f64..2000.0, lead in 0.5f64..6.0) {
        let f = Forecast::fit(&daily_use(&reports, Sensor::fine(1000.0)), prior);
        let policy = Policy::new(LeadTime::prior(lead));
        let packs = |position| match decide(&policy, &f, position, 250.0, (None, None)) {
            Decision::Enough => 0,
            Decision::Order(n) => n,
        };
        let base = Position { remaining, on_hand: 0.0, in_transit: 0.0 };
        let stocked = Position { on_hand: extra, ..base };
        prop_assert!(packs(stocked) <= packs(base));
    }
}
