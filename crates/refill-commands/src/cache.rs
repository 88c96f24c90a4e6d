//! The last grid seen, kept in the app's data folder so it can be shown while the service is out
//! of reach. A cache file that is missing, unreadable or for another service is ignored.

use refill_wire::{ButtonTile, OrderView};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The cache file's name inside the data folder.
pub const FILE: &str = "buttons-cache.json";

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Cached {
    service: String,
    tiles: Vec<ButtonTile>,
}

/// The cached tiles for `service`, if any.
pub fn load(path: &Path, service: &str) -> Option<Vec<ButtonTile>> {
    let bytes = std::fs::read(path).ok()?;
    let cached: Cached = serde_json::from_slice(&bytes).ok()?;
    (cached.service == service).then_some(cached.tiles)
}

/// Replaces the cache with `tiles` from `service`. Failing to write it only costs the offline view.
pub fn store(path: &Path, service: &str, tiles: &[ButtonTile]) {
    let cached = Cached {
        service: service.to_owned(),
        tiles: tiles.to_vec(),
    };
    if let Err(e) = write_json(path, &cached) {
        tracing::warn!("could not save the button grid for offline use: {e}");
    }
}

/// Replaces the file at `path` with `value` as JSON, whole or not at all (a crash while writing
/// leaves the previous file).
pub fn write_json(path: &Path, value: &impl Serialize) -> std::io::Result<()> {
    replace_file(path, &serde_json::to_vec(value)?)
}

/// Replaces the file at `path` with `bytes`, whole or not at all: written beside it (`….tmp`),
/// then moved over it. Makes its folder if need be.
pub fn replace_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(tmp, path)
}

/// Records a tile's new open order (or none) in the cache.
pub fn set_open_order(path: &Path, service: &str, asin: &str, order: Option<&OrderView>) {
    if let Some(mut tiles) = load(path, service) {
        for tile in tiles.iter_mut().filter(|t| t.asin == asin) {
            tile.open_order = order.cloned();
            if let Some(order) = order {
                tile.last_ordered_at = Some(order.placed_at);
            }
        }
        store(path, service, &tiles);
    }
}
