//! `refill-service catalog`: the operator imports products from CSV and JSON files with the real
//! binary, on the database of a running service, whose customers then see them in
//! `GET /v1/products`; a file with mistakes changes nothing.

mod common;

use common::sandbox;
use serde_json::Value;

/// `refill-service catalog ARGS` on `db`: exit code, stdout, stderr.
fn catalog(db: &refill_service::Database, args: &[&str]) -> (i32, String, String) {
    common::operator(db, &[&["catalog"], args].concat())
}

async fn products(f: &common::Fixture) -> Vec<Value> {
    let list = common::get_json(&f.http, &f.url("/v1/products")).await;
    list["products"].as_array().unwrap().clone()
}

fn find<'a>(products: &'a [Value], asin: &str) -> Option<&'a Value> {
    products.iter().find(|p| p["asin"] == asin)
}

#[tokio::test]
async fn an_operator_imports_a_catalog_that_customers_then_see() {
    let f = sandbox().await;
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("catalog.csv");
    std::fs::write(
        &csv,
        "asin,title,pack_size,unit,price,currency,image_url\n\
         B0HOME0001,Dish tabs,40,count,11.49,USD,https://shop.example/tabs.png\n\
         B0HOME0002,Oat milk,1000,ml,2.50,USD,\n\
         B0RFBEAN01,House beans,500,g,13.99,USD,\n",
    )
    .unwrap();
    let (code, said, err) = catalog(&f.db, &["import", csv.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(said.starts_with("Imported 3 products from"), "{said}");
    assert!(said.contains("2 new, 1 updated"), "{said}");

    let seen = products(&f).await;
    let tabs = find(&seen, "B0HOME0001").expect("the new product is offered");
    assert_eq!(tabs["title"], "Dish tabs");
    assert_eq!(tabs["price"]["amountMinor"], 1149);
    assert_eq!(tabs["pack"]["value"], 40.0);
    let beans = find(&seen, "B0RFBEAN01").unwrap();
    assert_eq!(beans["title"], "House beans");
    assert_eq!(beans["price"]["amountMinor"], 1399);
    let (code, listed, _) = catalog(&f.db, &["list"]);
    assert_eq!(code, 0);
    assert!(
        listed.contains("B0HOME0002\tOat milk\t1000 ml\t2.50 USD"),
        "{listed}"
    );

    // A JSON file with a mistake, or one that changes the unit of a device slot's product,
    // changes nothing and says why.
    let json = dir.path().join("more.json");
    std::fs::write(
        &json,
        r#"[{"asin": "B0HOME0003", "title": "Salt", "pack_size": 1, "unit": "g",
             "price": "0.99", "currency": "USD"},
            {"asin": "B0HOME0004", "title": "Soap", "pack_size": 0, "unit": "ml",
             "price": "3", "currency": "USD"}]"#,
    )
    .unwrap();
    let (code, _, err) = catalog(&f.db, &["import", json.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        err.contains("nothing was imported") && err.contains("product 2: pack_size"),
        "{err}"
    );
    let clash = dir.path().join("clash.json");
    std::fs::write(
        &clash,
        r#"[{"asin": "B0HOME0003", "title": "Salt", "pack_size": 1, "unit": "g",
             "price": "0.99", "currency": "USD"},
            {"asin": "B0RFBEAN01", "title": "Liquid beans", "pack_size": 500, "unit": "ml",
             "price": "9", "currency": "USD"}]"#,
    )
    .unwrap();
    let (code, _, err) = catalog(&f.db, &["import", clash.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        err.contains("B0RFBEAN01 fills the slot brew-beans of RefillBrew-200, measured in g"),
        "{err}"
    );
    let seen = products(&f).await;
    assert!(
        find(&seen, "B0HOME0003").is_none(),
        "a refused import added a product"
    );
    assert_eq!(find(&seen, "B0RFBEAN01").unwrap()["title"], "House beans");

    let other = dir.path().join("catalog.xlsx");
    std::fs::write(&other, "x").unwrap();
    let (code, _, err) = catalog(&f.db, &["import", other.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("neither a .csv nor a .json file"), "{err}");
}
