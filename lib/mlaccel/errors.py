"""The errors mlaccel raises on purpose."""


class MLAccelError(Exception):
    """Base class of every error mlaccel raises on purpose."""


class MLAccelInputError(MLAccelError, ValueError):
    """An argument or a data set is not what the function needs; the message says how to fix it."""
