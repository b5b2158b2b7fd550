"""schemathesis over the OpenAPI schema: for every operation, generated requests (valid and invalid) as a
labeller and as staff never get a 500, and every answer matches the schema (status code, content type,
body). Bounded: a few examples per operation.

All of schemathesis's checks run but one: a request the schema allows may still be refused with a 400,
because a label's `value` is checked against the item's task kind, which one schema cannot state per item.
"""

import pytest
import schemathesis
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle
from schemathesis.specs.openapi.checks import positive_data_acceptance

from labelapp.services.leases import lease_next

OPENAPI = SchemaGenerator().get_schema(request=None, public=True)
schema = schemathesis.openapi.from_dict(OPENAPI)
schema.app = WSGIHandler()
MAX_EXAMPLES = 12


@pytest.fixture
def api_users(campaign, pairwise_items, labeller, staff, monkeypatch) -> dict[str, str]:
    """Tokens of a labeller (with a live lease) and of staff; no rate limit; one database transaction."""
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"user": None})
    # As Django's test client does: a request must not close the test's connection (and its transaction).
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    lease_next(labeller=labeller, campaign=campaign)
    yield {"labeller": Token.objects.create(user=labeller).key, "staff": Token.objects.create(user=staff).key}
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def test_the_tested_schema_is_the_one_the_api_serves(api_users):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_users['labeller']}")
    served = client.get("/api/schema/", {"format": "json"})
    assert served.status_code == 200 and served.json() == OPENAPI


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,  # the same examples on every run: a failure here is never a fluke
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_every_operation_answers_as_its_schema_says(case, api_users, campaign):
    if "campaign" in case.path_parameters:  # a real campaign too, not only names that do not exist
        case.path_parameters["campaign"] = campaign.name
    for role in ("labeller", "staff"):
        case.call_and_validate(
            headers={"Authorization": f"Token {api_users[role]}"}, excluded_checks=[positive_data_acceptance]
        )
