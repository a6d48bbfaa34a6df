"""The demo database of ``docdb shell --demo``: a small shop to try the language on.

A ``customers`` table, a ``products`` table and an ``orders`` collection of nested
documents (a shipping address, an array of line items, optional tags), with
indexes on each, made the same way every time. ``EXAMPLES`` are the queries the
shell suggests; a test runs each of them.
May import: the standard library and ``docdb``.
"""

from __future__ import annotations

import random
from typing import Any

__all__ = ["EXAMPLES", "load_demo"]

_CUSTOMERS = [
    (1, "Ada Lovelace", "ada@example.com", "London"),
    (2, "Grace Hopper", "grace@example.com", "Arlington"),
    (3, "Alan Turing", "alan@example.com", "London"),
    (4, "Edsger Dijkstra", "edsger@example.com", "Nuenen"),
    (5, "Barbara Liskov", "barbara@example.com", "Boston"),
    (6, "Donald Knuth", "don@example.com", "Stanford"),
    (7, "Margaret Hamilton", "margaret@example.com", "Boston"),
    (8, "Ken Thompson", "ken@example.com", "Berkeley"),
]
_PRODUCTS = [
    ("apple", "Apple", "fruit", 0.5),
    ("pear", "Pear", "fruit", 0.75),
    ("plum", "Plum", "fruit", 0.4),
    ("bread", "Sourdough bread", "bakery", 4.2),
    ("croissant", "Croissant", "bakery", 1.8),
    ("coffee", "Coffee beans 250 g", "pantry", 7.5),
    ("tea", "Green tea", "pantry", 5.0),
    ("honey", "Honey", "pantry", 6.25),
]
_STATUSES = ["placed", "shipped", "delivered", "delivered", "delivered"]
_TAGS = ["gift", "express", "fragile"]

EXAMPLES = [
    ("Customers in one city (a table, through an index)",
     "SELECT id, name, email FROM customers WHERE city = 'London' ORDER BY name;"),
    ("Line items unnested from the order documents",
     "SELECT o._id, o.status, i.sku, i.qty FROM orders o, o.items AS i WHERE i.qty = 6 ORDER BY o._id;"),
    ("A join of the customers table with the orders collection",
     "SELECT c.name, count(*) AS orders, round(sum(o.total), 2) AS spent FROM customers c "
     "JOIN orders o ON o.customer_id = c.id GROUP BY c.name ORDER BY spent DESC LIMIT 5;"),
]


def _orders() -> list[dict[str, Any]]:
    rng = random.Random(2026)
    prices = {sku: price for sku, _name, _cat, price in _PRODUCTS}
    orders = []
    for number in range(1, 41):
        customer = _CUSTOMERS[rng.randrange(len(_CUSTOMERS))]
        items = [{"sku": sku, "qty": rng.randint(1, 6), "price": prices[sku]}
                 for sku in rng.sample(sorted(prices), rng.randint(1, 4))]
        order: dict[str, Any] = {
            "_id": number,
            "customer_id": customer[0],
            "status": _STATUSES[rng.randrange(len(_STATUSES))],
            "placed": f"2026-{rng.randint(1, 11):02d}-{rng.randint(1, 28):02d}",
            "ship_to": {"city": customer[3], "zip": f"{rng.randint(10000, 99999)}"},
            "items": items,
            "total": round(sum(i["qty"] * i["price"] for i in items), 2),
        }
        if rng.random() < 0.3:
            order["tags"] = rng.sample(_TAGS, rng.randint(1, 2))
        orders.append(order)
    return orders


def load_demo(conn: Any) -> bool:
    """Fill ``conn`` with the demo objects and commit; False (and nothing done) if the
    database already has a ``customers``, ``products`` or ``orders``."""
    existing = set(conn.tables()) | set(conn.collections()) | set(conn.views())
    if existing & {"customers", "products", "orders"}:
        return False
    conn.begin()
    try:
        customers = conn.create_table("customers", {"id": "INTEGER", "name": "TEXT NOT NULL",
                                                    "email": "TEXT UNIQUE", "city": "TEXT"},
                                      primary_key="id")
        customers.insert_many([dict(zip(("id", "name", "email", "city"), c)) for c in _CUSTOMERS])
        customers.create_index("city", name="customers_city")
        products = conn.create_table("products", {"sku": "TEXT", "name": "TEXT NOT NULL",
                                                  "category": "TEXT", "price": "REAL NOT NULL"},
                                     primary_key="sku")
        products.insert_many([dict(zip(("sku", "name", "category", "price"), p)) for p in _PRODUCTS])
        products.create_index("category", name="products_category")
        orders = conn.create_collection("orders")
        orders.insert_many(_orders())
        orders.create_index("customer_id", name="orders_customer")
        orders.create_index("items.sku", name="orders_sku")
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    return True
