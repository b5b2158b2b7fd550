"""Numbers as the report pages print them: shares as whole percents, proportions with their interval."""

from django import template

from labelapp.reports.proportions import Proportion

register = template.Library()


@register.filter
def percent(share: float | None) -> str:
    return "–" if share is None else f"{share * 100:.0f}%"


@register.filter
def interval(value: Proportion) -> str:
    """A proportion's 95% Wilson interval, "12–40%"; "–" without a total."""
    if value.low is None or value.high is None:
        return "–"
    return f"{value.low * 100:.0f}–{value.high * 100:.0f}%"
