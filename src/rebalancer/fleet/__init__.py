"""Many portfolios on PostgreSQL workers: configs as data, procrastinate jobs, shared budgets.

The single-portfolio daemon stays the default; the fleet reuses its wake-up (`daemon.wake`),
the journal and its writer lease, so a fleet job is exactly one daemon wake-up, fenced.
"""
