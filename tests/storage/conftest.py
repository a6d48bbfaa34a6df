"""Fixtures shared by the storage tests: every engine, with tiny thresholds.

Small segment and memtable sizes make rollover, flush, merge and compaction
happen inside every test run instead of only at production sizes.
"""

import pytest

import storage

SMALL_OPTIONS = {
    "hash": {"segment_bytes": 4096, "merge_min_bytes": 1024, "sync_interval": 0.05,
             "keydir_dict_max": 16, "keydir_block": 4},
    "lsm": {"memtable_bytes": 2048, "block_bytes": 256, "fanout": 2, "sync_interval": 0.05},
}


@pytest.fixture(params=(*storage.ENGINES, storage.MEMORY))
def engine_name(request):
    """Every engine; a test marked ``files`` (it reopens, locks or inspects the engine's
    directory) is skipped for the memory engine, which has none."""
    if request.param == storage.MEMORY and request.node.get_closest_marker("files"):
        pytest.skip("the memory engine keeps no files")
    return request.param


@pytest.fixture
def open_engine(engine_name, tmp_path):
    """``open_engine(**overrides)`` opens the engine under test in ``tmp_path/db``; all get closed."""
    opened = []

    def _open(path=None, **overrides):
        options = {**SMALL_OPTIONS.get(engine_name, {}), "sync": "off", **overrides}
        engine = storage.open(path or tmp_path / "db", engine=engine_name, **options)
        opened.append(engine)
        return engine

    yield _open
    for engine in opened:
        engine.close()
