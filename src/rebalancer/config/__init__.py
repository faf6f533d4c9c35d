"""Typed configuration: TOML validated into frozen pydantic models; secrets from the environment.

`load_settings` is the one entry point; it returns `Settings` or raises `ConfigError` whose
`problems` are one line each, naming the field and the fix.
"""

from rebalancer.config.load import ConfigError, Settings, load_settings
from rebalancer.config.model import AppConfig, Mode

__all__ = ["AppConfig", "ConfigError", "Mode", "Settings", "load_settings"]
