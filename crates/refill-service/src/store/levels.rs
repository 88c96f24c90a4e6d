//! Level history over time: kept as reported for [`RAW_FOR`], then one reading an hour up to
//! [`HOURLY_FOR`], then one a day ([`Store::compact_levels`], run in the background). The chart
//! and the forecast read whatever is there, at both resolutions.
//!
//! What a bucket (an hour, or a day) keeps: its last reading, every refill (a reading above the
//! one before it, or one reported as replaced) with the reading just before it, and every empty
//! report. Between kept readings the level only went down, so the use they add up to is the same
//! as before: the forecast loses the shape within a bucket, never the amount used, a refill or a
//! stockout. Thinning what is already thinned keeps the same readings, so a round cut short is
//! simply done again.

use super::{from_ms, to_ms, Store};
use sqlx::Row;
use time::{Duration, OffsetDateTime};

/// How long levels are kept as reported (silence detection reads the latest gaps).
pub const RAW_FOR: Duration = Duration::days(2);
/// How long levels are kept at one an hour; older ones are kept at one a day.
pub const HOURLY_FOR: Duration = Duration::days(30);

/// Devices thinned in one transaction.
const DEVICES_PER_PAGE: i64 = 500;
/// How much history is read at once (per page of devices).
const WINDOW: Duration = Duration::days(31);

struct Stage {
    name: &'static str,
    older_than: Duration,
    bucket: Duration,
}

const STAGES: [Stage; 2] = [
    Stage {
        name: "hourly",
        older_than: RAW_FOR,
        bucket: Duration::HOUR,
    },
    Stage {
        name: "daily",
        older_than: HOURLY_FOR,
        bucket: Duration::DAY,
    },
];

/// `at` rounded down to a multiple of `bucket` since the Unix epoch (UTC hours and days).
fn bucket_start(ms: i64, bucket: Duration) -> i64 {
    let size = bucket.whole_milliseconds() as i64;
    ms.div_euclid(size) * size
}

/// One stored reading.
struct Level {
    id: i64,
    device: i64,
    slot: String,
    at_ms: i64,
    remaining: f64,
    replaced: bool,
}

/// Which of `levels` (one slot's, oldest first) to delete: `context` of them (before the range)
/// only tell what came before.
fn to_delete(levels: &[Level], context: usize, bucket: Duration) -> Vec<i64> {
    let mut keep = vec![false; levels.len()];
    for (i, level) in levels.iter().enumerate() {
        let refill = match i.checked_sub(1).map(|p| &levels[p]) {
            Some(before) => level.replaced || level.remaining > before.remaining + 1e-9,
            // Nothing known before it: it may be a refill.
            None => true,
        };
        if refill {
            keep[i] = true;
            if let Some(p) = i.checked_sub(1) {
                keep[p] = true;
            }
        }
        if level.remaining <= 0.0 {
            keep[i] = true;
        }
        let last_in_bucket = levels.get(i + 1).is_none_or(|next| {
            bucket_start(next.at_ms, bucket) != bucket_start(level.at_ms, bucket)
        });
        if last_in_bucket {
            keep[i] = true;
        }
    }
    levels
        .iter()
        .zip(keep)
        .skip(context)
        .filter(|(_, keep)| !keep)
        .map(|(level, _)| level.id)
        .collect()
}

impl Store {
    /// Thins level history that has aged past a stage since the last round (see the module's
    /// documentation), [`WINDOW`] by window, remembering how far it got after each. Returns how
    /// many readings were removed.
    pub async fn compact_levels(&self, now: OffsetDateTime) -> Result<u64, sqlx::Error> {
        let mut removed = 0;
        for stage in &STAGES {
            let limit = bucket_start(to_ms(now - stage.older_than), stage.bucket);
            let done: Option<i64> =
                sqlx::query_scalar("SELECT until_ms FROM level_compaction WHERE stage = $1")
                    .bind(stage.name)
                    .fetch_optional(self.pool())
                    .await?;
            let from = match done {
                Some(done) => done,
                None => {
                    let oldest: Option<i64> =
                        sqlx::query_scalar("SELECT MIN(at_ms) FROM slot_levels")
                            .fetch_one(self.pool())
                            .await?;
                    match oldest {
                        Some(oldest) => bucket_start(oldest, stage.bucket),
                        None => limit,
                    }
                }
            };
            let mut from = from;
            loop {
                let to = limit.min(from + WINDOW.whole_milliseconds() as i64);
                if to > from {
                    removed += self.compact_range(from, to, stage.bucket).await?;
                }
                let mut tx = self.write().await?;
                sqlx::query(
                    "INSERT INTO level_compaction (stage, until_ms) VALUES ($1, $2) \
                     ON CONFLICT (stage) DO UPDATE SET until_ms = excluded.until_ms",
                )
                .bind(stage.name)
                .bind(to.max(from))
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                if to >= limit {
                    break;
                }
                from = to;
            }
        }
        Ok(removed)
    }

    /// Thins the readings in `[from, to)` into `bucket`s, a page of devices at a time.
    async fn compact_range(
        &self,
        from: i64,
        to: i64,
        bucket: Duration,
    ) -> Result<u64, sqlx::Error> {
        let mut removed = 0;
        let mut after = i64::MIN;
        loop {
            let devices: Vec<i64> =
                sqlx::query_scalar("SELECT id FROM devices WHERE id > $1 ORDER BY id LIMIT $2")
                    .bind(after)
                    .bind(DEVICES_PER_PAGE)
                    .fetch_all(self.pool())
                    .await?;
            let (Some(&first), Some(&last)) = (devices.first(), devices.last()) else {
                return Ok(removed);
            };
            after = last;
            let mut tx = self.write().await?;
            // The bucket before the range tells whether the range's first reading is a refill.
            let rows = sqlx::query(
                "SELECT id, device_id, slot_id, at_ms, remaining, source FROM slot_levels \
                 WHERE device_id BETWEEN $1 AND $2 AND at_ms >= $3 AND at_ms < $4 \
                 ORDER BY device_id, slot_id, at_ms, id",
            )
            .bind(first)
            .bind(last)
            .bind(from - bucket.whole_milliseconds() as i64)
            .bind(to)
            .fetch_all(&mut *tx)
            .await?;
            let mut levels = Vec::with_capacity(rows.len());
            for row in &rows {
                levels.push(Level {
                    id: row.try_get("id")?,
                    device: row.try_get("device_id")?,
                    slot: row.try_get("slot_id")?,
                    at_ms: row.try_get("at_ms")?,
                    remaining: row.try_get("remaining")?,
                    replaced: row.try_get::<String, _>("source")? == "replaced",
                });
            }
            let mut doomed = Vec::new();
            for slot in levels.chunk_by(|a, b| a.device == b.device && a.slot == b.slot) {
                let context = slot.iter().take_while(|l| l.at_ms < from).count();
                doomed.extend(to_delete(slot, context, bucket));
            }
            for ids in doomed.chunks(500) {
                let marks: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
                let sql = format!("DELETE FROM slot_levels WHERE id IN ({})", marks.join(", "));
                let mut query = sqlx::query(&sql);
                for id in ids {
                    query = query.bind(*id);
                }
                removed += query.execute(&mut *tx).await?.rows_affected();
            }
            tx.commit().await?;
        }
    }

    /// How many level readings are stored, and the oldest one's time.
    pub async fn level_count(&self) -> Result<(i64, Option<OffsetDateTime>), sqlx::Error> {
        let row = sqlx::query("SELECT COUNT(*) AS n, MIN(at_ms) AS oldest FROM slot_levels")
            .fetch_one(self.pool())
            .await?;
        Ok((
            row.try_get("n")?,
            row.try_get::<Option<i64>, _>("oldest")?.map(from_ms),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn level(id: i64, hour: f64, remaining: f64) -> Level {
        Level {
            id,
            device: 1,
            slot: "s".to_owned(),
            at_ms: (hour * 3_600_000.0) as i64,
            remaining,
            replaced: false,
        }
    }

    #[test]
    fn a_bucket_keeps_its_last_reading_its_refills_and_the_reading_before_each() {
        let levels = [
            level(1, 0.0, 100.0),
            level(2, 0.2, 90.0),
            level(3, 0.4, 80.0),  // last before the refill
            level(4, 0.6, 500.0), // refill
            level(5, 0.8, 490.0), // last of hour 0
            level(6, 1.1, 480.0),
            level(7, 1.5, 0.0), // empty
            level(8, 1.9, 0.0),
        ];
        let doomed = to_delete(&levels, 0, Duration::HOUR);
        // The first is kept (nothing known before it); 2 and 6 go.
        assert_eq!(doomed, vec![2, 6]);
        // Thinning again removes nothing more.
        let kept: Vec<Level> = levels
            .into_iter()
            .filter(|l| !doomed.contains(&l.id))
            .collect();
        assert!(to_delete(&kept, 0, Duration::HOUR).is_empty());
    }

    #[test]
    fn readings_before_the_range_are_context_only() {
        let levels = [
            level(1, 0.0, 100.0),
            level(2, 1.0, 90.0),
            level(3, 1.5, 80.0),
        ];
        // The first is context: never deleted, but it shows the second is no refill.
        assert_eq!(to_delete(&levels, 1, Duration::HOUR), vec![2]);
    }
}
