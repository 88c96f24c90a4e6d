//! `refill-service models`: the operator adds a maker's device model from a TOML file with the
//! real binary; a device of that model then links and reports its slot through DRS; changes that
//! would break registered devices are refused in words.

mod common;

use common::{drs, get_json, operator, sandbox, tokens, JUG};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn an_operator_adds_a_makers_model_whose_devices_then_link_and_report() {
    let f = sandbox().await;
    let dir = tempfile::tempdir().unwrap();
    let jug = dir.path().join("jug.toml");
    std::fs::write(&jug, JUG).unwrap();

    // Its product is not in the catalog yet: refused, nothing added.
    let (code, _, err) = operator(&f.db, &["models", "add", jug.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        err.contains("B0FILTER01 (slot filter) is not in the catalog: import it first"),
        "{err}"
    );
    let catalog = dir.path().join("filters.csv");
    std::fs::write(
        &catalog,
        "asin,title,pack_size,unit,price,currency\nB0FILTER01,Jug filter 3-pack,3,count,14.99,USD\n",
    )
    .unwrap();
    let (code, _, err) = operator(&f.db, &["catalog", "import", catalog.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let (code, said, err) = operator(&f.db, &["models", "add", jug.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(said, "Added AcmeJug-1 (Acme filter jug) with 1 slots.\n");
    let (_, listed, _) = operator(&f.db, &["models", "list"]);
    assert!(
        listed.contains("AcmeJug-1\tAcme filter jug\t0 devices\tfilter (1 count: B0FILTER01)"),
        "{listed}"
    );

    // A jug links through the sign-in pages and reports its filter.
    let scope_data = r#"{"dash:replenish":{"device_model":"AcmeJug-1","serial":"JUG-1","is_test_device":false}}"#;
    let (token, _) = tokens(&f, "dash:replenish", Some(scope_data)).await;
    let body = json!({ "remainingQuantityInUnit": 0.5, "originalQuantityInUnit": 1 });
    let (status, _, answer) = drs(
        &f,
        Method::POST,
        "/slotStatus/filter",
        &token,
        ("DrsSlotStatusInput@1.0", "DrsSlotStatusResult@1.0"),
        Some(&body.to_string()),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let slot = get_json(&f.http, &f.url("/v1/devices/AcmeJug-1/JUG-1/slots/filter")).await;
    assert_eq!(slot["remaining"], 0.5);
    assert_eq!(slot["name"], "Water filter");

    // With a device registered, its slot cannot change unit or go; its name can change.
    std::fs::write(&jug, JUG.replace("\"count\"", "\"g\"")).unwrap();
    let (code, _, err) = operator(&f.db, &["models", "add", jug.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("its unit cannot become g"), "{err}");
    std::fs::write(&jug, JUG.replace("id = \"filter\"", "id = \"cartridge\"")).unwrap();
    let (code, _, err) = operator(&f.db, &["models", "add", jug.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        err.contains("the slot filter of AcmeJug-1 is missing"),
        "{err}"
    );
    std::fs::write(
        &jug,
        JUG.replace("Acme filter jug", "Acme jug, 2nd edition"),
    )
    .unwrap();
    let (code, said, err) = operator(&f.db, &["models", "add", jug.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(
        said.starts_with("Updated AcmeJug-1 (Acme jug, 2nd edition)"),
        "{said}"
    );
    let (_, listed, _) = operator(&f.db, &["models", "list"]);
    assert!(
        listed.contains("AcmeJug-1\tAcme jug, 2nd edition\t1 device\t"),
        "{listed}"
    );
}
