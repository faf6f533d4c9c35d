"""futures-rebalancer: keep a crypto portfolio on target with <=1x perpetual-futures hedges."""

__version__ = "0.1.0"
