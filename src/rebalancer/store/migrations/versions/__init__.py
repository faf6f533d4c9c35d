"""Migration scripts, oldest first; revision ids are `rebalancer_NNNN`."""
