"""The exchange adapter: ccxt behind our own types, error vocabulary and retry policy."""
