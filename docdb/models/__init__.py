"""docdb's data models on the storage layer: key encoding now; catalog, tables,
collections, indexes and transactions arrive with the rest of the models issue.

May import: ``storage`` and the standard library; never ``query`` or ``shell``.
"""
