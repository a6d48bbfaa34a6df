"""docdb: an embedded database for Python holding JSON documents and relational tables.

``docdb.connect(path)`` opens a database directory (``":memory:"`` for a
temporary one); the connection gives tables (``create_table``, ``table``) and
collections with a pymongo-shaped API (``collection``), with PEP 249
transactions. Layers (see the engineering guide): ``docdb.models`` holds the
data models on the ``storage`` engines; ``docdb.connection`` is the public
connection. The public names are loaded on first use (PEP 562), so importing
``docdb`` stays cheap and never drags in layers above the models.
"""

from __future__ import annotations

from typing import Any

from docdb import errors
from docdb.errors import *  # noqa: F403 - the PEP 249 exceptions are module attributes

__version__ = "0.1.0"

apilevel = "2.0"
threadsafety = 1
paramstyle = "qmark"

__all__ = ["__version__", "apilevel", "threadsafety", "paramstyle", "connect", "Connection",  # noqa: F405
           "InsertOne", "UpdateOne", "UpdateMany", "ReplaceOne", "DeleteOne", "DeleteMany",
           "BulkWriteResult", "ReturnDocument", "register_adapter", "register_converter",
           "PARSE_DECLTYPES", "PARSE_COLNAMES", "Row"]
__all__ += errors.__all__

_LAZY = {"connect": "docdb.connection", "Connection": "docdb.connection"}
# pymongo's names, importable from docdb as from pymongo
_LAZY.update(dict.fromkeys(["InsertOne", "UpdateOne", "UpdateMany", "ReplaceOne", "DeleteOne", "DeleteMany",
                            "BulkWriteResult", "ReturnDocument"], "docdb.models.writes"))
_LAZY["register_adapter"] = "docdb.adapters"
_LAZY.update(dict.fromkeys(["register_converter", "PARSE_DECLTYPES", "PARSE_COLNAMES"], "docdb.converters"))
_LAZY["Row"] = "docdb.row"


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'docdb' has no attribute {name!r}")
