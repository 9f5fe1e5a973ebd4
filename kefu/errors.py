"""Errors the SDK raises: typed, so callers can tell bad input from everything else."""


class KefuError(Exception):
    """Base class of kefu's errors."""


class InvalidMessage(KefuError, TypeError):
    """The message is not text (bytes, None, numbers...): nothing was sent to the assistant."""


class ConfigError(KefuError, ValueError):
    """The configuration cannot be used (unknown plugin, missing model, bad URL)."""
