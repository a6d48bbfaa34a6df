"""docdb's query language: grammar, parser, binder, planner, optimizer and executor.

Nothing is implemented yet: the query language arrives in a later issue.
"""
