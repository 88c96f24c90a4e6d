//! The replenishment policy benchmark: a deterministic simulator (seeded) plays slot-years of
//! household use through the real forecasting and reorder code, for three policies side by
//! side, and prints one JSON line of results (read by `cargo xtask bench`).
//!
//! Each slot-year: a device holding one pack, used day by day as one of six households uses it
//! (steady, weekly pattern, intermittent, lumpy, use that doubles mid-year, two two-week
//! absences); a sensor that reads exactly or in 10 % steps; 10 % of reports lost; lead times of
//! 1 to 5 days, one delivery in ten two days late. When the device runs dry the household loads
//! a pack from home if there is one. The policies:
//!
//! * **threshold**: what a simple DRS device does: at or below 20 % of its capacity (as it last
//!   reported), one pack, unless an order is on its way;
//! * **refill**: Refill's: the forecast from the reports ([`daily_use`], [`Forecast::fit`]), the
//!   inventory position (device + home + on the way) against the reorder point at 98 %
//!   ([`decide`], with the history's peak use, [`Policy::with_peak`]), the lead time learned
//!   from deliveries;
//! * **oracle**: knows the future use and each order's lead time, and orders one pack on the
//!   last day that keeps the slot stocked.
//!
//! Measured: stockout-days per slot-year (the device empty and nothing at home), average stock
//! (device + home + on the way) against the oracle's, orders per slot-year, the forecast's
//! MASE per demand pattern (its one-step forecasts of the true daily use, made from the
//! reports, against the naive forecast from the same reports), and the warning lead (for each of Refill's orders, the days until
//! the stock would have run out without it, against that order's lead time).

use refill_core::forecast::{daily_use, mase_against, DailyUse, Forecast, LevelReport, Sensor};
use refill_core::replenish::{decide, Decision, LeadTime, Policy, Position};
use time::{Duration, OffsetDateTime};

const START: OffsetDateTime = time::macros::datetime!(2026-01-01 00:00 UTC);
const DAYS: usize = 365;
const CAPACITY: f64 = 1000.0;
const PACK: f64 = 1000.0;
/// The history the forecast is fitted on each day (as the service does).
const WINDOW_DAYS: i64 = 60;

/// SplitMix64: small, fast and the same on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal (Box–Muller).
    fn normal(&mut self) -> f64 {
        let u = self.unit().max(1e-12);
        let v = self.unit();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pattern {
    Steady,
    Weekly,
    Intermittent,
    Lumpy,
    Doubling,
    Absences,
}

const PATTERNS: [Pattern; 6] = [
    Pattern::Steady,
    Pattern::Weekly,
    Pattern::Intermittent,
    Pattern::Lumpy,
    Pattern::Doubling,
    Pattern::Absences,
];

impl Pattern {
    fn name(self) -> &'static str {
        match self {
            Pattern::Steady => "steady",
            Pattern::Weekly => "weekly",
            Pattern::Intermittent => "intermittent",
            Pattern::Lumpy => "lumpy",
            Pattern::Doubling => "doubling",
            Pattern::Absences => "absences",
        }
    }

    /// A year of daily use averaging `rate` a day.
    fn year(self, rate: f64, rng: &mut Rng) -> Vec<f64> {
        (0..DAYS)
            .map(|day| {
                let noise = |rng: &mut Rng, cv: f64| (1.0 + cv * rng.normal()).max(0.0);
                match self {
                    Pattern::Steady => rate * noise(rng, 0.2),
                    Pattern::Weekly => {
                        let weekend = day % 7 >= 5;
                        rate * if weekend { 1.8 } else { 0.68 } * noise(rng, 0.15)
                    }
                    Pattern::Intermittent => {
                        if rng.unit() < 0.3 {
                            rate / 0.3 * noise(rng, 0.3)
                        } else {
                            0.0
                        }
                    }
                    Pattern::Lumpy => {
                        if rng.unit() < 0.25 {
                            // Log-normal sizes: CV well over 0.7.
                            let size = (0.9 * rng.normal()).exp() / (0.405f64).exp();
                            rate / 0.25 * size
                        } else {
                            0.0
                        }
                    }
                    Pattern::Doubling => {
                        rate * if day >= 180 { 2.0 } else { 1.0 } * noise(rng, 0.2)
                    }
                    Pattern::Absences => {
                        let away = (100..114).contains(&day) || (250..264).contains(&day);
                        if away {
                            0.0
                        } else {
                            rate * noise(rng, 0.2)
                        }
                    }
                }
            })
            .collect()
    }
}

/// One slot-year's world: the household's use, the sensor, lost reports, lead times.
struct World {
    pattern: Pattern,
    demand: Vec<f64>,
    step: f64,
    lost: Vec<bool>,
    lead_base: i64,
    /// For each day an order could be placed, its lead time in days.
    leads: Vec<i64>,
    prior_rate: f64,
}

impl World {
    fn new(index: usize, rng: &mut Rng) -> Self {
        let pattern = PATTERNS[index % PATTERNS.len()];
        // A pack lasts 10 to 40 days.
        let rate = PACK / (10.0 + 30.0 * rng.unit());
        let demand = pattern.year(rate, rng);
        let step = if rng.unit() < 0.5 {
            0.0
        } else {
            CAPACITY * 0.1
        };
        let lost = (0..DAYS).map(|_| rng.unit() < 0.1).collect();
        let lead_base = 1 + (rng.next() % 5) as i64;
        let leads = (0..DAYS + 60)
            .map(|_| lead_base + if rng.unit() < 0.1 { 2 } else { 0 })
            .collect();
        World {
            pattern,
            demand,
            step,
            lost,
            lead_base,
            leads,
            // The model's usual use: right within a factor of 1.5.
            prior_rate: rate * (0.67 + 0.83 * rng.unit()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Threshold,
    Refill,
    Oracle,
}

#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    stockout_days: f64,
    stock: f64,
    orders: f64,
    warnings: f64,
    warnings_in_time: f64,
}

/// Plays `world` for a year under `who`'s policy.
fn play(world: &World, who: Who) -> Tally {
    let mut level = PACK;
    let mut on_hand = 0.0f64;
    let mut transit: Vec<(usize, f64)> = Vec::new();
    let mut reports: Vec<LevelReport> = Vec::new();
    let mut lead = LeadTime::prior(3.0);
    let mut tally = Tally::default();
    let sensor = Sensor {
        capacity: CAPACITY,
        step: world.step,
    };
    let read = |level: f64| {
        if world.step > 0.0 {
            (level / world.step).ceil() * world.step
        } else {
            level
        }
    };
    let mut last_reported = read(level);
    for day in 0..DAYS {
        // Deliveries arrive in the morning.
        let mut delivered = 0.0;
        transit.retain(|&(arrives, amount)| {
            if arrives <= day {
                delivered += amount;
                false
            } else {
                true
            }
        });
        on_hand += delivered;
        // The day's use; a dry device is loaded from home.
        let mut want = world.demand[day];
        let mut refilled_from = None;
        let mut dry = false;
        while want > 0.0 {
            let used = want.min(level);
            level -= used;
            want -= used;
            if want > 0.0 {
                if on_hand >= PACK - 1e-9 {
                    refilled_from = Some(level);
                    on_hand -= PACK;
                    level += PACK;
                } else {
                    dry = true;
                    break;
                }
            }
        }
        if dry || (level <= 1e-9 && on_hand < PACK - 1e-9) {
            tally.stockout_days += 1.0;
        }
        // A refill is reported when it happens (as InventoryReplaced does; at noon here), from
        // where it started; then the evening report (one in ten lost).
        let at = START + Duration::days(day as i64 + 1);
        if let Some(from) = refilled_from {
            reports.push(LevelReport {
                at: at - Duration::hours(12),
                remaining: read(from + PACK),
                refilled_from: Some(read(from)),
                finished_now: false,
            });
        }
        if !world.lost[day] {
            let reading = read(level);
            reports.push(LevelReport::new(at, reading));
            last_reported = reading;
        }
        let in_transit: f64 = transit.iter().map(|(_, a)| a).sum();
        // Decide.
        let order = match who {
            Who::Threshold => last_reported <= 0.2 * CAPACITY && transit.is_empty(),
            Who::Refill => {
                let from = at - Duration::days(WINDOW_DAYS);
                let recent: Vec<LevelReport> =
                    reports.iter().filter(|r| r.at >= from).copied().collect();
                let use_ = daily_use(&recent, sensor);
                let policy = Policy::new(lead);
                let forecast = policy.with_peak(Forecast::fit(&use_, world.prior_rate), &use_);
                let position = Position {
                    // A stepped reading says the level is within the step below it.
                    remaining: (last_reported - world.step).max(0.0),
                    on_hand,
                    in_transit,
                };
                match decide(&policy, &forecast, position, PACK, (None, None)) {
                    Decision::Enough => false,
                    Decision::Order(n) => {
                        // Counted as packs below; the warning lead is checked here.
                        let cover = days_covered(world, day + 1, level + on_hand + in_transit);
                        let lead_days = world.leads[day] as f64;
                        tally.warnings += 1.0;
                        if cover >= lead_days {
                            tally.warnings_in_time += 1.0;
                        }
                        tally.orders += f64::from(n) - 1.0;
                        for _ in 1..n {
                            transit.push((day + 1 + world.leads[day] as usize, PACK));
                        }
                        true
                    }
                }
            }
            Who::Oracle => {
                // Order on the last day that keeps the slot stocked: tomorrow's order would
                // arrive after the stock runs out.
                let stock = level + on_hand + in_transit;
                let tomorrow_arrives = day + 1 + world.leads[day + 1] as usize;
                days_covered(world, day + 1, stock) < (tomorrow_arrives - day - 1) as f64 + 1.0
            }
        };
        if order {
            tally.orders += 1.0;
            let arrives = day + 1 + world.leads[day] as usize;
            transit.push((arrives, PACK));
            if who == Who::Refill {
                lead.observe(world.leads[day] as f64);
            }
        }
        tally.stock += level + on_hand + transit.iter().map(|(_, a)| a).sum::<f64>();
    }
    tally.stock /= DAYS as f64;
    tally
}

/// Days from `from` that `stock` lasts at the world's true use (to the end of its year).
fn days_covered(world: &World, from: usize, stock: f64) -> f64 {
    let mut left = stock;
    for (i, &d) in world.demand.iter().enumerate().skip(from) {
        if d > left {
            return (i - from) as f64 + left / d;
        }
        left -= d;
    }
    f64::INFINITY
}

/// The forecast's MASE on the use the reports show, over the whole year.
fn forecast_mase(world: &World) -> Option<f64> {
    let mut reports = Vec::new();
    let mut level = PACK;
    for (day, &d) in world.demand.iter().enumerate() {
        level -= d;
        let mut refilled_from = None;
        if level <= 0.0 {
            refilled_from = Some(0.0);
            level = PACK;
        }
        if !world.lost[day] {
            reports.push(LevelReport {
                at: START + Duration::days(day as i64 + 1),
                remaining: if world.step > 0.0 {
                    (level / world.step).ceil() * world.step
                } else {
                    level
                },
                refilled_from: refilled_from.filter(|_| world.step == 0.0),
                finished_now: false,
            });
        }
    }
    let use_: DailyUse = daily_use(
        &reports,
        Sensor {
            capacity: CAPACITY,
            step: world.step,
        },
    );
    let forecast = Forecast::fit(&use_, world.prior_rate);
    // The reports' first day is the world's day 1 (each report closes its day).
    let first = usize::try_from(use_.first_day - refill_core::forecast::day_of(START)).ok()?;
    let truth = world.demand.get(first..)?;
    mase_against(forecast.method, &use_.days, truth, world.prior_rate)
}

/// The mean of `values` for each household pattern, by its name.
fn mean_by_pattern(values: &[(Pattern, f64)]) -> serde_json::Map<String, serde_json::Value> {
    PATTERNS
        .iter()
        .map(|p| {
            let mine: Vec<f64> = values
                .iter()
                .filter(|(q, _)| q == p)
                .map(|(_, v)| *v)
                .collect();
            let mean = mine.iter().sum::<f64>() / mine.len().max(1) as f64;
            (p.name().to_owned(), serde_json::json!(mean))
        })
        .collect()
}

fn main() {
    let slots: usize = std::env::var("REFILL_POLICY_SLOTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let mut rng = Rng(0x5EED_2026);
    let mut totals = [Tally::default(); 3];
    let mut mases: Vec<(Pattern, f64)> = Vec::new();
    let mut stockouts_by: Vec<(Pattern, f64)> = Vec::new();
    let started = std::time::Instant::now();
    for index in 0..slots {
        let world = World::new(index, &mut rng);
        for (i, who) in [Who::Threshold, Who::Refill, Who::Oracle]
            .into_iter()
            .enumerate()
        {
            let t = play(&world, who);
            totals[i].stockout_days += t.stockout_days;
            totals[i].stock += t.stock;
            totals[i].orders += t.orders;
            totals[i].warnings += t.warnings;
            totals[i].warnings_in_time += t.warnings_in_time;
            if who == Who::Refill {
                stockouts_by.push((world.pattern, t.stockout_days));
            }
        }
        if let Some(m) = forecast_mase(&world) {
            mases.push((world.pattern, m));
        }
        let _ = world.lead_base;
    }
    let n = slots as f64;
    let per = |t: &Tally| {
        serde_json::json!({
            "stockout_days": t.stockout_days / n,
            "stock": t.stock / n,
            "orders": t.orders / n,
        })
    };
    let mase_by = mean_by_pattern(&mases);
    let stockouts_refill = mean_by_pattern(&stockouts_by);
    let refill = &totals[1];
    println!(
        "{}",
        serde_json::json!({
            "slots": slots,
            "threshold": per(&totals[0]),
            "refill": per(refill),
            "oracle": per(&totals[2]),
            "mase": mase_by,
            "refill_stockout_days_by_pattern": stockouts_refill,
            "warning_in_time": if refill.warnings > 0.0 { refill.warnings_in_time / refill.warnings } else { 1.0 },
            "seconds": started.elapsed().as_secs_f64(),
        })
    );
}
