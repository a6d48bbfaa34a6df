"""docdb's benchmarks: ``python -m bench <suite>``; ``python -m bench --help`` lists suites.

Each suite measures docdb beside its reference systems in the same process run,
repeats and keeps the best, prints a markdown table with speedup ratios, and
writes bench/results/<suite>.json so runs can be compared across changes.
Benchmarks are never asserted in tests: timings vary by machine.
"""
