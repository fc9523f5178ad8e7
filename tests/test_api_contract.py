"""The HTTP API against its own OpenAPI schema, with schemathesis (generated requests, bounded):
no 5xx, documented status codes, bodies that conform, schema-valid input accepted."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
from pydantic import SecretStr

from api.app import create_app
from store.settings import Settings

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("paths", "key"), [("^/api/v1", "webhook-key"), ("^/internal/v1", "internal-key")]
)
def test_the_api_keeps_its_openapi_contract(
    db_url: str,
    serve_app: Callable[..., AbstractContextManager[str]],
    tmp_path: Path,
    paths: str,
    key: str,
) -> None:
    settings = Settings(
        api_key=SecretStr("webhook-key"), internal_api_key=SecretStr("internal-key")
    )
    with serve_app(create_app(settings, queue_worker=False), lifespan="on") as url:
        result = subprocess.run(
            [str(SCHEMATHESIS), "run", f"{url}/openapi.json", "-H", f"X-API-Key: {key}",
             "--checks", "all", "--max-examples", "25", "--seed", "20261129",
             "--include-path-regex", paths],
            cwd=tmp_path, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
    assert result.returncode == 0, result.stdout[-6000:]
