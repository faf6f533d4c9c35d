"""The long-lived service: scheduling, signals, safety controls, health and metrics."""
