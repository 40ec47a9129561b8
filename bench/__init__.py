"""Benchmarks: figures printed (against bare Temporal where it applies), never asserted."""
