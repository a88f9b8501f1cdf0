"""Sanctions list and watchlist loaders (one module per publisher's format)."""
