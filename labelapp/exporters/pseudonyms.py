"""Pseudonymous labeller ids: stable across exports, never the username, not reversible without the key.

An HMAC of the user's id keyed by SECRET_KEY: the same labeller gets the same id in every export while
the key stays the same, and nobody holding only the dataset can recover who it was (a plain hash of a
username or id could be reversed by hashing every candidate).
"""

import hashlib
import hmac

from django.conf import settings


def labeller_pseudonym(labeller_id: int) -> str:
    digest = hmac.new(
        settings.SECRET_KEY.encode(), f"labelapp-labeller:{labeller_id}".encode(), hashlib.sha256
    ).hexdigest()
    return f"labeller-{digest[:12]}"
