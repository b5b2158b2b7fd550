"""The exception types the inference package raises for caller-facing problems."""


class InferenceError(Exception):
    """Bad sampling parameters, a malformed request, or a model that cannot be found or loaded."""


class InferenceUnavailable(InferenceError):
    """A transient failure of a remote inference server: unreachable, timed out, overloaded (429) or 5xx.

    Raised after the backend's own short retries; trying again later may succeed.
    """
