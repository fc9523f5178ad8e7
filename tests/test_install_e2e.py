"""csagent installed as a package (a built wheel, not the checkout) runs from any directory:
package data (sample data, knowledge base, training examples, phrasebook, migrations) is found
through importlib.resources, not through paths into the source tree."""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NOT_SOURCE = (".git", ".venv", ".csagent", "build", "*.egg-info", "__pycache__", ".*_cache")


@pytest.mark.slow
def test_the_installed_package_runs_the_demo_from_another_directory(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    # The dependencies come from the test environment (no download); csagent itself is built
    # into a wheel and installed, so nothing of the checkout is importable from the new venv.
    Path(purelib, "test-dependencies.pth").write_text(
        "\n".join(site.getsitepackages()) + "\n", encoding="utf-8"
    )
    # Built from a copy, so the build leaves nothing in the checkout.
    source = tmp_path / "source"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(*NOT_SOURCE))
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
         "--no-build-isolation", str(source)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr
    located = subprocess.run(
        [str(python), "-c", "import graph; print(graph.__file__)"],
        cwd=tmp_path, capture_output=True, text=True,
    )  # fmt: skip
    assert located.stdout.startswith(purelib), located.stdout + located.stderr

    elsewhere = tmp_path / "somewhere-else"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CSAGENT_PROCESSING")}
    env["CSAGENT_DATA_DIR"] = str(elsewhere / "data")
    demo = subprocess.run(
        [str(venv / "bin" / "csagent"), "demo", "--no-serve"],
        cwd=elsewhere, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert demo.returncode == 0, demo.stderr[-3000:]
    assert "threads:         46 added, 0 already there" in demo.stdout
    assert "POST demo-fr-status   -> auto_replied      intent order_status" in demo.stdout
    assert "knowledge base: 45 documents" in demo.stdout
    assert "compute_partial_refund(20567843-A, late_delivery) -> EUR 9.90" in demo.stdout
    assert "Traceback" not in demo.stderr
