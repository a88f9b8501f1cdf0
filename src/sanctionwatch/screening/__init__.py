"""Screening: load sanctions lists and watchlists, match AIS vessels against them, build networks."""
