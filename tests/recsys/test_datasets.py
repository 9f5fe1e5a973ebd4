import gzip
import json
from pathlib import Path

import pytest

from kefu.recsys import (
    EventKind,
    Recommender,
    load_movielens,
    load_online_retail,
    load_tau_bench_orders,
    tau_bench_catalog,
)

ORDERS = {
    "#1": {
        "order_id": "#1",
        "user_id": "ann_1",
        "status": "delivered",
        "items": [{"item_id": "111", "product_id": "P-bottle", "name": "Water Bottle"}],
    },
    "#2": {
        "order_id": "#2",
        "user_id": "ann_1",
        "status": "cancelled",
        "items": [{"item_id": "222", "product_id": "P-chair", "name": "Office Chair"}],
    },
    "#3": {
        "order_id": "#3",
        "user_id": "bob_2",
        "status": "return requested",
        "return_items": ["333"],
        "items": [
            {"item_id": "333", "product_id": "P-bottle", "name": "Water Bottle"},
            {"item_id": "444", "product_id": "P-lamp", "name": "Lamp"},
        ],
    },
}
PRODUCTS = {
    "P-bottle": {
        "name": "Water Bottle",
        "product_id": "P-bottle",
        "variants": {
            "111": {"item_id": "111", "options": {"color": "blue"}, "available": True},
            "333": {"item_id": "333", "options": {"color": "red"}, "available": False},
        },
    },
    "P-lamp": {
        "name": "Lamp",
        "product_id": "P-lamp",
        "variants": {"444": {"item_id": "444", "available": True}},
    },
}


def test_tau_bench_orders(tmp_path: Path) -> None:
    path = tmp_path / "orders.json"
    path.write_text(json.dumps(ORDERS))
    events = load_tau_bench_orders(path)
    assert [(e.user_id, e.item_id, e.kind) for e in events] == [
        ("ann_1", "111", EventKind.PURCHASE),
        ("bob_2", "333", EventKind.PURCHASE),
        ("bob_2", "333", EventKind.RETURN),
        ("bob_2", "444", EventKind.PURCHASE),
    ]
    products = load_tau_bench_orders(ORDERS, level="product")
    assert {e.item_id for e in products} == {"P-bottle", "P-lamp"}
    catalog = {c.item_id: c for c in tau_bench_catalog(PRODUCTS)}
    assert catalog["333"].available is False and catalog["111"].name == "Water Bottle (blue)"
    assert catalog["111"].category == "Water Bottle"
    assert tau_bench_catalog(PRODUCTS, level="product")[0].category == "Water Bottle"


def test_tau_bench_demo_shop_fits_if_shipped() -> None:
    import kefu

    shop = Path(kefu.__file__).parent / "demo" / "shop.json.gz"
    if not shop.exists():
        pytest.skip(f"demo shop not present at {shop}")
    with gzip.open(shop, "rt") as fh:
        data = json.load(fh)
    model = Recommender().fit(load_tau_bench_orders(data), catalog=tau_bench_catalog(data))
    user = next(iter(data["orders"].values()))["user_id"]
    lists = model.recommend_lists(user)
    assert lists.discover and all(s.reason for s in lists.discover)


def test_online_retail_loader(tmp_path: Path) -> None:
    path = tmp_path / "retail.csv.gz"
    with gzip.open(path, "wt") as fh:
        fh.write("InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n")
        fh.write("536365,85123A,HEART,6,2010-12-01 08:26:00,2.55,17850,United Kingdom\n")
        fh.write("C536379,D,Discount,-1,2010-12-01 09:41:00,27.5,14527,United Kingdom\n")
        fh.write("536380,22,X,0,2010-12-01 09:41:00,1,14527,United Kingdom\n")
        fh.write("536381,22,X,2,2010-12-01 09:41:00,1,,United Kingdom\n")
        fh.write("536382,71053,LANTERN,1,2010-12-02 10:00:00,3.39,17850,United Kingdom\n")
    table = load_online_retail(path)
    assert table.users.tolist() == ["17850", "17850"]
    assert table.items.tolist() == ["85123A", "71053"]
    assert table.timestamps[1] - table.timestamps[0] == pytest.approx(86400 + 5640)


def test_movielens_loader(tmp_path: Path) -> None:
    (tmp_path / "ratings.csv").write_text("userId,movieId,rating,timestamp\n1,10,4.5,100\n2,20,2.0,200\n")
    table = load_movielens(tmp_path)
    assert table.users.tolist() == ["1", "2"] and table.values.tolist() == [4.5, 2.0]
    assert set(table.kinds.tolist()) == {int(list(EventKind).index(EventKind.RATING))}


SHARED = Path(__file__).resolve().parents[3] / "shared" / "datasets"


@pytest.mark.dataset
def test_shared_online_retail_matches_source_counts() -> None:
    path = SHARED / "ecommerce_online_retail_uci" / "online_retail.csv.gz"
    if not path.exists():
        pytest.skip(f"../shared/datasets is absent ({path} not found)")
    table = load_online_retail(path)
    assert len(table) == 397_924
    assert len(set(table.users.tolist())) == 4_339 and len(set(table.items.tolist())) == 3_665
