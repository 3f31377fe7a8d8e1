"""Property-based fuzzing of every documented operation (Schemathesis), on both backends.

Every answer must be no server error, a documented status code, the documented content
type and a body of the documented schema; a method a path does not have must be 405. The
number of examples per operation is bounded (40, derandomized): ~10 s per backend here.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import checks
from schemathesis.core.result import Ok

from tests.support.api_fixtures import Api

pytestmark = pytest.mark.slow

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.unsupported_method,
]


def test_every_operation_holds_its_contract(api: Api) -> None:
    api.create()  # something to read, so reads get past their 404s
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.client.app)
    failures: dict[str, str] = {}
    cases: Counter[str] = Counter()
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result  # a route the schema cannot describe
        operations.append(result.ok())
    assert len(operations) > 20, "every route should be documented"
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=40,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,  # the same cases every run: a failure here reproduces
            database=None,
        )
        def fuzz(case: Any) -> None:
            cases[case.operation.label] += 1
            case.call_and_validate(headers=api.auth, checks=CHECKS)

        try:
            fuzz()
        except (Exception, BaseExceptionGroup) as exc:  # every broken operation reported
            failures[operation.label] = " ".join(str(exc).split())[:600]
    assert not failures, "\n".join(f"{k}: {v}" for k, v in failures.items())
    # the bodies routes read themselves are documented, so they are fuzzed too
    for label in ("POST /api/v1/studies", "POST /api/v1/datasets", "POST /api/v1/campaigns"):
        assert cases[label] >= 20, (label, cases[label])
    print(f"schemathesis: {sum(cases.values())} cases over {len(cases)} operations")
