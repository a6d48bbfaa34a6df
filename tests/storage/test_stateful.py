"""Every engine against a dict: random puts, deletes, batches, scans, reopens, compactions."""

import itertools
import shutil
import tempfile

import hypothesis.strategies as st
from hypothesis import settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

import storage
from tests.storage.conftest import SMALL_OPTIONS

# A small key space so overwrites, deletes of live keys and scan bounds collide.
keys = st.binary(min_size=1, max_size=3).map(lambda b: bytes(x % 6 for x in b) or b"\x00")
values = st.binary(max_size=300)
bounds = st.none() | keys


def machine_for(engine_name: str):
    class EngineMatchesDict(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            self.dir = tempfile.mkdtemp(prefix=f"docdb-{engine_name}-")
            self.model: dict[bytes, bytes] = {}
            self.db = self._open()

        def _open(self):
            return storage.open(self.dir, engine=engine_name, sync="off",
                                **SMALL_OPTIONS.get(engine_name, {}))

        @rule(key=keys, value=values)
        def put(self, key, value):
            self.db.put(key, value)
            self.model[key] = value

        @rule(key=keys)
        def delete(self, key):
            self.db.delete(key)
            self.model.pop(key, None)

        @rule(ops=st.lists(st.tuples(keys, st.none() | values), min_size=1, max_size=8),
              fail=st.booleans())
        def batch(self, ops, fail):
            try:
                with self.db.batch() as b:
                    for key, value in ops:
                        b.delete(key) if value is None else b.put(key, value)
                    if fail:
                        raise KeyboardInterrupt  # any exception discards the batch
            except KeyboardInterrupt:
                return
            for key, value in ops:
                if value is None:
                    self.model.pop(key, None)
                else:
                    self.model[key] = value

        @rule(key=keys)
        def get(self, key):
            assert self.db.get(key) == self.model.get(key)
            assert (key in self.db) == (key in self.model)

        @rule(many=st.lists(keys, max_size=12), ascending=st.booleans())
        def get_many(self, many, ascending):
            if ascending:  # the order an index hands keys over in, which engines may favour
                many.sort()
            assert self.db.get_many(many) == [self.model.get(k) for k in many]
            for _ in range(2):  # a block read again is cached in another form: ask twice
                assert self.db.get_many(list(self.model)) == list(self.model.values())

        @rule(start=bounds, stop=bounds, reverse=st.booleans())
        def scan(self, start, stop, reverse):
            expected = sorted(
                (k, v) for k, v in self.model.items()
                if (start is None or k >= start) and (stop is None or k < stop)
            )
            if reverse:
                expected.reverse()
            assert list(self.db.scan(start, stop, reverse)) == expected

        @rule(start=bounds, stop=bounds, reverse=st.booleans(), size=st.integers(1, 5))
        def scan_batches(self, start, stop, reverse, size):
            expected = sorted(
                (k, v) for k, v in self.model.items()
                if (start is None or k >= start) and (stop is None or k < stop)
            )
            if reverse:
                expected.reverse()
            found = []
            for batch_keys, batch_values in self.db.scan_batches(start, stop, reverse, batch=size):
                assert batch_keys and len(batch_keys) == len(batch_values)
                found += zip(batch_keys, batch_values)
            assert found == expected

        @rule(key=keys, value=values, reverse=st.booleans())
        def write_during_a_scan(self, key, value, reverse):
            """A scan is a snapshot: a write made while it runs is not seen by it."""
            expected = sorted(self.model.items(), reverse=reverse)
            scan = self.db.scan(reverse=reverse)
            first = list(itertools.islice(scan, 1))
            self.db.put(key, value)
            self.model[key] = value
            assert first + list(scan) == expected

        @precondition(lambda self: engine_name != storage.MEMORY)  # nothing outlives close
        @rule()
        def reopen(self):
            self.db.close()
            self.db = self._open()

        @rule()
        def compact(self):
            self.db.compact()

        @rule()
        def flush(self):
            self.db.flush()

        @precondition(lambda self: len(self.model) > 0)
        @rule(data=st.data())
        def overwrite_many(self, data):
            """Enough churn to roll segments and trigger automatic merges."""
            key = data.draw(st.sampled_from(sorted(self.model)))
            for i in range(40):
                value = bytes([i]) * 100
                self.db.put(key, value)
            self.model[key] = value

        @invariant()
        def length_matches(self):
            assert len(self.db) == len(self.model)

        def teardown(self):
            self.db.close()
            shutil.rmtree(self.dir, ignore_errors=True)

    EngineMatchesDict.__name__ = f"{engine_name.title()}EngineMatchesDict"
    return EngineMatchesDict


for _name in (*storage.ENGINES, storage.MEMORY):
    _machine = machine_for(_name)
    _machine.TestCase.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)
    globals()[f"Test{_machine.__name__}"] = _machine.TestCase
