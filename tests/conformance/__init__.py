"""Conformance suites (sqllogictest, PartiQL) and their runners; the data is under data/."""
