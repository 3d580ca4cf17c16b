from .loader import ConfigError, load_config, parse_config
from .schema import Config

__all__ = ["Config", "ConfigError", "load_config", "parse_config"]
