//! `refill-service models …`: the device models a service knows, as their makers publish them.
//!
//! * `models add FILE.toml`: adds a model, or updates one (its name, its slots' names,
//!   capacities and products, new slots). The file:
//!
//!   ```toml
//!   id = "AcmeJug-1"                 # the model id devices send (1-64 of A-Z a-z 0-9 - + _)
//!   name = "Acme filter jug"         # what people see
//!
//!   [[slots]]
//!   id = "filter"                    # the slot id DRS calls name
//!   name = "Water filter"
//!   unit = "count"                   # count, g or ml
//!   capacity = 1                     # how much it holds when full
//!   products = ["B0FILTER01"]        # ASINs in the catalog that fit it
//!   ```
//! * `models list`: every model, its slots and how many devices of it are registered.

use crate::operator::{Answer, Done, Refusal};
use crate::store::models::ModelSummary;
use crate::Store;
use refill_core::catalog::is_valid_device_identifier;
use refill_core::{Asin, DeviceModel, SlotSpec, Unit};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// What `models` does.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Adds or updates the model a model file's `text` describes; `source` names it in the
    /// words (the file, or "the model" sent to the admin API).
    Add {
        /// Where it came from.
        source: String,
        /// The model file.
        text: String,
    },
    /// Every model.
    List,
}

impl Command {
    /// `models add FILE`: the file.
    pub fn add_file(path: &Path) -> Result<Command, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{} cannot be read: {e}", path.display()))?;
        Ok(Command::Add {
            source: path.display().to_string(),
            text,
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelFile {
    id: String,
    name: String,
    slots: Vec<SlotFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SlotFile {
    id: String,
    name: String,
    unit: String,
    capacity: f64,
    products: Vec<String>,
}

/// The model in a model file's `text`, checked; what is wrong, in words.
pub fn parse(text: &str) -> Result<DeviceModel, String> {
    let file: ModelFile = toml::from_str(text).map_err(|e| e.to_string().trim_end().to_owned())?;
    if !is_valid_device_identifier(&file.id) {
        return Err(format!(
            "'{}' is not a model id: use 1 to 64 letters, digits, '-', '+' and '_'",
            file.id
        ));
    }
    if file.name.trim().is_empty() {
        return Err("the model needs a name, which people see".to_owned());
    }
    if file.slots.is_empty() {
        return Err("the model needs at least one [[slots]]".to_owned());
    }
    let mut slots = Vec::with_capacity(file.slots.len());
    for slot in file.slots {
        let at = format!("slot '{}'", slot.id);
        if !is_valid_device_identifier(&slot.id) {
            return Err(format!(
                "{at}: a slot id is 1 to 64 letters, digits, '-', '+' and '_'"
            ));
        }
        if slots.iter().any(|s: &SlotSpec| s.slot_id == slot.id) {
            return Err(format!("{at} is in the file twice"));
        }
        if slot.name.trim().is_empty() {
            return Err(format!("{at} needs a name"));
        }
        let unit = Unit::parse(&slot.unit)
            .ok_or_else(|| format!("{at}: '{}' is not a unit: use count, g or ml", slot.unit))?;
        if !(slot.capacity.is_finite() && slot.capacity > 0.0) {
            return Err(format!(
                "{at}: capacity must be above 0, how much it holds when full"
            ));
        }
        if slot.products.is_empty() {
            return Err(format!("{at} needs at least one product that fits it"));
        }
        let compatible = slot
            .products
            .iter()
            .map(|a| Asin::parse(a).map_err(|e| format!("{at}: {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        slots.push(SlotSpec {
            slot_id: slot.id,
            name: slot.name.trim().to_owned(),
            unit,
            capacity: slot.capacity,
            compatible,
        });
    }
    Ok(DeviceModel {
        model_id: file.id,
        name: file.name.trim().to_owned(),
        slots,
    })
}

fn listed(m: &ModelSummary) -> String {
    let slots: Vec<String> = m
        .model
        .slots
        .iter()
        .map(|s| {
            let products: Vec<&str> = s.compatible.iter().map(Asin::as_str).collect();
            format!(
                "{} ({} {}: {})",
                s.slot_id,
                s.capacity,
                s.unit.as_str(),
                products.join(" ")
            )
        })
        .collect();
    let devices = match m.devices {
        1 => "1 device".to_owned(),
        n => format!("{n} devices"),
    };
    format!(
        "{}\t{}\t{devices}\t{}\n",
        m.model.model_id,
        m.model.name,
        slots.join(", ")
    )
}

/// A model as the admin API answers it, in the model file's fields.
#[derive(Serialize)]
struct ModelView<'a> {
    id: &'a str,
    name: &'a str,
    slots: Vec<SlotView<'a>>,
    /// How many devices of it are registered (lists only).
    #[serde(skip_serializing_if = "Option::is_none")]
    devices: Option<i64>,
    /// Whether it was known before (after an add only).
    #[serde(skip_serializing_if = "Option::is_none")]
    updated: Option<bool>,
}

#[derive(Serialize)]
struct SlotView<'a> {
    id: &'a str,
    name: &'a str,
    unit: &'a str,
    capacity: f64,
    products: Vec<&'a str>,
}

impl<'a> ModelView<'a> {
    fn of(model: &'a DeviceModel) -> Self {
        ModelView {
            id: &model.model_id,
            name: &model.name,
            slots: model
                .slots
                .iter()
                .map(|s| SlotView {
                    id: &s.slot_id,
                    name: &s.name,
                    unit: s.unit.as_str(),
                    capacity: s.capacity,
                    products: s.compatible.iter().map(Asin::as_str).collect(),
                })
                .collect(),
            devices: None,
            updated: None,
        }
    }
}

/// Runs `command` on `store`.
pub async fn run(store: &Store, command: Command) -> Answer {
    match command {
        Command::Add { source, text } => {
            let model = parse(&text).map_err(|e| Refusal::invalid(format!("{source}: {e}")))?;
            let known = store.put_model(&model).await?.map_err(|refused| {
                Refusal::conflict(format!("nothing was changed: {}", refused.0))
            })?;
            let done = Done::new(
                format!(
                    "{} {} ({}) with {} slots.\n",
                    if known { "Updated" } else { "Added" },
                    model.model_id,
                    model.name,
                    model.slots.len()
                ),
                &ModelView {
                    updated: Some(known),
                    ..ModelView::of(&model)
                },
            );
            Ok(if known { done } else { done.created() })
        }
        Command::List => {
            let models = store.models().await?;
            let views: Vec<ModelView<'_>> = models
                .iter()
                .map(|m| ModelView {
                    devices: Some(m.devices),
                    ..ModelView::of(&m.model)
                })
                .collect();
            let text = if models.is_empty() {
                "No device models yet: add one with `models add FILE.toml`.\n".to_owned()
            } else {
                models.iter().map(listed).collect()
            };
            Ok(Done::new(text, &serde_json::json!({ "models": views })))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const JUG: &str = r#"
        id = "AcmeJug-1"
        name = "Acme filter jug"
        [[slots]]
        id = "filter"
        name = "Water filter"
        unit = "count"
        capacity = 1
        products = ["B0FILTER01"]
    "#;

    #[test]
    fn a_model_file_reads_into_a_model() {
        let model = parse(JUG).unwrap();
        assert_eq!(model.model_id, "AcmeJug-1");
        assert_eq!(model.slots[0].unit, Unit::Count);
        assert_eq!(model.slots[0].compatible[0].as_str(), "B0FILTER01");
    }

    #[test]
    fn mistakes_are_said_in_words() {
        let said = |text: String| parse(&text).unwrap_err();
        assert!(said(JUG.replace("AcmeJug-1", "Acme Jug")).contains("is not a model id"));
        assert!(said(JUG.replace("\"count\"", "\"cups\"")).contains("'cups' is not a unit"));
        assert!(said(JUG.replace("capacity = 1", "capacity = 0")).contains("capacity must be"));
        assert!(said(JUG.replace("[\"B0FILTER01\"]", "[]")).contains("at least one product"));
        assert!(said(JUG.replace("B0FILTER01", "filter")).contains("is not a product code"));
        let e = said(JUG.replace("capacity = 1", "capacity = 1\ncolour = \"red\""));
        assert!(e.contains("colour") && e.contains("line"), "{e}");
        let twice = format!("{JUG}\n[[slots]]\nid = \"filter\"\nname = \"x\"\nunit = \"g\"\ncapacity = 1\nproducts = [\"B0FILTER01\"]\n");
        assert!(said(twice).contains("is in the file twice"));
    }
}
