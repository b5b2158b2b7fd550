"""The single exception type the inference package raises for caller-facing problems."""


class InferenceError(Exception):
    """Bad sampling parameters, a malformed request, or a model that cannot be found or loaded."""
