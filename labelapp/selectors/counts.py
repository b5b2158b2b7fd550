from django.db.models import Count, IntegerField, Model, OuterRef, Subquery
from django.db.models.functions import Coalesce


def related_count(model: type[Model], outer: str, **filters: object) -> Coalesce:
    """COUNT of `model` rows whose `outer` field is the annotated row, as a subquery (0 when none).

    A subquery, not a JOIN, so several counts on one queryset do not multiply each other, and a
    FOR UPDATE on the outer rows needs no GROUP BY.
    """
    counted = model._default_manager.filter(**{outer: OuterRef("pk")}, **filters).order_by().values(outer)
    return Coalesce(Subquery(counted.annotate(c=Count("pk")).values("c"), output_field=IntegerField()), 0)
