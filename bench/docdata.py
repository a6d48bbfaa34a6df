"""The documents suite's data: seeded nested documents, query values and expected answers.

Every system must see the same documents, and the answers must be known in
advance so a system that returns too few documents cannot post a fast number;
so the dataset is generated once per run from a seed, with the count every
query should return computed here in plain Python. Documents are nested with
arrays (an address sub-document, tags, a list of order sub-documents) because
that is what a document store is for and what a flat key-value benchmark would
miss. Cities are uniform over ``CITIES`` names, so an equality find on
``address.city`` selects about 1% of the collection; the update and delete
filters select about 10% each, on disjoint ``score`` ranges so neither changes
the other's answer.
May import: the standard library only.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import dataclass

__all__ = ["CITIES", "DELETE_FROM", "TAGS", "UPDATE_BELOW", "DocDataset", "make_docs"]

_PLACE_A = ["North", "South", "East", "West", "New", "Old", "Port", "Lake", "Fort", "Mount"]
_PLACE_B = ["field", "haven", "bridge", "ford", "ton", "wick", "dale", "mouth", "crest", "view"]
CITIES = [a + b for a in _PLACE_A for b in _PLACE_B]  # 100 distinct names
_SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "qua"]
TAGS = [a + b for a in _SYLLABLES for b in _SYLLABLES[:5]]  # 50 distinct tags
_FIRST = ["Ada", "Ben", "Cleo", "Dan", "Eve", "Finn", "Gus", "Hana", "Ivo", "Jun", "Kai", "Lia"]
_LAST = ["Smith", "Okafor", "Müller", "Rossi", "Tanaka", "Silva", "Novak", "Haddad", "Kim"]

UPDATE_BELOW = 0.1  # update_many filter: {"score": {"$lt": UPDATE_BELOW}}, ~10%
DELETE_FROM = 0.9  # delete_many filter: {"score": {"$gte": DELETE_FROM}}, ~10%


def _doc(rng: random.Random) -> dict:
    return {
        "name": f"{rng.choice(_FIRST)} {rng.choice(_LAST)}",
        "age": rng.randint(18, 90),
        "address": {"city": rng.choice(CITIES), "zip": f"{rng.randrange(100_000):05d}"},
        "tags": rng.sample(TAGS, rng.randint(2, 4)),
        "orders": [{"sku": f"SKU-{rng.randrange(10_000):05d}", "qty": rng.randint(1, 9)}
                   for _ in range(rng.randint(1, 3))],
        "score": rng.random(),
    }


@dataclass(frozen=True)
class DocDataset:
    """The documents (as one JSON blob, so each system gets its own fresh copies) and answers."""

    count: int
    blob: str  # json.dumps of the list: decoding it is the cheapest deep copy
    city_counts: dict[str, int]  # documents per address.city
    updated: int  # documents the update_many filter matches
    deleted: int  # documents the delete_many filter matches
    seed: int

    def fresh(self) -> list[dict]:
        """New dicts for one system: insert_one sets ``_id`` in the dict it is given, as pymongo does."""
        return json.loads(self.blob)

    def query_values(self, trial: int, scans: int, lookups: int) -> tuple[list[str], list[str]]:
        """Cities for the unindexed and the indexed finds of one trial.

        The two lists never share a value, so a system that caches query results
        cannot answer the indexed finds from the unindexed ones, and each trial
        starts at another place in the (seeded) order of cities.
        """
        order = CITIES[:]
        random.Random(self.seed + 1).shuffle(order)
        need = scans + lookups
        if need > len(order):
            raise ValueError(f"at most {len(order)} distinct query values per trial")
        start = (trial * need) % len(order)
        values = (order + order)[start:start + need]
        return values[:scans], values[scans:]


def make_docs(n: int, seed: int) -> DocDataset:
    """Seeded documents, so every run (and every system) inserts the same ones."""
    rng = random.Random(seed)
    docs = [_doc(rng) for _ in range(n)]
    cities = Counter(d["address"]["city"] for d in docs)
    return DocDataset(
        count=n, blob=json.dumps(docs), city_counts={c: cities.get(c, 0) for c in CITIES},
        updated=sum(d["score"] < UPDATE_BELOW for d in docs),
        deleted=sum(d["score"] >= DELETE_FROM for d in docs), seed=seed)
