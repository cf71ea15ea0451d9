"""Benchmarks: `make bench` runs every section and writes a report to bench/reports/."""
