"""Runnable benchmarks for presales-bot (not part of the pytest suite).

``python -m bench.all`` runs every benchmark with modest defaults and prints the
figures as tables; each module also runs alone (``python -m bench.ack_latency -h``).
See bench/README.md for what is measured and the targets.
"""
