//! One inventory per device slot, fed by DRS SlotStatus calls and Alexa-style sensor events:
//! what is left in the device, what is on hand in the home, and the history of levels that
//! consumption and run-out forecasts come from. Each report runs the reorder rule of
//! [`refill_core::replenish`]: the slot is low when what is in the device, at home and on its
//! way would not cover the product's (learned) delivery time at the service level, as the
//! slot's forecast says (refitted from its history at most once a day, see [`REFIT_EVERY`]).
//! On the third low report in a row, a slot in notify-only mode records a `LowSupply` event,
//! and a slot in smart-reorder mode places an order exactly as a replenish call would.

use crate::store::db::Backend;
use crate::store::devices::CallingDevice;
use crate::store::StoreError;
use crate::store::{from_ms, to_ms, NewOrder};
use crate::Store;
use refill_core::forecast::{Forecast, LevelReport, Peak, EMPTY_SHARE};
use refill_core::inventory::{LowStreak, Reading, ReadingKind, LOW_REPORTS};
use refill_core::replenish::{decide, Decision, LeadTime, Policy, Position};
use refill_core::{OrderPolicy, OrderStatus, Unit};
use serde_json::json;
use sqlx::Row;
use std::collections::HashMap;
use time::{Duration, OffsetDateTime};

/// How often a slot's forecast is fitted again from its history: the reports in between are
/// weighed against the last fit.
pub const REFIT_EVERY: Duration = Duration::days(1);

/// The use a slot is assumed to have before its history says otherwise: a fill lasts about a
/// month.
pub(crate) fn usual_use(capacity: f64) -> f64 {
    capacity / 30.0
}

/// Days in `d`.
fn days(d: Duration) -> f64 {
    d.as_seconds_f64() / 86_400.0
}

/// What a device reports of a slot, in the slot's unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Report {
    /// What is left (DRS SlotStatus, `Alexa.InventoryLevelSensor`).
    Level(f64),
    /// How much was used since the last report (`InventoryConsumed`).
    Consumed(f64),
    /// The consumable was replaced; what the new one holds.
    Replaced(f64),
}

impl Report {
    fn source(self, slot_status: bool) -> &'static str {
        match self {
            Report::Level(_) if slot_status => "slot_status",
            Report::Level(_) => "level",
            Report::Consumed(_) => "usage",
            Report::Replaced(_) => "replaced",
        }
    }
}

/// One report of a slot.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SlotReport<'a> {
    /// Which slot.
    pub slot: &'a str,
    /// What it says.
    pub report: Report,
    /// The stock on hand in the home, when the device knows it.
    pub on_hand: Option<f64>,
    /// It came from a DRS SlotStatus call (rather than a sensor event).
    pub slot_status: bool,
}

/// What a report led to.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Recorded; nothing else.
    Recorded,
    /// The slot became low in notify-only mode: a `LowSupply` event was recorded.
    LowSupply,
    /// The slot became low in smart-reorder mode: this order was placed (or the open one
    /// returned, `ORDER_INPROGRESS`).
    Reordered(Box<refill_wire::PressResult>),
    /// ... but the customer asked to approve the device's orders first (or the price rose):
    /// this request waits for them.
    Asked(Box<refill_wire::ApprovalView>),
    /// ... but the order would pass a limit the customer set: nothing was ordered, and a
    /// `ReorderRefused` event says why.
    Refused(String),
}

/// A slot as the low-supply rule needs it.
#[derive(Debug, Clone, PartialEq)]
struct SlotState {
    unit: Unit,
    capacity: f64,
    name: String,
    asin: Option<String>,
    pack: f64,
    remaining: Option<f64>,
    on_hand: f64,
    mode: String,
    minimum: Option<f64>,
    target: Option<f64>,
    streak: LowStreak,
    /// When the last report came.
    last: Option<OffsetDateTime>,
    /// The forecast as last fitted.
    fitted: Option<Fit>,
    /// Ordered for the slot and not yet delivered, in its unit.
    in_transit: f64,
    /// The product's delivery time as its deliveries taught it, if any arrived.
    lead_time: Option<LeadTime>,
}

/// The most slot states the writer keeps between batches; past it, it starts again.
const SLOT_CACHE_MAX: usize = 50_000;

/// The slot states as the writer's last batch of reports committed them, so that the next
/// batch need not read them again (SQLite only).
///
/// They are trusted only while SQLite's `PRAGMA data_version` of the writer's connection is the
/// one they were committed under: it changes whenever another connection (the API's own
/// writes, the fulfilment, another process) commits to the file, and the writer reads it inside
/// its write transaction, so nothing can change in between. The writer empties the cache after
/// a batch with other writes in it and after a failed one.
#[derive(Debug, Default)]
pub(crate) struct SlotCache {
    version: Option<i64>,
    states: HashMap<(i64, String), SlotState>,
}

impl SlotCache {
    /// Forgets every state.
    pub(crate) fn clear(&mut self) {
        self.version = None;
        self.states.clear();
    }
}

/// Slot states by (device id, slot id).
type SlotStates = HashMap<(i64, String), SlotState>;

/// The slots as the low-supply rule needs them, read on `conn` in one query, by (device id,
/// slot id); a slot the device's model does not have is left out. `begin`, when given, is sent
/// first in the same query; the value of a one-column row it answers (`PRAGMA data_version`)
/// comes back too.
async fn slot_states(
    conn: &mut crate::store::db::DbConnection,
    wanted: &[(i64, &str, &str)],
    mut begin: Option<&str>,
) -> Result<(SlotStates, Option<i64>), sqlx::Error> {
    let mut states = HashMap::new();
    let mut version = None;
    if wanted.is_empty() {
        if let Some(begin) = begin {
            for row in sqlx::query(begin).fetch_all(&mut *conn).await? {
                version = Some(row.try_get(0)?);
            }
        }
    }
    for chunk in wanted.chunks(200) {
        let values = crate::store::db::rows_of_placeholders(
            crate::store::db::backend_of(conn),
            chunk.len(),
            3,
        );
        let sql = format!(
            "{}WITH wanted(device_id, slot_id, model_id) AS (VALUES {values}) \
             SELECT w.device_id, w.slot_id, s.unit, s.capacity, s.name, ds.asin, \
                    COALESCE(p.pack_quantity, s.capacity) AS pack_quantity, i.remaining, i.on_hand, i.mode, i.minimum, i.target, \
                    i.low_reports, i.low_acted, i.forecast_rate, i.forecast_sigma, \
                    i.forecast_every_days, i.forecast_at_ms, i.forecast_peak, \
                    i.forecast_peak_days, i.last_report_ms, \
                    lt.mean_days, lt.sd_days, lt.deliveries, \
                    (SELECT COALESCE(SUM(o.quantity * op.pack_quantity), 0.0) \
                     FROM orders o JOIN products op ON op.asin = o.asin \
                     WHERE o.device_id = w.device_id AND o.slot_id = w.slot_id \
                       AND o.status IN ('placed', 'shipped')) AS in_transit \
             FROM wanted w JOIN slots s ON s.model_id = w.model_id AND s.slot_id = w.slot_id \
             LEFT JOIN device_slots ds ON ds.device_id = w.device_id AND ds.slot_id = s.slot_id \
             LEFT JOIN products p ON p.asin = ds.asin \
             LEFT JOIN lead_times lt ON lt.asin = ds.asin \
             LEFT JOIN slot_inventory i ON i.device_id = w.device_id AND i.slot_id = s.slot_id",
            begin.take().unwrap_or_default()
        );
        let mut query = sqlx::query(&sql);
        for (device, slot, model) in chunk {
            query = query.bind(device).bind(*slot).bind(*model);
        }
        for row in query.fetch_all(&mut *conn).await? {
            if row.len() == 1 {
                version = Some(row.try_get(0)?);
                continue;
            }
            let key = (row.try_get("device_id")?, row.try_get("slot_id")?);
            states.insert(key, state_from_row(&row)?);
        }
    }
    Ok((states, version))
}

fn state_from_row(row: &crate::store::db::DbRow) -> Result<SlotState, sqlx::Error> {
    let unit: String = row.try_get("unit")?;
    let reports: Option<i64> = row.try_get("low_reports")?;
    let acted = row.try_get::<Option<i64>, _>("low_acted")?.map(|n| n != 0);
    let number = |name: &str| -> Result<f64, sqlx::Error> {
        Ok(row.try_get::<Option<f64>, _>(name)?.unwrap_or(0.0))
    };
    Ok(SlotState {
        unit: Unit::parse(&unit).unwrap_or(Unit::Count),
        capacity: row.try_get("capacity")?,
        name: row.try_get("name")?,
        asin: row.try_get("asin")?,
        pack: number("pack_quantity")?,
        remaining: row.try_get("remaining")?,
        on_hand: number("on_hand")?,
        mode: row
            .try_get::<Option<String>, _>("mode")?
            .unwrap_or_else(|| "notify".to_owned()),
        minimum: row.try_get("minimum")?,
        target: row.try_get("target")?,
        streak: LowStreak {
            reports: u32::try_from(reports.unwrap_or(0)).unwrap_or(0),
            acted: acted.unwrap_or(false),
        },
        last: row
            .try_get::<Option<i64>, _>("last_report_ms")?
            .map(from_ms),
        fitted: match (
            row.try_get::<Option<f64>, _>("forecast_rate")?,
            row.try_get::<Option<f64>, _>("forecast_sigma")?,
            row.try_get::<Option<f64>, _>("forecast_every_days")?,
            row.try_get::<Option<i64>, _>("forecast_at_ms")?,
        ) {
            (Some(rate), Some(sigma), Some(every_days), Some(at)) => Some(Fit {
                rate,
                sigma,
                every_days,
                at: from_ms(at),
                peak: match (
                    row.try_get::<Option<f64>, _>("forecast_peak")?,
                    row.try_get::<Option<f64>, _>("forecast_peak_days")?,
                ) {
                    (Some(amount), Some(days)) if days > 0.0 => Some(Peak { days, amount }),
                    _ => None,
                },
            }),
            _ => None,
        },
        in_transit: number("in_transit")?,
        lead_time: lead_time_from_row(row)?,
    })
}

/// The learned lead time in `row` (`mean_days`, `sd_days`, `deliveries`), if any.
fn lead_time_from_row(row: &crate::store::db::DbRow) -> Result<Option<LeadTime>, sqlx::Error> {
    Ok(
        match (
            row.try_get::<Option<f64>, _>("mean_days")?,
            row.try_get::<Option<f64>, _>("sd_days")?,
            row.try_get::<Option<i64>, _>("deliveries")?,
        ) {
            (Some(mean_days), Some(sd_days), Some(deliveries)) => Some(LeadTime {
                mean_days,
                sd_days,
                deliveries: u32::try_from(deliveries).unwrap_or(u32::MAX),
            }),
            _ => None,
        },
    )
}

/// A slot's forecast as last fitted from its history.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Fit {
    /// Use per day.
    rate: f64,
    /// Its spread per day.
    sigma: f64,
    /// Days between the slot's reports, usually.
    every_days: f64,
    /// When.
    at: OffsetDateTime,
    /// The heaviest use over the reorder rule's window, once the history shows it.
    peak: Option<Peak>,
}

impl Fit {
    /// The fit of a slot of `capacity` from its level `history` (oldest first), at `at`, its
    /// product delivered in `lead_time` (see [`need`]).
    fn of(
        history: &[Reading],
        capacity: f64,
        at: OffsetDateTime,
        (lead_time, policy): (Option<LeadTime>, &OrderPolicy),
    ) -> Fit {
        let every_days = report_every(history);
        let forecast = fit(history, capacity, &rule(every_days, lead_time, policy));
        Fit {
            rate: forecast.rate,
            sigma: forecast.sigma,
            every_days,
            at,
            peak: forecast.peak,
        }
    }

    /// As a forecast the reorder rule weighs.
    fn forecast(&self) -> Forecast {
        Forecast {
            rate: self.rate,
            sigma: self.sigma,
            peak: self.peak,
            ..Forecast::prior(self.rate)
        }
    }
}

/// Days between a slot's reports in `history` (oldest first), usually: the median gap, a day
/// until there are a few, between an hour and a week. A pack opening of an item without a
/// device comes when the pack is used up, not on a schedule: the gaps before them don't count.
fn report_every(history: &[Reading]) -> f64 {
    let mut gaps: Vec<f64> = history
        .windows(2)
        .filter(|w| w[1].kind != ReadingKind::Opened)
        .map(|w| days(w[1].at - w[0].at))
        .filter(|d| *d > 0.0)
        .collect();
    if gaps.len() < 3 {
        return 1.0;
    }
    gaps.sort_by(f64::total_cmp);
    gaps[gaps.len() / 2].clamp(1.0 / 24.0, 7.0)
}

/// What the reorder rule decides for a slot at `position`, in packs of `pack`, used as
/// `forecast` says and reporting every `every_days`, its product delivered in `lead_time` (not
/// learned yet: as the order policy promises), with the customer's own `minimum` and `target`
/// where set. The one rule behind reports, the slot's page and its notices. A need is acted on
/// at the [`LOW_REPORTS`]th low report in a row, so that many reports are the review period.
fn need(
    (forecast, every_days): (&Forecast, f64),
    position: Position,
    pack: f64,
    lead_time: Option<LeadTime>,
    (minimum, target): (Option<f64>, Option<f64>),
    policy: &OrderPolicy,
) -> Decision {
    let rule = rule(every_days, lead_time, policy);
    decide(&rule, forecast, position, pack, (minimum, target))
}

/// The reorder rule's policy for a slot reporting every `every_days` whose product is
/// delivered in `lead_time` (not learned yet: as the order `policy` promises).
fn rule(every_days: f64, lead_time: Option<LeadTime>, policy: &OrderPolicy) -> Policy {
    let lead_time = lead_time.unwrap_or_else(|| LeadTime::prior(days(policy.delivery_time)));
    Policy {
        review_days: f64::from(LOW_REPORTS) * every_days,
        ..Policy::new(lead_time)
    }
}

/// The forecast of a slot of `capacity` from its level `history` (oldest first), with the
/// heaviest use it shows over `rule`'s window.
fn fit(history: &[Reading], capacity: f64, rule: &Policy) -> Forecast {
    let reports: Vec<LevelReport> = history
        .iter()
        .filter_map(|r| match r.kind {
            ReadingKind::Opened => Some(LevelReport::opened(r.at, r.remaining)),
            ReadingKind::Measured => Some(LevelReport::new(r.at, r.remaining)),
            ReadingKind::Estimated => None,
        })
        .collect();
    let (forecast, use_) = Forecast::of_levels(&reports, capacity, usual_use(capacity));
    rule.with_peak(forecast, &use_)
}

impl Store {
    /// The slot's unit and capacity, or `None` when the device's model has no such slot.
    pub async fn slot_unit(
        &self,
        device: &CallingDevice,
        slot: &str,
    ) -> Result<Option<(Unit, f64)>, sqlx::Error> {
        let row =
            sqlx::query("SELECT unit, capacity FROM slots WHERE model_id = $1 AND slot_id = $2")
                .bind(&device.model)
                .bind(slot)
                .fetch_optional(self.pool())
                .await?;
        row.map(|row| {
            let unit: String = row.try_get("unit")?;
            Ok((
                Unit::parse(&unit).unwrap_or(Unit::Count),
                row.try_get("capacity")?,
            ))
        })
        .transpose()
    }

    /// Records what the device reports of a slot, then applies the low-supply rule, in one
    /// group-committed transaction with the other reports that came in meanwhile (a smart
    /// reorder's order included). `None` when the model has no such slot.
    pub async fn report(
        &self,
        device: &CallingDevice,
        reported: &SlotReport<'_>,
        now: OffsetDateTime,
        policy: &OrderPolicy,
    ) -> Result<Option<Outcome>, StoreError> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        self.queue_report(ReportJob {
            device: device.clone(),
            slot: reported.slot.to_owned(),
            report: reported.report,
            on_hand: reported.on_hand,
            slot_status: reported.slot_status,
            now,
            policy: *policy,
            answer,
        })
        .await?;
        // No answer: the batch failed before it came to this report (the writer logged why).
        answered.await.map_err(|_| {
            StoreError::Database(sqlx::Error::Protocol(
                "the report could not be recorded".to_owned(),
            ))
        })?
    }

    /// Changes the slot's mode, thresholds and stock at home (`None` leaves a value as it is;
    /// a threshold of `Some(None)` goes back to the default), if its settings are still at
    /// `expected` (when given): otherwise nothing changes and the current version is returned.
    /// Every change bumps the version.
    pub async fn change_slot(
        &self,
        (device_id, slot): (i64, &str),
        change: &SlotChange,
        expected: Option<i64>,
        now: OffsetDateTime,
    ) -> Result<Result<(), SlotChanged>, sqlx::Error> {
        let mut tx = self.write().await?;
        let current: i64 = sqlx::query_scalar(
            "SELECT settings_version FROM slot_inventory WHERE device_id = $1 AND slot_id = $2",
        )
        .bind(device_id)
        .bind(slot)
        .fetch_optional(&mut *tx)
        .await?
        .unwrap_or(0);
        if expected.is_some_and(|v| v != current) {
            return Ok(Err(SlotChanged { version: current }));
        }
        // Numbers are always bound (0 when absent), with flags saying which apply: a NULL
        // parameter's type is not the same to every driver, and PostgreSQL keeps the first one
        // it saw for the prepared statement.
        let value = |v: Option<f64>| v.unwrap_or(0.0);
        sqlx::query(
            "INSERT INTO slot_inventory (device_id, slot_id, mode, minimum, target, on_hand, \
                 updated_at_ms, settings_version) \
             VALUES ($1, $2, COALESCE($3, 'notify'), \
                 CASE WHEN $10 THEN $5 ELSE NULL END, CASE WHEN $11 THEN $7 ELSE NULL END, \
                 CASE WHEN $12 THEN $8 ELSE 0 END, $9, 1) \
             ON CONFLICT (device_id, slot_id) DO UPDATE SET \
                 mode = COALESCE($3, slot_inventory.mode), \
                 minimum = CASE WHEN $4 THEN (CASE WHEN $10 THEN $5 ELSE NULL END) \
                     ELSE slot_inventory.minimum END, \
                 target = CASE WHEN $6 THEN (CASE WHEN $11 THEN $7 ELSE NULL END) \
                     ELSE slot_inventory.target END, \
                 on_hand = CASE WHEN $12 THEN $8 ELSE slot_inventory.on_hand END, \
                 updated_at_ms = $9, \
                 settings_version = slot_inventory.settings_version + 1",
        )
        .bind(device_id)
        .bind(slot)
        .bind(change.reorder.map(|r| if r { "reorder" } else { "notify" }))
        .bind(change.minimum.is_some())
        .bind(value(change.minimum.flatten()))
        .bind(change.target.is_some())
        .bind(value(change.target.flatten()))
        .bind(value(change.on_hand))
        .bind(to_ms(now))
        .bind(change.minimum.flatten().is_some())
        .bind(change.target.flatten().is_some())
        .bind(change.on_hand.is_some())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Ok(()))
    }
}

/// A change to a slot's settings (see [`Store::change_slot`]).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SlotChange {
    /// Smart reorder (`true`) or notify.
    pub reorder: Option<bool>,
    /// The customer's low level; `Some(None)`: back to days of cover.
    pub minimum: Option<Option<f64>>,
    /// The level a reorder brings the stock up to; `Some(None)`: one pack.
    pub target: Option<Option<f64>>,
    /// The stock at home.
    pub on_hand: Option<f64>,
}

/// A change refused because the slot's settings changed since they were read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotChanged {
    /// Their version now.
    pub version: i64,
}

/// The view of `forecast`, for a slot with `history` (oldest first) and `remaining` left,
/// seen at `now`; an item without a device (`home`) is never silent.
fn forecast_view(
    (forecast, home): (&Forecast, bool),
    history: &[Reading],
    capacity: f64,
    remaining: Option<f64>,
    now: OffsetDateTime,
) -> refill_wire::ForecastView {
    use refill_core::forecast::MIN_HISTORY_DAYS;
    let last_report = history.last().map(|r| r.at);
    let empty = |level: f64| level <= capacity * EMPTY_SHARE;
    // While it is empty: since the first of the empty reports at the end.
    let ran_out = match remaining {
        Some(level) if empty(level) => history
            .iter()
            .rev()
            .take_while(|r| empty(r.remaining))
            .last()
            .map(|r| r.at),
        _ => None,
    };
    let range = match (remaining, last_report, ran_out) {
        (Some(level), Some(last), None) => forecast.run_out(level, last, now),
        _ => None,
    };
    refill_wire::ForecastView {
        demand: (forecast.observed_days >= MIN_HISTORY_DAYS).then(|| {
            serde_json::to_value(forecast.class)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
        }),
        history_days: u32::try_from(forecast.observed_days).unwrap_or(u32::MAX),
        usual_use: round(usual_use(capacity), 1000.0),
        rate: round(forecast.rate, 1000.0),
        likely: range.map(|r| r.likely),
        earliest: range.map(|r| r.earliest),
        latest: range.and_then(|r| r.latest),
        ran_out,
        silent_since: last_report.filter(|&last| !home && silent(history, last, now)),
        last_report,
    }
}

/// Whether a slot whose reports are `history` (oldest first), the last at `last`, is silent at
/// `now` (see [`refill_core::forecast::silence_limit`]).
fn silent(history: &[Reading], last: OffsetDateTime, now: OffsetDateTime) -> bool {
    let times: Vec<OffsetDateTime> = history.iter().map(|r| r.at).collect();
    now - last > refill_core::forecast::silence_limit(&times)
}

/// A report waiting for the writer.
pub(crate) struct ReportJob {
    device: CallingDevice,
    slot: String,
    report: Report,
    on_hand: Option<f64>,
    slot_status: bool,
    now: OffsetDateTime,
    policy: OrderPolicy,
    answer: tokio::sync::oneshot::Sender<Result<Option<Outcome>, StoreError>>,
}

/// What every event about a report's slot says: the device, the slot and its product.
fn slot_body(job: &ReportJob, state: &SlotState) -> serde_json::Value {
    json!({
        "serial": job.device.serial,
        "model": job.device.model,
        "slotId": job.slot,
        "slotName": state.name,
        "asin": state.asin,
    })
}

/// A report's caller and what to tell it once the batch is committed.
pub(crate) type ReportAnswer = (
    tokio::sync::oneshot::Sender<Result<Option<Outcome>, StoreError>>,
    Result<Option<Outcome>, StoreError>,
);

impl ReportJob {
    /// Tells the caller the batch failed.
    pub(crate) fn fail(self, why: &str) {
        let _ = self
            .answer
            .send(Err(StoreError::Database(sqlx::Error::Protocol(
                why.to_owned(),
            ))));
    }
}

/// What one report did to its slot.
struct Step {
    remaining: f64,
    /// What the reorder rule decided.
    need: Decision,
    /// This report made the slot low (the third low one in a row).
    became_low: bool,
}

impl SlotState {
    /// Whether its forecast is to be fitted again before a report at `now`.
    fn refit_due(&self, now: OffsetDateTime) -> bool {
        self.fitted
            .is_none_or(|fit| now - fit.at >= REFIT_EVERY || now < fit.at)
    }

    /// Fits its forecast again from `history` (oldest first), at `now`, its product
    /// delivered as `policy` promises until its deliveries say otherwise.
    fn refit(&mut self, history: &[Reading], now: OffsetDateTime, policy: &OrderPolicy) {
        self.fitted = Some(Fit::of(
            history,
            self.capacity,
            now,
            (self.lead_time, policy),
        ));
    }

    /// The forecast the reorder rule weighs: as fitted, or the usual use until then.
    fn forecast(&self) -> Forecast {
        self.fitted.map_or_else(
            || Forecast::prior(usual_use(self.capacity)),
            |fit| fit.forecast(),
        )
    }

    /// Applies `job`'s report to the slot, with the reorder rule.
    fn apply(&mut self, job: &ReportJob) -> Step {
        let before = self.remaining;
        let remaining = match job.report {
            Report::Level(level) | Report::Replaced(level) => level,
            Report::Consumed(used) => (before.unwrap_or(self.capacity) - used).max(0.0),
        };
        let refilled = matches!(job.report, Report::Replaced(_))
            || before.is_some_and(|before| remaining > before);
        self.remaining = Some(remaining);
        self.last = Some(job.now);
        match job.on_hand {
            Some(on_hand) => self.on_hand = on_hand,
            // The new pack came from the home's stock.
            None if refilled && before.is_some() => {
                self.on_hand = (self.on_hand - self.pack).max(0.0);
            }
            None => {}
        }
        let every = self.fitted.map_or(1.0, |fit| fit.every_days);
        let need = need(
            (&self.forecast(), every),
            Position {
                remaining,
                on_hand: self.on_hand,
                in_transit: self.in_transit,
            },
            self.pack,
            self.lead_time,
            (self.minimum, self.target),
            &job.policy,
        );
        Step {
            remaining,
            need,
            became_low: self.streak.observe(need != Decision::Enough),
        }
    }
}

impl ReportJob {
    /// The slot it reports on, as slot states are keyed.
    fn key(&self) -> (i64, String) {
        (self.device.id, self.slot.clone())
    }

    /// The level it records, `remaining` being what is left after it.
    fn level(&self, remaining: f64) -> LevelRow {
        (
            self.device.id,
            self.slot.clone(),
            to_ms(self.now),
            remaining,
            self.report.source(self.slot_status),
        )
    }
}

impl SlotCache {
    /// Keeps `states` as the batch under the cache's version committed them.
    fn keep(&mut self, states: SlotStates) {
        if self.states.len() + states.len() > SLOT_CACHE_MAX {
            self.states.clear();
        }
        for (key, mut state) in states {
            // As the database holds it: to the millisecond.
            let ms = |t: OffsetDateTime| from_ms(to_ms(t));
            state.last = state.last.map(ms);
            state.fitted = state.fitted.map(|fit| Fit {
                at: ms(fit.at),
                ..fit
            });
            self.states.insert(key, state);
        }
    }
}

/// Applies `jobs`, in order, in the caller's transaction: one read of all their slots, one
/// insert of their levels, one write of the slots' inventories and one of their low-supply
/// events, whatever their number (the rarer reorders are placed one by one).
///
/// With a `cache` (SQLite only), no transaction is open yet. When the cache holds every slot
/// and no report makes one low, the whole batch is one query (see [`from_cache`]); otherwise
/// the first query opens the transaction (and reads what the cache lacks, or everything when
/// another connection has written since) and the last write commits it.
pub(crate) async fn report_batch(
    conn: &mut crate::store::db::DbConnection,
    jobs: Vec<ReportJob>,
    cache: Option<&mut SlotCache>,
) -> Result<Vec<ReportAnswer>, sqlx::Error> {
    // Each slot once, however many of its reports the batch holds.
    let mut wanted: Vec<(i64, &str, &str)> = jobs
        .iter()
        .map(|j| (j.device.id, j.slot.as_str(), j.device.model.as_str()))
        .collect();
    wanted.sort_unstable();
    wanted.dedup();
    let own_transaction = cache.is_some();
    let (mut states, cache) = match cache {
        None => (slot_states(conn, &wanted, None).await?.0, None),
        Some(cache) => {
            if from_cache(conn, &jobs, &wanted, cache).await? {
                return Ok(jobs
                    .into_iter()
                    .map(|job| (job.answer, Ok(Some(Outcome::Recorded))))
                    .collect());
            }
            let key = |w: &(i64, &str, &str)| (w.0, w.1.to_owned());
            let (uncached, cached): (Vec<_>, Vec<_>) = wanted
                .iter()
                .partition(|w| !cache.states.contains_key(&key(w)));
            let begin = "BEGIN IMMEDIATE;\nPRAGMA data_version;\n";
            let (mut states, version) = slot_states(conn, &uncached, Some(begin)).await?;
            if version.is_some() && version == cache.version {
                for w in &cached {
                    if let Some(state) = cache.states.remove(&key(w)) {
                        states.insert(key(w), state);
                    }
                }
            } else {
                cache.clear();
                states.extend(slot_states(conn, &cached, None).await?.0);
            }
            cache.version = version;
            (states, Some(cache))
        }
    };
    let mut levels = Vec::with_capacity(jobs.len());
    let mut touched: Vec<(i64, String)> = Vec::new();
    let mut answers = Vec::with_capacity(jobs.len());
    let mut low_events = Vec::new();
    for job in jobs {
        let key = job.key();
        let Some(state) = states.get_mut(&key) else {
            answers.push((job.answer, Ok(None)));
            continue;
        };
        if state.refit_due(job.now) {
            let history = levels_of(conn, key.0, &key.1, job.now - FORECAST_WINDOW).await?;
            state.refit(&history, job.now, &job.policy);
        }
        let Step {
            remaining,
            need,
            became_low,
        } = state.apply(&job);
        levels.push(job.level(remaining));
        if !touched.contains(&key) {
            touched.push(key);
        }
        let reorder = became_low && state.mode == "reorder" && state.asin.is_some();
        let outcome = if reorder {
            let order = NewOrder {
                customer: job.device.customer_id,
                asin: state.asin.as_deref().unwrap_or_default(),
                device: Some((job.device.id, &job.slot)),
                test: job.device.is_test,
                quantity: match need {
                    Decision::Order(packs) => packs,
                    Decision::Enough => 1,
                },
                pressed_on: None,
            };
            let said = crate::store::say::device_order_in(
                conn,
                &job.device,
                &order,
                (job.now, &job.policy),
            )
            .await;
            match said {
                Ok(crate::store::say::SaidOrder::Placed(placed)) => {
                    if placed.detail_code == refill_wire::DetailCode::StandardOrderPlaced {
                        state.in_transit += f64::from(order.quantity) * state.pack;
                    }
                    Ok(Some(Outcome::Reordered(placed)))
                }
                Ok(crate::store::say::SaidOrder::Asked(approval)) => {
                    Ok(Some(Outcome::Asked(approval)))
                }
                Ok(crate::store::say::SaidOrder::Refused(words)) => {
                    let mut body = slot_body(&job, state);
                    body["message"] = json!(words);
                    record_event(
                        conn,
                        job.device.customer_id,
                        Some(job.device.id),
                        "ReorderRefused",
                        &body,
                        job.now,
                    )
                    .await?;
                    Ok(Some(Outcome::Refused(words)))
                }
                Err(StoreError::Database(e)) => return Err(e),
                Err(e) => Err(e),
            }
        } else if became_low {
            // What is in the device and at home lasts: when it runs out, as a range.
            let lasts = state
                .forecast()
                .run_out(remaining + state.on_hand, job.now, job.now);
            let days_to = |t: OffsetDateTime| round(days(t - job.now), 10.0);
            let rfc3339 = |t: OffsetDateTime| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default()
            };
            let mut body = slot_body(&job, state);
            for (key, value) in [
                ("remaining", json!(remaining)),
                ("unit", json!(state.unit.as_str())),
                ("onHand", json!(state.on_hand)),
                ("daysLeft", json!(lasts.map(|r| days_to(r.likely)))),
                ("daysLeftAtLeast", json!(lasts.map(|r| days_to(r.earliest)))),
                (
                    "daysLeftAtMost",
                    json!(lasts.and_then(|r| r.latest).map(days_to)),
                ),
                ("runOut", json!(lasts.map(|r| rfc3339(r.likely)))),
            ] {
                body[key] = value;
            }
            low_events.push(NewEvent {
                customer: job.device.customer_id,
                device: Some(job.device.id),
                kind: "LowSupply",
                body: body.to_string(),
                at: job.now,
            });
            Ok(Some(Outcome::LowSupply))
        } else {
            Ok(Some(Outcome::Recorded))
        };
        answers.push((job.answer, outcome));
    }
    record_events(conn, &low_events).await?;
    let finish = if own_transaction {
        Finish::Commit
    } else {
        Finish::Leave
    };
    write_levels_and_inventory(conn, &levels, &touched, &states, finish).await?;
    if let Some(cache) = cache {
        cache.keep(states);
    }
    Ok(answers)
}

/// The batch of `jobs` (their slots `wanted`) on the cached slot states alone, in one query
/// that opens the transaction, writes only if `PRAGMA data_version` is still the cache's
/// (nobody else wrote since), and commits: whether it was written. It is not when the cache
/// lacks a slot, a report makes a slot low (a notice or an order to make: the long way), or
/// another connection has written (then the cache is emptied; the committed transaction is
/// empty).
async fn from_cache(
    conn: &mut crate::store::db::DbConnection,
    jobs: &[ReportJob],
    wanted: &[(i64, &str, &str)],
    cache: &mut SlotCache,
) -> Result<bool, sqlx::Error> {
    let Some(version) = cache.version else {
        return Ok(false);
    };
    let mut trial = SlotStates::with_capacity(wanted.len());
    for (device, slot, _) in wanted {
        let key = (*device, (*slot).to_owned());
        let Some(state) = cache.states.get(&key) else {
            return Ok(false);
        };
        trial.insert(key, state.clone());
    }
    let mut levels = Vec::with_capacity(jobs.len());
    let mut touched: Vec<(i64, String)> = Vec::new();
    for job in jobs {
        let key = job.key();
        let Some(state) = trial.get_mut(&key) else {
            return Ok(false);
        };
        if state.refit_due(job.now) {
            return Ok(false);
        }
        let step = state.apply(job);
        if step.became_low {
            return Ok(false);
        }
        levels.push(job.level(step.remaining));
        if !touched.contains(&key) {
            touched.push(key);
        }
    }
    let written = write_levels_and_inventory(
        conn,
        &levels,
        &touched,
        &trial,
        Finish::CommitIfUnchanged(version),
    )
    .await?;
    if written {
        cache.keep(trial);
    } else {
        cache.clear();
    }
    Ok(written)
}

/// A level to record: device, slot, when, what was left, from what kind of report.
type LevelRow = (i64, String, i64, f64, &'static str);

/// How [`write_levels_and_inventory`] deals with the transaction.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Finish {
    /// The caller commits it.
    Leave,
    /// Commits it (SQLite only: in the same query).
    Commit,
    /// Opens it, writes only if SQLite's `PRAGMA data_version` is this one, and commits it, all
    /// in one query (SQLite only).
    CommitIfUnchanged(i64),
}

/// Inserts `levels` and writes the inventories of the `touched` slots, in as few statements as
/// the limits on values allow; whether they were written (see [`Finish::CommitIfUnchanged`]).
/// On SQLite they go as one query (one round trip to its connection thread), with the
/// transaction's ends as `finish` says; PostgreSQL takes one statement with values per query.
async fn write_levels_and_inventory(
    conn: &mut crate::store::db::DbConnection,
    levels: &[LevelRow],
    touched: &[(i64, String)],
    states: &SlotStates,
    finish: Finish,
) -> Result<bool, sqlx::Error> {
    /// What a statement writes: nothing to bind, or a range of levels or of inventories.
    enum Rows {
        None,
        Levels(std::ops::Range<usize>),
        Inventories(std::ops::Range<usize>),
    }
    let backend = crate::store::db::backend_of(conn);
    let guard = match finish {
        Finish::CommitIfUnchanged(version) => Some(version),
        Finish::Leave | Finish::Commit => None,
    };
    // `VALUES …`, or with a guard the same rows selected only while the version holds.
    let values = |rows: usize, columns: usize| {
        let rows = crate::store::db::rows_of_placeholders(backend, rows, columns);
        match guard {
            None => format!("VALUES {rows}"),
            Some(_) => format!(
                "SELECT * FROM (VALUES {rows}) \
                 WHERE (SELECT data_version FROM pragma_data_version) = ?"
            ),
        }
    };
    let mut statements: Vec<(String, Rows)> = Vec::new();
    if guard.is_some() {
        statements.push(("BEGIN IMMEDIATE".to_owned(), Rows::None));
    }
    for (n, chunk) in levels.chunks(150).enumerate() {
        statements.push((
            format!(
                "INSERT INTO slot_levels (device_id, slot_id, at_ms, remaining, source) {}",
                values(chunk.len(), 5)
            ),
            Rows::Levels(n * 150..n * 150 + chunk.len()),
        ));
    }
    for (n, chunk) in touched.chunks(80).enumerate() {
        statements.push((
            format!(
                "INSERT INTO slot_inventory (device_id, slot_id, remaining, on_hand, \
                     low_reports, low_acted, forecast_rate, forecast_sigma, \
                     forecast_every_days, forecast_at_ms, forecast_peak, forecast_peak_days, \
                     last_report_ms, updated_at_ms) \
                 {} \
                 ON CONFLICT (device_id, slot_id) DO UPDATE SET remaining = excluded.remaining, \
                     settings_version = slot_inventory.settings_version + \
                         CASE WHEN slot_inventory.on_hand IS DISTINCT FROM excluded.on_hand \
                         THEN 1 ELSE 0 END, \
                     on_hand = excluded.on_hand, low_reports = excluded.low_reports, \
                     low_acted = excluded.low_acted, forecast_rate = excluded.forecast_rate, \
                     forecast_sigma = excluded.forecast_sigma, \
                     forecast_every_days = excluded.forecast_every_days, \
                     forecast_at_ms = excluded.forecast_at_ms, \
                     forecast_peak = excluded.forecast_peak, \
                     forecast_peak_days = excluded.forecast_peak_days, \
                     last_report_ms = excluded.last_report_ms, \
                     updated_at_ms = excluded.updated_at_ms",
                values(chunk.len(), 14)
            ),
            Rows::Inventories(n * 80..n * 80 + chunk.len()),
        ));
    }
    if guard.is_some() {
        // What the writes were checked against, read back before the commit.
        statements.push((
            "SELECT data_version FROM pragma_data_version".to_owned(),
            Rows::None,
        ));
    }
    if finish != Finish::Leave {
        statements.push(("COMMIT".to_owned(), Rows::None));
    }
    // The statements sent as one query each (PostgreSQL) or all in one (SQLite).
    let groups: Vec<std::ops::Range<usize>> = match backend {
        Backend::Sqlite if !statements.is_empty() => std::iter::once(0..statements.len()).collect(),
        Backend::Sqlite => Vec::new(),
        Backend::Postgres => (0..statements.len()).map(|i| i..i + 1).collect(),
    };
    let mut unchanged = true;
    for group in groups {
        let sql = group
            .clone()
            .map(|i| statements[i].0.as_str())
            .collect::<Vec<_>>()
            .join(";\n");
        let mut query = sqlx::query(&sql);
        for (_, rows) in &statements[group] {
            match rows {
                Rows::None => continue,
                Rows::Levels(range) => {
                    for (device, slot, at, remaining, source) in &levels[range.clone()] {
                        query = query
                            .bind(*device)
                            .bind(slot.as_str())
                            .bind(*at)
                            .bind(*remaining)
                            .bind(*source);
                    }
                }
                Rows::Inventories(range) => {
                    for key in &touched[range.clone()] {
                        let state = &states[key];
                        let last = state.last.map(to_ms);
                        // Bound as numbers (0 before the first fit, which every report makes):
                        // see `change_slot` on NULL parameters.
                        let fit = state.fitted.unwrap_or(Fit {
                            rate: 0.0,
                            sigma: 0.0,
                            every_days: 1.0,
                            at: from_ms(0),
                            peak: None,
                        });
                        // No peak: days 0.
                        let peak = fit.peak.unwrap_or(Peak {
                            days: 0.0,
                            amount: 0.0,
                        });
                        query = query
                            .bind(key.0)
                            .bind(key.1.as_str())
                            .bind(state.remaining)
                            .bind(state.on_hand)
                            .bind(i64::from(state.streak.reports))
                            .bind(i64::from(state.streak.acted))
                            .bind(fit.rate)
                            .bind(fit.sigma)
                            .bind(fit.every_days)
                            .bind(to_ms(fit.at))
                            .bind(peak.amount)
                            .bind(peak.days)
                            .bind(last)
                            .bind(last);
                    }
                }
            }
            if let Some(version) = guard {
                query = query.bind(version);
            }
        }
        match guard {
            Some(version) => {
                let rows = query.fetch_all(&mut *conn).await?;
                unchanged = !rows.is_empty();
                for row in rows {
                    unchanged &= row.try_get::<i64, _>(0)? == version;
                }
            }
            None => {
                query.execute(&mut *conn).await?;
            }
        }
    }
    Ok(unchanged)
}

/// `value` rounded to `1 / per` (per = 10: one decimal).
fn round(value: f64, per: f64) -> f64 {
    (value * per).round() / per
}

/// How far back a slot's forecast reads its levels.
const FORECAST_WINDOW: Duration = Duration::days(60);

/// The slot's levels since `since`, oldest first.
async fn levels_of(
    conn: &mut crate::store::db::DbConnection,
    device: i64,
    slot: &str,
    since: OffsetDateTime,
) -> Result<Vec<Reading>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT l.at_ms, l.remaining, \
                CAST(CASE WHEN m.home_of IS NULL OR l.remaining <= 0 THEN 0 \
                          WHEN l.source = 'replaced' THEN 1 ELSE 2 END AS BIGINT) AS kind \
         FROM slot_levels l JOIN devices d ON d.id = l.device_id \
         JOIN device_models m ON m.model_id = d.model_id \
         WHERE l.device_id = $1 AND l.slot_id = $2 AND l.at_ms >= $3 ORDER BY l.at_ms, l.id",
    )
    .bind(device)
    .bind(slot)
    .bind(to_ms(since))
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(Reading {
                at: from_ms(row.try_get("at_ms")?),
                remaining: row.try_get("remaining")?,
                kind: match row.try_get::<i64, _>("kind")? {
                    1 => ReadingKind::Opened,
                    2 => ReadingKind::Estimated,
                    _ => ReadingKind::Measured,
                },
            })
        })
        .collect()
}

/// Records an event for the customer (the app's stream and the makers' notifications read
/// them), in the caller's transaction.
pub(crate) async fn record_event(
    conn: &mut crate::store::db::DbConnection,
    customer: i64,
    device: Option<i64>,
    kind: &'static str,
    body: &serde_json::Value,
    now: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    let event = NewEvent {
        customer,
        device,
        kind,
        body: body.to_string(),
        at: now,
    };
    record_events(conn, std::slice::from_ref(&event)).await
}

/// An event to record.
pub(crate) struct NewEvent {
    customer: i64,
    device: Option<i64>,
    kind: &'static str,
    /// The details, as JSON text.
    body: String,
    at: OffsetDateTime,
}

/// Records `events` in the caller's transaction, in order, with one insert for them all and one
/// for the makers' webhook deliveries of those that concern a device (queued in the same
/// transaction, so that none is lost).
pub(crate) async fn record_events(
    conn: &mut crate::store::db::DbConnection,
    events: &[NewEvent],
) -> Result<(), sqlx::Error> {
    // 5 values per event: under SQLite's and PostgreSQL's limits on parameters.
    for chunk in events.chunks(150) {
        let sql = format!(
            "INSERT INTO events (customer_id, device_id, kind, body, created_at_ms) VALUES {} \
             RETURNING id",
            crate::store::db::rows_of_placeholders(
                crate::store::db::backend_of(conn),
                chunk.len(),
                5
            )
        );
        let mut insert = sqlx::query_scalar::<_, i64>(&sql);
        for event in chunk {
            insert = insert
                .bind(event.customer)
                .bind(event.device)
                .bind(event.kind)
                .bind(event.body.as_str())
                .bind(to_ms(event.at));
        }
        let ids = insert.fetch_all(&mut *conn).await?;
        if chunk.iter().all(|e| e.device.is_none()) {
            continue;
        }
        let sql = format!(
            "INSERT INTO webhook_deliveries (webhook_id, event_id, next_attempt_ms) \
             SELECT w.id, e.id, e.created_at_ms FROM events e \
             JOIN devices d ON d.id = e.device_id JOIN webhooks w ON w.client_id = d.client_id \
             WHERE e.id IN {}",
            crate::store::db::rows_of_placeholders(
                crate::store::db::backend_of(conn),
                1,
                ids.len()
            )
        );
        let mut deliveries = sqlx::query(&sql);
        for id in ids {
            deliveries = deliveries.bind(id);
        }
        deliveries.execute(&mut *conn).await?;
    }
    Ok(())
}

/// A slot of one of the customer's devices, named as the customer's API names it.
#[derive(Debug, Clone)]
pub struct CustomerSlot {
    /// The device's internal id.
    pub device_id: i64,
    /// The slot.
    pub slot_id: String,
}

impl Store {
    /// The customer's registered device `model`/`serial` and its `slot`, when all exist.
    pub async fn customer_slot(
        &self,
        customer: i64,
        model: &str,
        serial: &str,
        slot: &str,
    ) -> Result<Option<CustomerSlot>, sqlx::Error> {
        let id: Option<i64> = sqlx::query_scalar(
            "SELECT d.id FROM devices d JOIN slots s ON s.model_id = d.model_id \
             WHERE d.customer_id = $1 AND d.model_id = $2 AND d.serial = $3 \
               AND d.deregistered_at_ms IS NULL AND s.slot_id = $4",
        )
        .bind(customer)
        .bind(model)
        .bind(serial)
        .bind(slot)
        .fetch_optional(self.pool())
        .await?;
        Ok(id.map(|device_id| CustomerSlot {
            device_id,
            slot_id: slot.to_owned(),
        }))
    }

    /// The slot's supply, settings, history and forecast.
    pub async fn slot_inventory(
        &self,
        slot: &CustomerSlot,
        now: OffsetDateTime,
        policy: &OrderPolicy,
    ) -> Result<refill_wire::SlotInventory, sqlx::Error> {
        let row = sqlx::query(
            "SELECT s.name, s.unit, s.capacity, i.remaining, i.on_hand, i.mode, i.minimum, \
                    i.target, i.settings_version, m.home_of, \
                    COALESCE(p.pack_quantity, s.capacity) AS pack_quantity, \
                    lt.mean_days, lt.sd_days, lt.deliveries, \
                    (SELECT COALESCE(SUM(o.quantity * op.pack_quantity), 0.0) \
                     FROM orders o JOIN products op ON op.asin = o.asin \
                     WHERE o.device_id = d.id AND o.slot_id = s.slot_id \
                       AND o.status IN ('placed', 'shipped')) AS in_transit \
             FROM devices d JOIN slots s ON s.model_id = d.model_id AND s.slot_id = $2 \
             JOIN device_models m ON m.model_id = d.model_id \
             LEFT JOIN device_slots ds ON ds.device_id = d.id AND ds.slot_id = s.slot_id \
             LEFT JOIN products p ON p.asin = ds.asin \
             LEFT JOIN lead_times lt ON lt.asin = ds.asin \
             LEFT JOIN slot_inventory i ON i.device_id = d.id AND i.slot_id = s.slot_id \
             WHERE d.id = $1",
        )
        .bind(slot.device_id)
        .bind(&slot.slot_id)
        .fetch_one(self.pool())
        .await?;
        let mut conn = self.pool().acquire().await?;
        let history = levels_of(
            &mut conn,
            slot.device_id,
            &slot.slot_id,
            now - FORECAST_WINDOW,
        )
        .await?;
        let chart_from = now - refill_core::inventory::RATE_WINDOW;
        let readings: Vec<&Reading> = history.iter().filter(|r| r.at >= chart_from).collect();
        let orders = order_marks(&mut conn, slot, chart_from).await?;
        let number = |name: &str| -> Result<f64, sqlx::Error> {
            Ok(row.try_get::<Option<f64>, _>(name)?.unwrap_or(0.0))
        };
        let remaining: Option<f64> = row.try_get("remaining")?;
        let capacity: f64 = row.try_get("capacity")?;
        let minimum: Option<f64> = row.try_get("minimum")?;
        let target: Option<f64> = row.try_get("target")?;
        let mode: Option<String> = row.try_get("mode")?;
        let on_hand = number("on_hand")?;
        let in_transit = number("in_transit")?;
        let pack = number("pack_quantity")?;
        let lead_time = lead_time_from_row(&row)?;
        let every = report_every(&history);
        let forecast = fit(&history, capacity, &rule(every, lead_time, policy));
        let home = row.try_get::<Option<i64>, _>("home_of")?.is_some();
        let view = forecast_view((&forecast, home), &history, capacity, remaining, now);
        Ok(refill_wire::SlotInventory {
            slot_id: slot.slot_id.clone(),
            name: row.try_get("name")?,
            unit: row.try_get("unit")?,
            capacity,
            remaining,
            on_hand,
            mode: if mode.as_deref() == Some("reorder") {
                refill_wire::SlotMode::Reorder
            } else {
                refill_wire::SlotMode::Notify
            },
            minimum,
            target,
            low: remaining.is_some_and(|remaining| {
                let position = Position {
                    remaining,
                    on_hand,
                    in_transit,
                };
                let settings = (minimum, target);
                need(
                    (&forecast, every),
                    position,
                    pack,
                    lead_time,
                    settings,
                    policy,
                ) != Decision::Enough
            }),
            daily_use: (view.history_days > 0).then_some(view.rate),
            runs_out: view.likely,
            version: row
                .try_get::<Option<i64>, _>("settings_version")?
                .unwrap_or(0),
            forecast: view,
            levels: readings
                .iter()
                .map(|r| refill_wire::LevelPoint {
                    at: r.at,
                    remaining: r.remaining,
                })
                .collect(),
            orders,
        })
    }

    /// The customer's events after `after`, oldest first, at most `limit`.
    pub async fn events_after(
        &self,
        customer: i64,
        after: i64,
        limit: i64,
    ) -> Result<Vec<refill_wire::EventView>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT e.id, e.kind, e.body, e.created_at_ms, d.model_id, d.serial FROM events e \
             LEFT JOIN devices d ON d.id = e.device_id \
             WHERE e.customer_id = $1 AND e.id > $2 ORDER BY e.id LIMIT $3",
        )
        .bind(customer)
        .bind(after)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                let body: String = row.try_get("body")?;
                Ok(refill_wire::EventView {
                    id: row.try_get("id")?,
                    kind: row.try_get("kind")?,
                    at: from_ms(row.try_get("created_at_ms")?),
                    body: serde_json::from_str(&body).unwrap_or(serde_json::Value::Null),
                    device: match (
                        row.try_get::<Option<String>, _>("model_id")?,
                        row.try_get::<Option<String>, _>("serial")?,
                    ) {
                        (Some(model), Some(serial)) => {
                            Some(refill_wire::DeviceRef { model, serial })
                        }
                        _ => None,
                    },
                })
            })
            .collect()
    }
}

/// The orders of `slot` placed since `from`, and any still on their way, oldest first: the
/// marks of its chart.
async fn order_marks(
    conn: &mut crate::store::db::DbConnection,
    slot: &CustomerSlot,
    from: OffsetDateTime,
) -> Result<Vec<refill_wire::OrderMark>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT status, quantity, placed_at_ms, expected_delivery_ms, updated_at_ms FROM orders \
         WHERE device_id = $1 AND slot_id = $2 \
           AND (placed_at_ms >= $3 OR status IN ('placed', 'shipped')) \
         ORDER BY placed_at_ms, id",
    )
    .bind(slot.device_id)
    .bind(&slot.slot_id)
    .bind(to_ms(from))
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            let text: String = row.try_get("status")?;
            let status =
                OrderStatus::parse(&text).ok_or_else(|| crate::store::corrupt("status", &text))?;
            let quantity: i64 = row.try_get("quantity")?;
            let open = matches!(status, OrderStatus::Placed | OrderStatus::Shipped);
            Ok(refill_wire::OrderMark {
                placed: from_ms(row.try_get("placed_at_ms")?),
                delivered: (status == OrderStatus::Delivered)
                    .then(|| row.try_get("updated_at_ms").map(from_ms))
                    .transpose()?,
                expected: open
                    .then(|| row.try_get("expected_delivery_ms").map(from_ms))
                    .transpose()?,
                status: status.into(),
                quantity: u32::try_from(quantity)
                    .map_err(|_| crate::store::corrupt("quantity", &quantity))?,
            })
        })
        .collect()
}
