"""What a correctness or coherence labeller picks from, taken from the kind modules that validate it."""

from django import template

from labelapp.kinds import coherence, correctness
from labelapp.models import Campaign

register = template.Library()


@register.simple_tag
def error_categories(campaign: Campaign) -> tuple[str, ...]:
    """The campaign's error categories, or the defaults."""
    return correctness.error_categories(campaign.error_categories)


@register.simple_tag
def incoherence_reasons() -> list[tuple[str, str]]:
    """(value, text shown) of each reason an answer may be incoherent."""
    return list(coherence.REASONS.items())
