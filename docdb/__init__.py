"""docdb: an embedded database for Python holding JSON documents and relational tables.

This package will hold two layers (see the engineering guide, shared/GUIDE.md):

- ``docdb.models``: the data models (catalog, key encoding, tables, collections, indexes,
  transactions) built on the ``storage`` engines;
- the public API (``connect``, ``Connection``, ``Cursor``, ``Collection``) on top of the
  ``query`` package.

Neither exists yet: both arrive in later issues. For now the package only carries the
project's version, which ``pyproject.toml`` reads as its single source of truth.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
