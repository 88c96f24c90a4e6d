//! Device models: what a device maker publishes (its slots, their units and capacities, the
//! products that fit each, the first being the default). The sandbox seeds its own; an operator
//! adds others (`refill-service models add`).

use super::db::DbConnection;
use super::Store;
use refill_core::DeviceModel;
use sqlx::Row;

/// Why a model could not be stored, in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelRefused(pub String);

/// Stores `model` (or updates it: its name, its slots' names, capacities and products, new
/// slots), in the caller's transaction; whether it was known before. A slot cannot be removed, nor change its unit once
/// devices of the model are registered; every product must be in the catalog, in the slot's
/// unit.
pub(crate) async fn put_model(
    conn: &mut DbConnection,
    model: &DeviceModel,
) -> Result<Result<bool, ModelRefused>, sqlx::Error> {
    let refused = |words: String| Ok(Err(ModelRefused(words)));
    let existing = sqlx::query("SELECT slot_id, unit FROM slots WHERE model_id = $1")
        .bind(&model.model_id)
        .fetch_all(&mut *conn)
        .await?;
    let devices: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM devices WHERE model_id = $1")
        .bind(&model.model_id)
        .fetch_one(&mut *conn)
        .await?;
    for row in &existing {
        let slot: String = row.try_get("slot_id")?;
        let unit: String = row.try_get("unit")?;
        match model.slots.iter().find(|s| s.slot_id == slot) {
            None => {
                return refused(format!(
                    "the slot {slot} of {} is missing: a model's slots cannot be removed",
                    model.model_id
                ))
            }
            Some(s) if s.unit.as_str() != unit && devices > 0 => {
                return refused(format!(
                    "the slot {slot} of {} measures in {unit} and {devices} devices of it are \
                     registered: its unit cannot become {}",
                    model.model_id,
                    s.unit.as_str()
                ))
            }
            Some(_) => {}
        }
    }
    for slot in &model.slots {
        for asin in &slot.compatible {
            let unit: Option<String> =
                sqlx::query_scalar("SELECT unit FROM products WHERE asin = $1")
                    .bind(asin.as_str())
                    .fetch_optional(&mut *conn)
                    .await?;
            match unit {
                None => {
                    return refused(format!(
                        "{} (slot {}) is not in the catalog: import it first",
                        asin.as_str(),
                        slot.slot_id
                    ))
                }
                Some(unit) if unit != slot.unit.as_str() => {
                    return refused(format!(
                        "{} is measured in {unit}, but the slot {} in {}",
                        asin.as_str(),
                        slot.slot_id,
                        slot.unit.as_str()
                    ))
                }
                Some(_) => {}
            }
        }
    }
    sqlx::query(
        "INSERT INTO device_models (model_id, name) VALUES ($1, $2) \
         ON CONFLICT (model_id) DO UPDATE SET name = excluded.name",
    )
    .bind(&model.model_id)
    .bind(&model.name)
    .execute(&mut *conn)
    .await?;
    for (position, slot) in model.slots.iter().enumerate() {
        sqlx::query(
            "INSERT INTO slots (model_id, slot_id, name, unit, capacity, position) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (model_id, slot_id) DO UPDATE SET name = excluded.name, \
                 unit = excluded.unit, capacity = excluded.capacity, \
                 position = excluded.position",
        )
        .bind(&model.model_id)
        .bind(&slot.slot_id)
        .bind(&slot.name)
        .bind(slot.unit.as_str())
        .bind(slot.capacity)
        .bind(position as i64)
        .execute(&mut *conn)
        .await?;
        sqlx::query("DELETE FROM slot_products WHERE model_id = $1 AND slot_id = $2")
            .bind(&model.model_id)
            .bind(&slot.slot_id)
            .execute(&mut *conn)
            .await?;
        for asin in &slot.compatible {
            sqlx::query("INSERT INTO slot_products (model_id, slot_id, asin) VALUES ($1, $2, $3)")
                .bind(&model.model_id)
                .bind(&slot.slot_id)
                .bind(asin.as_str())
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok(Ok(!existing.is_empty()))
}

/// A model as listed: its id, name, slots and how many devices of it are registered.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSummary {
    /// The model.
    pub model: DeviceModel,
    /// Devices of it registered now.
    pub devices: i64,
}

impl Store {
    /// Stores or updates `model` (see [`put_model`]); whether it was known before.
    pub async fn put_model(
        &self,
        model: &DeviceModel,
    ) -> Result<Result<bool, ModelRefused>, sqlx::Error> {
        let mut tx = self.write().await?;
        let outcome = put_model(&mut tx, model).await?;
        if outcome.is_ok() {
            tx.commit().await?;
        }
        Ok(outcome)
    }

    /// The device models makers published (the customers' own "At home" models left out).
    pub async fn models(&self) -> Result<Vec<ModelSummary>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT m.model_id, m.name, \
                    (SELECT COUNT(*) FROM devices d WHERE d.model_id = m.model_id \
                       AND d.deregistered_at_ms IS NULL) AS devices \
             FROM device_models m WHERE m.home_of IS NULL ORDER BY m.model_id",
        )
        .fetch_all(self.pool())
        .await?;
        let mut models = Vec::with_capacity(rows.len());
        for row in rows {
            let model_id: String = row.try_get("model_id")?;
            let slots = sqlx::query(
                "SELECT slot_id, name, unit, capacity FROM slots WHERE model_id = $1 \
                 ORDER BY position",
            )
            .bind(&model_id)
            .fetch_all(self.pool())
            .await?;
            let mut specs = Vec::with_capacity(slots.len());
            for slot in slots {
                let slot_id: String = slot.try_get("slot_id")?;
                let compatible: Vec<String> = sqlx::query_scalar(
                    "SELECT asin FROM slot_products WHERE model_id = $1 AND slot_id = $2 \
                     ORDER BY asin",
                )
                .bind(&model_id)
                .bind(&slot_id)
                .fetch_all(self.pool())
                .await?;
                let unit: String = slot.try_get("unit")?;
                specs.push(refill_core::SlotSpec {
                    slot_id,
                    name: slot.try_get("name")?,
                    unit: refill_core::Unit::parse(&unit).unwrap_or(refill_core::Unit::Count),
                    capacity: slot.try_get("capacity")?,
                    compatible: compatible
                        .iter()
                        .filter_map(|a| refill_core::Asin::parse(a).ok())
                        .collect(),
                });
            }
            models.push(ModelSummary {
                model: DeviceModel {
                    model_id,
                    name: row.try_get("name")?,
                    slots: specs,
                },
                devices: row.try_get("devices")?,
            });
        }
        Ok(models)
    }
}
