//! Forecasting a slot's daily use from whatever it reports, with an honest uncertainty.
//!
//! The pipeline, each step a pure function of its input:
//!
//! 1. [`daily_use`]: level reports (DRS slotStatus, sensor levels in any unit, with the sensor's
//!    step) become one value per calendar day (UTC), or `None` for a day that says nothing:
//!    - reports may be missing, late, duplicated or out of order: they are sorted and
//!      de-duplicated, and the use between two reports is spread evenly over the time between
//!      them;
//!    - **censoring**: while a slot is empty its use is not observed, so the time from a report
//!      that sees it empty (or the interval in which it ran dry) to the next report that sees
//!      it refilled is left out, never counted as zero use;
//!    - **refills are not zero use**: on a report where the level went up, the use since the
//!      previous report is the level before the refill minus the level the refill started from
//!      when the device said it ([`LevelReport::refilled_from`]); unknown, the interval is
//!      left out; for an item without a device, a person's "Opened a new pack" says the last
//!      pack was used up at that moment ([`LevelReport::finished_now`]), so all of it counts;
//!    - **coarse sensors**: a sensor that reports in steps (10 % of capacity, say) is read
//!      between the moments its reading changed: a step down is spread over the time since the
//!      previous change, and the time since the last change is not known yet.
//! 2. [`DemandClass::of`]: smooth, erratic, intermittent or lumpy, by the average interval
//!    between days with use (ADI) and the squared coefficient of variation of the use on those
//!    days (CV²), cut at 1.32 and 0.49 (Syntetos, Boylan & Croston 2005).
//! 3. [`Forecast::fit`]: the method that suits the class — simple exponential smoothing for
//!    smooth and erratic use, Croston with the Syntetos–Boylan correction for intermittent use,
//!    TSB for lumpy use — with its smoothing constants fitted to the slot's own history (the
//!    one-step squared error over a bounded grid), started from a prior (the model's usual use)
//!    so that a new slot has a forecast from its first day. A shift in use (a household that
//!    starts using twice as much, or goes away) is followed within days: when the last
//!    [`SHIFT_DAYS`] one-step errors all lean the same way by more than the noise explains, the
//!    method starts again from those days.
//! 4. [`Forecast::run_out`]: when the slot runs empty, as a range (10th to 90th percentile) from
//!    the forecast's error (σ ≈ 1.25 · the smoothed mean absolute one-step error, or for
//!    intermittent and lumpy use, whose tails are heavy, the root of the smoothed squared
//!    error or, when larger, the standard deviation of the whole history's daily use, so that
//!    a rare big day is not forgotten), widening with the time since the last report.

use time::{Duration, OffsetDateTime};

/// Seconds in a day.
const DAY: f64 = 86_400.0;

/// A day counts once at least this share of it was observed.
const MIN_COVERAGE: f64 = 0.5;

/// A level at or below this share of the slot's capacity counts as empty.
pub const EMPTY_SHARE: f64 = 0.005;

/// How many one-step errors in a row that lean the same way make a shift in use.
pub const SHIFT_DAYS: usize = 5;

/// A slot refilled from empty no later than this after a report that still had supply counts
/// its use (it stood empty at most this long); later, the interval is left out.
pub const DRY_REFILL_GAP: time::Duration = time::Duration::days(1);

/// One report of what was left in a slot.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LevelReport {
    /// When it was measured.
    pub at: OffsetDateTime,
    /// What was left in the device, in the slot's unit.
    pub remaining: f64,
    /// For a report that says the slot was just refilled (InventoryReplaced, or the level went
    /// up): the level the refill started from, when the device knows it (what was left when
    /// the new pack went in).
    pub refilled_from: Option<f64>,
    /// For a refill: the last pack was used up at this very moment (a person tapped "Opened a
    /// new pack" on an item without a device), so the use since the previous report is all of
    /// what was left then. A device's refill from empty says no such thing: it may have been
    /// empty for a while.
    pub finished_now: bool,
}

impl LevelReport {
    /// A plain level report.
    pub fn new(at: OffsetDateTime, remaining: f64) -> Self {
        Self {
            at,
            remaining,
            refilled_from: None,
            finished_now: false,
        }
    }

    /// A new pack of `remaining` opened at `at` as the last one was used up.
    pub fn opened(at: OffsetDateTime, remaining: f64) -> Self {
        Self {
            at,
            remaining,
            refilled_from: Some(0.0),
            finished_now: true,
        }
    }
}

/// How a slot's reports are read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sensor {
    /// The slot's capacity, in its unit.
    pub capacity: f64,
    /// The step the sensor reports in (0 for a fine one): 10 % of a 1 000 g slot is 100.
    pub step: f64,
}

impl Sensor {
    /// A sensor that reports every change.
    pub fn fine(capacity: f64) -> Self {
        Self {
            capacity,
            step: 0.0,
        }
    }

    /// The step the `levels` suggest: the largest of 5 %, 10 %, 20 % or 25 % of `capacity`
    /// that every level is a whole multiple of (with at least 6 levels to go by); 0 otherwise.
    /// (Finer steps are not told from a fine sensor that reports round numbers.)
    pub fn step_of(levels: &[f64], capacity: f64) -> f64 {
        if levels.len() < 6 || capacity <= 0.0 {
            return 0.0;
        }
        [0.25, 0.2, 0.1, 0.05]
            .into_iter()
            .map(|share| share * capacity)
            .find(|step| {
                levels.iter().all(|level| {
                    let k = level / step;
                    (k - k.round()).abs() < 1e-6
                })
            })
            .unwrap_or(0.0)
    }

    fn empty(&self, level: f64) -> bool {
        level <= (self.capacity * EMPTY_SHARE).max(1e-9)
    }
}

/// The calendar day (UTC, counted from the Unix epoch) of `at`.
pub fn day_of(at: OffsetDateTime) -> i64 {
    at.unix_timestamp().div_euclid(86_400)
}

/// Use per calendar day from `reports`: the first day is [`DailyUse::first_day`], and each
/// entry is that day's use, or `None` for a day that was not observed (no reports around it,
/// or the slot was empty, or a refill of unknown start hides it).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DailyUse {
    /// The day of the first entry (see [`day_of`]).
    pub first_day: i64,
    /// Use on each day, or `None` when the day says nothing.
    pub days: Vec<Option<f64>>,
}

impl DailyUse {
    /// Days with an observed use.
    pub fn observed(&self) -> impl Iterator<Item = f64> + '_ {
        self.days.iter().flatten().copied()
    }

    /// The heaviest use the history shows over `days` days in a row: the `level`-quantile of
    /// the use over every run of `days` observed days (runs with a day that says nothing are
    /// left out), or `None` while there are fewer than [`MIN_PEAK_RUNS`] such runs.
    pub fn peak(&self, days: usize, level: f64) -> Option<Peak> {
        if days == 0 || !level.is_finite() {
            return None;
        }
        let mut sums: Vec<f64> = self
            .days
            .windows(days)
            .filter_map(|run| run.iter().copied().sum::<Option<f64>>())
            .collect();
        if sums.len() < MIN_PEAK_RUNS {
            return None;
        }
        sums.sort_by(f64::total_cmp);
        // The smallest sum at or above the share `level` of all sums.
        let index =
            ((level.clamp(0.0, 1.0) * sums.len() as f64).ceil() as usize).clamp(1, sums.len()) - 1;
        Some(Peak {
            days: days as f64,
            amount: sums[index],
        })
    }
}

/// The fewest runs of days a [`DailyUse::peak`] is read from.
pub const MIN_PEAK_RUNS: usize = 20;

/// Use over a run of days that the history rarely exceeds (see [`DailyUse::peak`]).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Peak {
    /// The length of the run, in days.
    pub days: f64,
    /// The use over it, in the slot's unit.
    pub amount: f64,
}

/// Spreads `amount` of use evenly over `from`..`to` into the per-day `used` and `covered`
/// (seconds observed) accumulators, keyed from `first_day`.
fn spread(
    (used, covered): (&mut [f64], &mut [f64]),
    first_day: i64,
    (from, to): (OffsetDateTime, OffsetDateTime),
    amount: f64,
) {
    let total = (to - from).as_seconds_f64();
    if total <= 0.0 {
        return;
    }
    let mut t = from;
    while t < to {
        let day = day_of(t);
        let day_end = OffsetDateTime::from_unix_timestamp((day + 1) * 86_400).unwrap_or(to);
        let end = day_end.min(to);
        let part = (end - t).as_seconds_f64();
        if let Ok(i) = usize::try_from(day - first_day) {
            if i < used.len() {
                used[i] += amount * part / total;
                covered[i] += part;
            }
        }
        t = end;
    }
}

/// Reads `reports` of a slot with `sensor` into use per day (see the module's documentation).
pub fn daily_use(reports: &[LevelReport], sensor: Sensor) -> DailyUse {
    let mut reports: Vec<LevelReport> = reports
        .iter()
        .filter(|r| r.remaining.is_finite() && r.remaining >= 0.0)
        .copied()
        .collect();
    reports.sort_by_key(|r| r.at);
    // A report repeated at the same moment counts once (the last one sent wins).
    reports.dedup_by(|later, earlier| {
        if later.at == earlier.at {
            *earlier = *later;
            true
        } else {
            false
        }
    });
    let (Some(first), Some(last)) = (reports.first(), reports.last()) else {
        return DailyUse::default();
    };
    let first_day = day_of(first.at);
    let count = usize::try_from(day_of(last.at) - first_day + 1).unwrap_or(0);
    let mut used = vec![0.0; count];
    let mut covered = vec![0.0; count];
    let coarse = sensor.step > 0.0;
    // The last report at which the reading changed (for a coarse sensor), or the last report.
    let mut anchor = *first;
    // A coarse sensor's first reading says only which step the level was in: the use is known
    // from its first change on.
    let mut phase_known = !coarse;
    for pair in reports.windows(2) {
        let (before, now) = (pair[0], pair[1]);
        let rose = now.remaining > anchor.remaining + 1e-9
            || now.refilled_from.is_some_and(|from| from < now.remaining);
        if rose {
            // A refill: the use up to it is known only from where the refill started.
            if let Some(from) = now.refilled_from {
                // Refilled from empty: all that was left at the last report was used, but the
                // slot may have stood empty for a while. Known when a person says it was used up
                // right then, or when it had supply at a report at most DRY_REFILL_GAP before:
                // it stood empty no longer than that, and leaving such intervals out would
                // leave out the biggest days of lumpy use and bias the forecast low.
                let known = !sensor.empty(from)
                    || (!sensor.empty(anchor.remaining)
                        && (now.finished_now || now.at - anchor.at <= DRY_REFILL_GAP));
                if known && from <= anchor.remaining {
                    spread(
                        (&mut used, &mut covered),
                        first_day,
                        (anchor.at, now.at),
                        anchor.remaining - from,
                    );
                }
            }
            anchor = now;
            phase_known = !coarse;
            continue;
        }
        if sensor.empty(anchor.remaining) || sensor.empty(now.remaining) {
            // Empty at the start (nothing to use), or ran dry at some moment in between (the
            // rate of the interval is unknown): censored.
            anchor = now;
            continue;
        }
        if coarse && (anchor.remaining - now.remaining).abs() < 1e-9 {
            // Same step: the use since the last change is not known yet.
            let _ = before;
            continue;
        }
        if !phase_known {
            phase_known = true;
            anchor = now;
            continue;
        }
        spread(
            (&mut used, &mut covered),
            first_day,
            (anchor.at, now.at),
            anchor.remaining - now.remaining,
        );
        anchor = now;
    }
    let days = used
        .iter()
        .zip(&covered)
        .map(|(u, c)| (c / DAY >= MIN_COVERAGE).then(|| u * DAY / c))
        .collect();
    DailyUse { first_day, days }
}

/// How a slot's use behaves (Syntetos, Boylan & Croston 2005).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DemandClass {
    /// Some use nearly every day, in similar amounts.
    Smooth,
    /// Use nearly every day, in amounts that vary a lot.
    Erratic,
    /// Use on some days only, in similar amounts.
    Intermittent,
    /// Use on some days only, in amounts that vary a lot.
    Lumpy,
}

/// The average interval between days with use above which use is intermittent.
pub const ADI_CUT: f64 = 1.32;
/// The squared coefficient of variation of use sizes above which use is erratic.
pub const CV2_CUT: f64 = 0.49;

impl DemandClass {
    /// The class of the observed days of `days` (`None` days are left out); smooth without
    /// any use to go by.
    pub fn of(days: &[Option<f64>]) -> Self {
        let observed: Vec<f64> = days.iter().flatten().copied().collect();
        let sizes: Vec<f64> = observed.iter().copied().filter(|u| *u > 0.0).collect();
        if sizes.is_empty() {
            return DemandClass::Smooth;
        }
        let adi = observed.len() as f64 / sizes.len() as f64;
        let (mean, squares) = mean_and_squares(&sizes);
        let var = squares / sizes.len() as f64;
        let cv2 = if mean > 0.0 { var / (mean * mean) } else { 0.0 };
        match (adi >= ADI_CUT, cv2 >= CV2_CUT) {
            (false, false) => DemandClass::Smooth,
            (false, true) => DemandClass::Erratic,
            (true, false) => DemandClass::Intermittent,
            (true, true) => DemandClass::Lumpy,
        }
    }
}

/// A forecasting method with its smoothing constants.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "method")]
pub enum Method {
    /// Simple exponential smoothing of the daily use.
    Ses {
        /// The smoothing constant.
        alpha: f64,
    },
    /// Croston's method with the Syntetos–Boylan correction: sizes and intervals smoothed on
    /// days with use, rate = (1 − α/2) · size / interval.
    CrostonSba {
        /// The smoothing constant.
        alpha: f64,
    },
    /// Teunter–Syntetos–Babai: the probability of use smoothed every day, the size on days
    /// with use; rate = probability · size.
    Tsb {
        /// The size's smoothing constant.
        alpha: f64,
        /// The probability's smoothing constant.
        beta: f64,
    },
}

/// The state of a method over a series.
#[derive(Debug, Clone, Copy, PartialEq)]
struct State {
    method: Method,
    /// SES: the level. Croston/TSB: the size.
    size: f64,
    /// Croston: the interval. TSB: the probability of use.
    other: f64,
    /// Croston: days since the last use.
    since: f64,
}

impl State {
    fn start(method: Method, prior_rate: f64) -> Self {
        let prior = prior_rate.max(0.0);
        match method {
            Method::Ses { .. } => State {
                method,
                size: prior,
                other: 1.0,
                since: 0.0,
            },
            // Start as daily use of the prior amount.
            Method::CrostonSba { .. } | Method::Tsb { .. } => State {
                method,
                size: prior,
                other: 1.0,
                since: 0.0,
            },
        }
    }

    fn rate(&self) -> f64 {
        match self.method {
            Method::Ses { .. } => self.size,
            Method::CrostonSba { alpha } => {
                if self.other > 0.0 {
                    (1.0 - alpha / 2.0) * self.size / self.other
                } else {
                    0.0
                }
            }
            Method::Tsb { .. } => self.other * self.size,
        }
        .max(0.0)
    }

    fn update(&mut self, y: f64) {
        let y = y.max(0.0);
        match self.method {
            Method::Ses { alpha } => self.size += alpha * (y - self.size),
            Method::CrostonSba { alpha } => {
                self.since += 1.0;
                if y > 0.0 {
                    self.size += alpha * (y - self.size);
                    self.other += alpha * (self.since - self.other);
                    self.since = 0.0;
                }
            }
            Method::Tsb { alpha, beta } => {
                let used = if y > 0.0 { 1.0 } else { 0.0 };
                self.other += beta * (used - self.other);
                if y > 0.0 {
                    self.size += alpha * (y - self.size);
                }
            }
        }
    }
}

/// Observed days the level of exponential smoothing starts from, once there are as many.
const WARM_DAYS: usize = 14;

/// Smoothing constant of the mean absolute error.
const MAD_ALPHA: f64 = 0.1;

/// A run of `method` over the observed days: its one-step squared error, and its final state,
/// error and the number of shifts it followed.
#[derive(Debug, Clone, Copy)]
struct Run {
    sse: f64,
    state: State,
    mad: f64,
    /// The smoothed squared one-step error.
    mse: f64,
    shifts: u32,
}

fn run(method: Method, observed: &[f64], prior_rate: f64) -> Run {
    let mut state = State::start(method, prior_rate);
    // Smoothing starts from the history's own first two weeks, not from the prior: with the
    // small constants that steady use wants, a start off by half would still weigh on the
    // forecast months later.
    if let (Method::Ses { .. }, Some(first)) = (method, observed.get(..WARM_DAYS)) {
        state.size = first.iter().sum::<f64>() / WARM_DAYS as f64;
    }
    // Before any error is seen, the prior's own spread: half the rate.
    let mut mad = (prior_rate * 0.5 / 1.25).max(0.0);
    let mut mse = (1.25 * mad).powi(2);
    let mut sse = 0.0;
    let mut shifts = 0;
    let mut recent: Vec<f64> = Vec::with_capacity(SHIFT_DAYS);
    for (i, &y) in observed.iter().enumerate() {
        let error = y - state.rate();
        // The first week fits the start; it does not count against the constants.
        if i >= SHIFT_DAYS {
            sse += error * error;
        }
        mad += MAD_ALPHA * (error.abs() - mad);
        mse += MAD_ALPHA * (error * error - mse);
        state.update(y);
        recent.push(error);
        if recent.len() > SHIFT_DAYS {
            recent.remove(0);
        }
        if recent.len() == SHIFT_DAYS && i + 1 >= 2 * SHIFT_DAYS {
            let mean = recent.iter().sum::<f64>() / SHIFT_DAYS as f64;
            let same_way = recent
                .iter()
                .all(|e| e.signum() == mean.signum() && *e != 0.0);
            let sigma = 1.25 * mad;
            if same_way && mean.abs() > 3.0 * sigma / (SHIFT_DAYS as f64).sqrt() {
                // Use has shifted: start again from the recent days.
                let tail = &observed[i + 1 - SHIFT_DAYS..=i];
                let level = tail.iter().sum::<f64>() / SHIFT_DAYS as f64;
                state = State::start(method, level);
                for &y in tail {
                    state.update(y);
                }
                // The start level itself is the recent mean.
                if let Method::Ses { .. } = method {
                    state.size = level;
                }
                recent.clear();
                shifts += 1;
            }
        }
    }
    Run {
        sse,
        state,
        mad,
        mse,
        shifts,
    }
}

/// The smoothing constants tried when fitting.
const ALPHAS: [f64; 8] = [0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4];
const BETAS: [f64; 4] = [0.05, 0.1, 0.2, 0.3];

/// What is known of a slot's use.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Forecast {
    /// Expected use per day.
    pub rate: f64,
    /// The standard deviation of one day's use around the rate.
    pub sigma: f64,
    /// How the use behaves.
    pub class: DemandClass,
    /// The method that made it, with its fitted constants.
    pub method: Method,
    /// Days of observed use behind it (0: the prior alone).
    pub observed_days: usize,
    /// Shifts in use it followed.
    pub shifts: u32,
    /// The heaviest use the history shows over the reorder rule's window, once there is
    /// enough of it (set by [`crate::replenish::Policy::with_peak`]).
    pub peak: Option<Peak>,
}

/// The mean of `values` and the sum of their squared deviations from it (`values` not empty).
fn mean_and_squares(values: &[f64]) -> (f64, f64) {
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    (mean, values.iter().map(|v| (v - mean).powi(2)).sum())
}

/// The sample standard deviation of `values` (0 for fewer than two).
fn sample_sd(values: &[f64]) -> f64 {
    if values.len() < 2 {
        return 0.0;
    }
    (mean_and_squares(values).1 / (values.len() - 1) as f64).sqrt()
}

/// The least history, in observed days, before a slot's own use replaces the prior.
pub const MIN_HISTORY_DAYS: usize = 7;

impl Forecast {
    /// The prior alone: `rate` a day (the model's usual use), with a wide spread.
    pub fn prior(rate: f64) -> Self {
        let rate = rate.max(0.0);
        Forecast {
            rate,
            sigma: rate * 0.5,
            class: DemandClass::Smooth,
            method: Method::Ses { alpha: 0.2 },
            observed_days: 0,
            shifts: 0,
            peak: None,
        }
    }

    /// Fits the method that suits `use_`'s class to its observed days, started from
    /// `prior_rate` (the model's usual use per day).
    pub fn fit(use_: &DailyUse, prior_rate: f64) -> Self {
        let observed: Vec<f64> = use_.observed().collect();
        if observed.len() < MIN_HISTORY_DAYS {
            let mut prior = Forecast::prior(prior_rate);
            if !observed.is_empty() {
                // A few days: lean on them as much as on the prior's week.
                let n = observed.len() as f64;
                let mean = observed.iter().sum::<f64>() / n;
                let w = n / (n + MIN_HISTORY_DAYS as f64);
                prior.rate = w * mean + (1.0 - w) * prior.rate.max(0.0);
                prior.observed_days = observed.len();
            }
            return prior;
        }
        let class = DemandClass::of(&use_.days);
        let candidates: Vec<Method> = match class {
            DemandClass::Smooth | DemandClass::Erratic => {
                ALPHAS.iter().map(|&alpha| Method::Ses { alpha }).collect()
            }
            DemandClass::Intermittent => ALPHAS
                .iter()
                .map(|&alpha| Method::CrostonSba { alpha })
                .collect(),
            DemandClass::Lumpy => ALPHAS
                .iter()
                .flat_map(|&alpha| BETAS.iter().map(move |&beta| Method::Tsb { alpha, beta }))
                .collect(),
        };
        let best = candidates
            .into_iter()
            .map(|method| run(method, &observed, prior_rate))
            .min_by(|a, b| a.sse.total_cmp(&b.sse))
            .expect("at least one candidate");
        // Intermittent and lumpy use have heavy tails, which the mean absolute error
        // understates, and the smoothed error forgets its rare big days: their spread is the
        // largest of the root of the smoothed squared error and the standard deviation of the
        // whole history's daily use (p·E[s²] − (p·E[s])² for use on a share p of days in
        // sizes s).
        let sigma = match class {
            DemandClass::Smooth | DemandClass::Erratic => 1.25 * best.mad,
            DemandClass::Intermittent | DemandClass::Lumpy => best
                .mse
                .sqrt()
                .max(1.25 * best.mad)
                .max(sample_sd(&observed)),
        };
        Forecast {
            rate: best.state.rate(),
            sigma,
            class,
            method: best.state.method,
            observed_days: observed.len(),
            shifts: best.shifts,
            peak: None,
        }
    }

    /// The forecast of a slot of `capacity` from its reported levels (oldest first), its
    /// sensor's step read from the levels themselves (see [`Sensor::step_of`]), started from
    /// `prior_rate`; with the daily use it was fitted to.
    pub fn of_levels(reports: &[LevelReport], capacity: f64, prior_rate: f64) -> (Self, DailyUse) {
        let levels: Vec<f64> = reports.iter().map(|r| r.remaining).collect();
        let sensor = Sensor {
            capacity,
            step: Sensor::step_of(&levels, capacity),
        };
        let use_ = daily_use(reports, sensor);
        (Forecast::fit(&use_, prior_rate), use_)
    }

    /// When a slot holding `remaining` runs empty, counted from its last report at `last` and
    /// seen at `now`: the 10th, 50th and 90th percentile. `None` when nothing is being used.
    /// The range widens with the time since the last report (what happened since is unknown).
    pub fn run_out(
        &self,
        remaining: f64,
        last: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Option<RunOut> {
        if self.rate <= 0.0 {
            return None;
        }
        let silent_days = ((now - last).as_seconds_f64() / DAY).max(0.0);
        // Each silent day adds a day's worth of doubt about the rate itself.
        let sigma = self.sigma * (1.0 + silent_days / 7.0).sqrt();
        let days = |z: f64| days_until(remaining.max(0.0), self.rate, sigma, z);
        let at = |d: f64| {
            // Beyond ten years is "not in sight".
            (d < 3650.0).then(|| last + Duration::seconds_f64(d * DAY))
        };
        Some(RunOut {
            earliest: at(days(-Z_90))?,
            likely: at(days(0.0))?,
            latest: at(days(Z_90)),
        })
    }
}

/// How long a device may send nothing before it counts as silent, from the times of its last
/// reports (oldest first): twice its usual interval (the median of the last 30, at least an
/// hour), or a day before it has three intervals. Reports at the same moment count once.
pub fn silence_limit(reports: &[OffsetDateTime]) -> Duration {
    let mut times: Vec<OffsetDateTime> = reports.to_vec();
    times.sort();
    times.dedup();
    let mut gaps: Vec<Duration> = times
        .windows(2)
        .rev()
        .take(30)
        .map(|w| w[1] - w[0])
        .collect();
    gaps.sort();
    if gaps.len() >= 3 {
        let usual: Duration = gaps[gaps.len() / 2];
        (usual * 2_i32).max(Duration::hours(1))
    } else {
        Duration::days(1)
    }
}

/// The standard normal's 90th percentile.
pub const Z_90: f64 = 1.281_551_565_545;

/// Days until cumulative use (normal, mean `rate`·d, standard deviation `sigma`·√d) reaches
/// `remaining` at the `z`-quantile of the run-out time: `z` < 0 early (use runs high), `z` > 0
/// late. The root of `rate·x² − z·σ·x − remaining = 0` in x = √d.
fn days_until(remaining: f64, rate: f64, sigma: f64, z: f64) -> f64 {
    let b = -z * sigma;
    let x = (-b + (b * b + 4.0 * rate * remaining).sqrt()) / (2.0 * rate);
    x.max(0.0).powi(2)
}

/// When a slot runs empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RunOut {
    /// The 10th percentile: it runs out this early only one time in ten.
    #[serde(with = "time::serde::rfc3339")]
    pub earliest: OffsetDateTime,
    /// The median.
    #[serde(with = "time::serde::rfc3339")]
    pub likely: OffsetDateTime,
    /// The 90th percentile, when it is within ten years.
    #[serde(with = "time::serde::rfc3339::option")]
    pub latest: Option<OffsetDateTime>,
}

/// Mean absolute scaled error of one-step forecasts of `observed` by `method` (started from
/// `prior_rate`): below 1 beats the naive forecast (tomorrow as today). `None` without enough
/// days to tell.
pub fn mase(method: Method, observed: &[f64], prior_rate: f64) -> Option<f64> {
    let seen: Vec<Option<f64>> = observed.iter().copied().map(Some).collect();
    mase_against(method, &seen, observed, prior_rate)
}

/// Mean absolute scaled error of `method`'s one-step forecasts of the `truth` (the use each day
/// really was), made from what the reports showed (`observed`, the same days, `None` where the
/// reports said nothing): both it and the naive forecast (tomorrow as the last day seen) see
/// only the reports. Below 1 beats the naive forecast; `None` without enough days to tell.
pub fn mase_against(
    method: Method,
    observed: &[Option<f64>],
    truth: &[f64],
    prior_rate: f64,
) -> Option<f64> {
    let expected = one_step(method, observed, prior_rate);
    let mut last_seen: Option<f64> = None;
    let (mut error, mut naive, mut days) = (0.0, 0.0, 0);
    for ((seen, &real), expected) in observed.iter().zip(truth).zip(expected) {
        if let Some(last) = last_seen {
            error += (real - expected).abs();
            naive += (real - last).abs();
            days += 1;
        }
        if let Some(y) = *seen {
            last_seen = Some(y);
        }
    }
    (days >= 2 * SHIFT_DAYS && naive > 0.0).then(|| error / naive)
}

/// `method`'s one-step forecasts over `observed`, started from `prior_rate`: for each day, the
/// use it expected before the day was seen (a day that says nothing leaves it as it was).
pub fn one_step(method: Method, observed: &[Option<f64>], prior_rate: f64) -> Vec<f64> {
    let mut state = State::start(method, prior_rate);
    observed
        .iter()
        .map(|seen| {
            let expected = state.rate();
            if let Some(y) = *seen {
                state.update(y);
            }
            expected
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const START: OffsetDateTime = datetime!(2026-11-01 00:00 UTC);

    fn at_days(d: f64) -> OffsetDateTime {
        START + Duration::seconds_f64(d * DAY)
    }

    /// Reports every `every` days of a slot that starts at `level` and is used `rate` a day.
    fn steady(level: f64, rate: f64, every: f64, days: f64) -> Vec<LevelReport> {
        let mut out = Vec::new();
        let mut t = 0.0;
        while t <= days + 1e-9 {
            out.push(LevelReport::new(at_days(t), (level - rate * t).max(0.0)));
            t += every;
        }
        out
    }

    #[test]
    fn steady_use_is_read_exactly_whatever_the_report_interval() {
        for every in [0.25, 1.0, 2.5] {
            let days = daily_use(&steady(1000.0, 25.0, every, 20.0), Sensor::fine(1000.0));
            let observed: Vec<f64> = days.observed().collect();
            assert!(observed.len() >= 19, "{every}: {days:?}");
            for u in observed {
                assert!((u - 25.0).abs() < 1e-6, "{every}: {u}");
            }
        }
    }

    #[test]
    fn reports_late_duplicated_or_out_of_order_read_the_same() {
        let clean = steady(1000.0, 25.0, 1.0, 10.0);
        let mut messy = clean.clone();
        messy.reverse();
        messy.push(clean[3]);
        messy.push(clean[3]);
        messy.remove(5); // one lost
        let a = daily_use(&clean, Sensor::fine(1000.0));
        let b = daily_use(&messy, Sensor::fine(1000.0));
        assert_eq!(a.first_day, b.first_day);
        for (x, y) in a.observed().zip(b.observed()) {
            assert!((x - y).abs() < 1e-9);
        }
    }

    #[test]
    fn days_on_which_the_slot_was_empty_are_left_out_not_counted_as_zero() {
        // 100 a day from 500: empty on day 5; it stays empty until a refill on day 12.
        let mut reports = steady(500.0, 100.0, 1.0, 8.0);
        for d in 9..12 {
            reports.push(LevelReport::new(at_days(f64::from(d)), 0.0));
        }
        reports.push(LevelReport::new(at_days(12.0), 1000.0));
        reports.extend(
            steady(1000.0, 100.0, 1.0, 5.0)
                .into_iter()
                .skip(1)
                .map(|r| LevelReport::new(r.at + Duration::days(12), r.remaining)),
        );
        let days = daily_use(&reports, Sensor::fine(1000.0));
        let observed: Vec<f64> = days.observed().collect();
        assert!(
            observed.iter().all(|u| (u - 100.0).abs() < 1e-6),
            "{days:?}"
        );
        // Days 4..12 (the run-dry interval and the empty days) are unobserved.
        assert!(days.days[5..12].iter().all(Option::is_none), "{days:?}");
        let forecast = Forecast::fit(&days, 100.0);
        assert!((forecast.rate - 100.0).abs() < 1.0, "{forecast:?}");
    }

    #[test]
    fn a_refill_is_not_zero_use() {
        // 50 a day; on day 4 (350 left on day 3) a new pack goes in when 310 was left.
        let mut reports = steady(500.0, 50.0, 1.0, 3.0);
        reports.push(LevelReport {
            at: at_days(4.0),
            remaining: 1310.0,
            refilled_from: Some(310.0),
            finished_now: false,
        });
        reports.push(LevelReport::new(at_days(5.0), 1260.0));
        let days = daily_use(&reports, Sensor::fine(2000.0));
        let observed: Vec<f64> = days.observed().collect();
        assert_eq!(observed.len(), 5, "{days:?}");
        // Day 3→4 used 350 − 310 = 40, not 0.
        assert!((observed[3] - 40.0).abs() < 1e-9, "{observed:?}");
        // Refilled from empty within a day of a report with supply: all of it was used.
        let mut dry = reports.clone();
        dry[4].refilled_from = Some(0.0);
        let observed: Vec<f64> = daily_use(&dry, Sensor::fine(2000.0)).observed().collect();
        assert!((observed[3] - 350.0).abs() < 1e-9, "{observed:?}");
        // ...but after two days without a report it may have stood empty: left out.
        let mut late = dry.clone();
        late.remove(3);
        let days = daily_use(&late, Sensor::fine(2000.0));
        assert_eq!(days.days[2..4], [None, None], "{days:?}");
        // Without knowing where the refill started, that day is left out.
        let mut unknown = reports.clone();
        unknown[4].refilled_from = None;
        let days = daily_use(&unknown, Sensor::fine(2000.0));
        assert_eq!(days.days[3], None, "{days:?}");
        assert!(days.observed().all(|u| u > 0.0), "{days:?}");
    }

    #[test]
    fn pack_openings_of_an_item_without_a_device_teach_its_use() {
        // A 300 g pack opened every 10 days: 30 g a day, though no level in between is known.
        let reports: Vec<LevelReport> = (0..5)
            .map(|i| LevelReport::opened(at_days(10.0 * f64::from(i)), 300.0))
            .collect();
        let days = daily_use(&reports, Sensor::fine(300.0));
        let observed: Vec<f64> = days.observed().collect();
        assert_eq!(observed.len(), 40, "{days:?}");
        assert!(
            observed.iter().all(|u| (u - 30.0).abs() < 1e-9),
            "{observed:?}"
        );
        assert!((Forecast::fit(&days, 10.0).rate - 30.0).abs() < 0.5);
        // "Ran out" on day 38 (it may have run out before anyone noticed), the new pack opened
        // on day 40: that pack and the empty days say nothing; the packs before still count.
        let mut ran_out = reports[..4].to_vec();
        ran_out.push(LevelReport::new(at_days(38.0), 0.0));
        ran_out.push(LevelReport::opened(at_days(40.0), 300.0));
        let days = daily_use(&ran_out, Sensor::fine(300.0));
        assert!(days.days[30..40].iter().all(Option::is_none), "{days:?}");
        assert_eq!(days.observed().count(), 30, "{days:?}");
    }

    #[test]
    fn a_coarse_sensor_is_read_between_its_steps() {
        // 1 000 g slot, 10 % steps, 25 g a day, read every 6 hours: the reading drops by 100 g
        // every 4 days.
        let reports: Vec<LevelReport> = steady(1000.0, 25.0, 0.25, 24.0)
            .into_iter()
            .map(|r| LevelReport::new(r.at, (r.remaining / 100.0).ceil() * 100.0))
            .collect();
        let levels: Vec<f64> = reports.iter().map(|r| r.remaining).collect();
        assert_eq!(Sensor::step_of(&levels, 1000.0), 100.0);
        let sensor = Sensor {
            capacity: 1000.0,
            step: 100.0,
        };
        let days = daily_use(&reports, sensor);
        let observed: Vec<f64> = days.observed().collect();
        assert!(observed.len() >= 18, "{days:?}");
        for u in &observed {
            assert!((u - 25.0).abs() < 1e-6, "{observed:?}");
        }
        // Read as a fine sensor it looks lumpy.
        let naive = daily_use(&reports, Sensor::fine(1000.0));
        assert_ne!(DemandClass::of(&naive.days), DemandClass::Smooth);
        assert_eq!(DemandClass::of(&days.days), DemandClass::Smooth);
    }

    #[test]
    fn demand_classes_follow_the_usual_cut_offs() {
        let some = |v: &[f64]| v.iter().map(|u| Some(*u)).collect::<Vec<_>>();
        assert_eq!(
            DemandClass::of(&some(&[10.0, 11.0, 9.0, 10.0])),
            DemandClass::Smooth
        );
        assert_eq!(
            DemandClass::of(&some(&[1.0, 30.0, 2.0, 25.0])),
            DemandClass::Erratic
        );
        assert_eq!(
            DemandClass::of(&some(&[10.0, 0.0, 0.0, 11.0, 0.0, 9.0, 0.0])),
            DemandClass::Intermittent
        );
        assert_eq!(
            DemandClass::of(&some(&[1.0, 0.0, 0.0, 30.0, 0.0, 0.0, 2.0])),
            DemandClass::Lumpy
        );
        // Unobserved days do not count as days without use.
        let mut gaps = some(&[10.0, 10.0, 10.0]);
        gaps.insert(1, None);
        gaps.insert(1, None);
        assert_eq!(DemandClass::of(&gaps), DemandClass::Smooth);
    }

    #[test]
    fn the_methods_update_as_their_formulas_say() {
        // SES, α = 0.5 from 10: 20 → 15, 0 → 7.5.
        let mut ses = State::start(Method::Ses { alpha: 0.5 }, 10.0);
        ses.update(20.0);
        assert_eq!(ses.rate(), 15.0);
        ses.update(0.0);
        assert_eq!(ses.rate(), 7.5);
        // Croston-SBA, α = 0.5 from size 10, interval 1: 0, 0, 30 → interval 1 + 0.5·(3 − 1)
        // = 2, size 20, rate (1 − 0.25)·20/2 = 7.5.
        let mut sba = State::start(Method::CrostonSba { alpha: 0.5 }, 10.0);
        for y in [0.0, 0.0, 30.0] {
            sba.update(y);
        }
        assert!((sba.rate() - 7.5).abs() < 1e-12, "{sba:?}");
        // TSB, α = β = 0.5 from size 10, probability 1: 0 → p 0.5 (rate 5); 30 → p 0.75,
        // size 20 (rate 15).
        let mut tsb = State::start(
            Method::Tsb {
                alpha: 0.5,
                beta: 0.5,
            },
            10.0,
        );
        tsb.update(0.0);
        assert_eq!(tsb.rate(), 5.0);
        tsb.update(30.0);
        assert_eq!(tsb.rate(), 15.0);
    }

    #[test]
    fn a_new_slot_starts_from_the_prior_and_leans_on_its_first_days() {
        let none = Forecast::fit(&DailyUse::default(), 20.0);
        assert_eq!((none.rate, none.observed_days), (20.0, 0));
        let few = DailyUse {
            first_day: 0,
            days: vec![Some(40.0); 7 - 1],
        };
        let f = Forecast::fit(&few, 20.0);
        assert!(f.rate > 20.0 && f.rate < 40.0, "{f:?}");
    }

    #[test]
    fn intermittent_use_gets_croston_sba_and_its_long_run_rate() {
        // 30 every third day: 10 a day in the long run.
        let days = DailyUse {
            first_day: 0,
            days: (0..60)
                .map(|d| Some(if d % 3 == 0 { 30.0 } else { 0.0 }))
                .collect(),
        };
        let f = Forecast::fit(&days, 5.0);
        assert_eq!(f.class, DemandClass::Intermittent);
        assert!(matches!(f.method, Method::CrostonSba { .. }), "{f:?}");
        assert!((f.rate - 10.0).abs() < 2.5, "{f:?}");
    }

    #[test]
    fn a_rare_big_day_of_lumpy_use_is_not_forgotten_by_the_spread() {
        // 20 every fourth day, and once, long ago, 400 (a party): the smoothed error has
        // forgotten it after 80 days, the history has not. Its sample standard deviation is
        // about 42; the smoothed error alone says under 10.
        let days = DailyUse {
            first_day: 0,
            days: (0..90)
                .map(|d| {
                    Some(match d {
                        10 => 400.0,
                        d if d % 4 == 0 => 20.0,
                        _ => 0.0,
                    })
                })
                .collect(),
        };
        let f = Forecast::fit(&days, 5.0);
        assert_eq!(f.class, DemandClass::Lumpy, "{f:?}");
        assert!(f.sigma > 38.0 && f.sigma < 46.0, "{f:?}");
    }

    #[test]
    fn a_household_that_doubles_its_use_is_followed_within_days() {
        let mut days: Vec<Option<f64>> = vec![Some(20.0); 40];
        days.extend(std::iter::repeat_n(Some(40.0), 7));
        let f = Forecast::fit(&DailyUse { first_day: 0, days }, 20.0);
        assert!(f.shifts >= 1, "{f:?}");
        assert!(f.rate > 36.0, "{f:?}");
    }

    #[test]
    fn the_run_out_range_brackets_the_median_and_widens_with_silence() {
        let f = Forecast {
            rate: 10.0,
            sigma: 4.0,
            class: DemandClass::Smooth,
            method: Method::Ses { alpha: 0.2 },
            observed_days: 30,
            shifts: 0,
            peak: None,
        };
        let last = START;
        let r = f.run_out(100.0, last, last).unwrap();
        assert!(
            ((r.likely - last).as_seconds_f64() / DAY - 10.0).abs() < 1e-6,
            "{r:?}"
        );
        assert!(
            r.earliest < r.likely && r.latest.unwrap() > r.likely,
            "{r:?}"
        );
        let later = f.run_out(100.0, last, last + Duration::days(5)).unwrap();
        assert!(later.earliest < r.earliest, "{later:?} vs {r:?}");
        assert!(later.latest.unwrap() > r.latest.unwrap());
        assert_eq!(Forecast::prior(0.0).run_out(5.0, last, last), None);
    }

    #[test]
    fn the_error_is_scaled_against_the_naive_forecast_of_the_same_reports() {
        // Use alternates 7 and 13; the reports saw every day.
        let truth: Vec<f64> = (0..40)
            .map(|d| if d % 2 == 0 { 7.0 } else { 13.0 })
            .collect();
        let seen: Vec<Option<f64>> = truth.iter().map(|u| Some(*u)).collect();
        let m = mase_against(Method::Ses { alpha: 0.1 }, &seen, &truth, 10.0).unwrap();
        // SES stays near 10 (off by 3), the naive forecast is off by 6.
        assert!((m - 0.5).abs() < 0.05, "{m}");
        assert_eq!(
            mase_against(Method::Ses { alpha: 0.1 }, &seen[..5], &truth[..5], 10.0),
            None
        );
    }

    #[test]
    fn silence_is_twice_the_usual_interval_or_a_day() {
        let hourly: Vec<OffsetDateTime> = (0..10).map(|h| START + Duration::hours(h)).collect();
        assert_eq!(silence_limit(&hourly), Duration::hours(2));
        // Two slots reporting together, every 6 hours: the same moment counts once.
        let mut together: Vec<OffsetDateTime> =
            (0..6).map(|i| START + Duration::hours(6 * i)).collect();
        together.extend(together.clone());
        assert_eq!(silence_limit(&together), Duration::hours(12));
        assert_eq!(silence_limit(&hourly[..2]), Duration::days(1));
        let fast: Vec<OffsetDateTime> = (0..10).map(|m| START + Duration::minutes(m)).collect();
        assert_eq!(silence_limit(&fast), Duration::hours(1));
    }

    #[test]
    fn mase_is_below_one_when_the_method_beats_the_naive_forecast() {
        // Noisy steady use around 10: smoothing beats tomorrow-as-today.
        let noisy: Vec<f64> = (0..60)
            .map(|d| 10.0 + if d % 2 == 0 { 3.0 } else { -3.0 })
            .collect();
        let m = mase(Method::Ses { alpha: 0.1 }, &noisy, 10.0).unwrap();
        assert!(m < 1.0, "{m}");
    }
}
