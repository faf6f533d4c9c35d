"""Services: one rebalance cycle, order execution and reconciliation around the pure core."""
