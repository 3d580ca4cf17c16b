"""schemathesis against the admin API's own OpenAPI document, on a live gateway, with the operator's
token: whatever it generates (valid and invalid), no answer is a 5xx and every answer matches the
document — status codes and bodies."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from .conftest import ADMIN_TOKEN, TENANCY_YAML, Gateway


@pytest.fixture(scope="module")
def admin_gateway(tmp_path_factory) -> Iterator[Gateway]:
    gw = Gateway(tmp_path_factory.mktemp("schema"), TENANCY_YAML)
    gw.start()
    yield gw
    assert gw.stop() == 0


def test_admin_api_matches_its_document(admin_gateway: Gateway) -> None:
    # Driven by hand (not schemathesis' pytest plugin, which does not run on pytest 9): each
    # operation's strategy through hypothesis, every check on every answer.
    schema = schemathesis.openapi.from_url(admin_gateway.admin_url + "/admin/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 30

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(
                base_url=admin_gateway.admin_url,
                headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
                checks=[
                    not_a_server_error,
                    status_code_conformance,
                    content_type_conformance,
                    response_schema_conformance,
                ],
            )

        check()
