"""Timed work: APScheduler runs named jobs; the work itself is rows (bot/services/due.py)."""
