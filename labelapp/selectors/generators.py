from django.db.models import QuerySet

from labelapp.errors import NotFoundError
from labelapp.models import Generator


def generators_list() -> QuerySet[Generator]:
    """Every generator, by name: what a campaign's jobs and judges may name."""
    return Generator.objects.order_by("name")


def generator_get(*, name: str) -> Generator:
    generator = Generator.objects.filter(name=name).first()
    if generator is None:
        known = ", ".join(generators_list().values_list("name", flat=True)[:20]) or "none yet"
        raise NotFoundError(f"Generator '{name}' does not exist (known: {known}).", {"field": "generator"})
    return generator
