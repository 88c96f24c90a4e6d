//! The service's layers, checked: the storage layer (`src/store`) and the credential rules
//! (`src/auth`) never import the HTTP layer, and the HTTP layer runs no SQL of its own.

use std::path::{Path, PathBuf};

fn sources(dir: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(dir)];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("source folder") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                found.push(path);
            }
        }
    }
    assert!(!found.is_empty(), "no sources under {dir}");
    found
}

/// Lines of code (not comments) in the sources under `dir` that contain any of `words`.
fn uses(dir: &str, words: &[&str]) -> Vec<String> {
    let mut hits = Vec::new();
    for path in sources(dir) {
        let text = std::fs::read_to_string(&path).expect("source");
        for (n, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            if words.iter().any(|w| code.contains(w)) {
                hits.push(format!("{}:{}: {}", path.display(), n + 1, code));
            }
        }
    }
    hits
}

#[test]
fn the_storage_layer_never_imports_the_http_layer() {
    let hits = uses("store", &["crate::http", "axum", "super::http"]);
    assert!(
        hits.is_empty(),
        "the store reaches up:\n{}",
        hits.join("\n")
    );
}

#[test]
fn the_credential_rules_import_neither_layer() {
    let hits = uses("auth", &["crate::http", "crate::store", "axum", "sqlx"]);
    assert!(hits.is_empty(), "auth reaches out:\n{}", hits.join("\n"));
}

#[test]
fn the_http_layer_leaves_queries_to_the_store() {
    let hits = uses("http", &["sqlx::query", ".execute(", ".fetch_"]);
    assert!(
        hits.is_empty(),
        "SQL in the HTTP layer:\n{}",
        hits.join("\n")
    );
}
