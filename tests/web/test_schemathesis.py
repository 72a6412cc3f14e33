"""A bounded schemathesis run against the OpenAPI spec (in-process, over ASGI): generated
requests, valid and invalid, sent with a staff member's API token, must never get a 500 and
every response must match its documented schema. PARCOURS_SCHEMATHESIS_EXAMPLES bounds the
examples per operation."""

from __future__ import annotations

import os

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from engine.api.app import create_app
from engine.services.accounts import create_api_token
from tests.conftest import CIP
from tests.web.conftest import BASE

EXAMPLES = int(os.environ.get("PARCOURS_SCHEMATHESIS_EXAMPLES", "10"))


def test_no_server_error_and_no_schema_violation(web) -> None:
    headers = {"Authorization": f"Bearer {create_api_token(web, CIP, 'schemathesis')}"}
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(web, BASE))
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 40
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case) -> None:
            case.call_and_validate(
                headers=headers, checks=[not_a_server_error, response_schema_conformance]
            )

        run()
