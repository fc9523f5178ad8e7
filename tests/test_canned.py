"""Canned responses (knowledge/canned.py): the shop's ready answers, filled from the thread."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from knowledge.canned import LANGUAGES, canned_for, load_canned

FACTS = {"customer": "Laura Fischer", "order": "20481-A", "tracking": "https://t.example/42",
         "carrier": "DHL", "shop": "Maison Électro"}  # fmt: skip


def test_the_shipped_responses_exist_in_every_language_with_known_placeholders() -> None:
    entries = load_canned()
    assert entries and all(set(e["text"]) == set(LANGUAGES) for e in entries)


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_response_is_filled_in_the_threads_language(language: str) -> None:
    [tracking] = [c for c in canned_for(language, FACTS) if c.id == "tracking"]
    assert tracking.language == language and tracking.missing == ()
    assert "Laura Fischer" in tracking.text and "20481-A" in tracking.text
    assert "https://t.example/42" in tracking.text and "DHL" in tracking.text
    assert "{" not in tracking.text


def test_what_the_thread_cannot_fill_stays_visible_and_a_language_falls_back() -> None:
    [tracking] = [c for c in canned_for("nl", {"customer": "Jan"}) if c.id == "tracking"]
    assert tracking.language == "en"
    assert set(tracking.missing) == {"order", "carrier", "tracking", "shop"}
    assert "[tracking?]" in tracking.text and "[order?]" in tracking.text


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("- id: x\n  title: X\n  text:\n    en: 'Hi {nme}'\n", "unknown placeholder ['nme']"),
        ("- id: x\n  title: X\n  text:\n    nl: 'Hoi'\n", "unknown language 'nl'"),
        ("- id: x\n  text:\n    en: 'Hi'\n", "needs an id and a title"),
        ("just text\n", "a list of canned responses"),
    ],
)
def test_a_wrong_canned_file_is_refused_at_startup_with_what_is_wrong(
    tmp_path: Path, content: str, says: str
) -> None:
    bad = tmp_path / "canned.yaml"
    bad.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=r".*"):
        load_canned(bad)
    env = {**os.environ, "CSAGENT_CANNED_FILE": str(bad), "CSAGENT_DATA_DIR": str(tmp_path)}
    run = subprocess.run(
        [sys.executable, "-m", "cli", "--help"], env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert run.returncode == 2
    assert "invalid configuration" in run.stderr and says in run.stderr
