"""Presenting domain values to people (rich tables) and to scripts (stable JSON)."""
