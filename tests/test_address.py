"""The new delivery address read from real-looking messages in the languages and postcode formats
sellers meet: never a wrong address written; anything ambiguous goes to a person."""

from __future__ import annotations

from pathlib import Path

import pytest

from graph.address import parse_address
from knowledge.language import detect_language

TABLE = Path(__file__).parent / "fixtures" / "addresses.tsv"
ROWS = [
    line.rstrip("\n").split("\t")
    for line in TABLE.read_text(encoding="utf-8").splitlines()
    if line.strip() and not line.startswith("#")
]


def test_the_table_is_large_and_varied() -> None:
    assert len(ROWS) >= 60
    countries = {row[6] for row in ROWS if row[2] != "-"}
    assert {"FRA", "DEU", "ESP", "ITA", "BEL", "CHE", "GBR", "IRL", "NLD", "PRT"} <= countries
    assert sum(row[2] == "-" for row in ROWS) >= 10  # ambiguous messages, reviewed


@pytest.mark.parametrize("row", ROWS, ids=[r[0][:50] for r in ROWS])
def test_never_a_wrong_address(row: list[str]) -> None:
    text, current = row[0], row[1]
    # As in the agent: the message's detected language helps to tell the country.
    parsed = parse_address(text, current, detect_language(text))
    if row[2] == "-":
        assert not parsed.complete, f"should go to a person, read {parsed.fields()}"
        assert parsed.problems
        return
    expected = {
        "street_1": row[2], "street_2": row[3] or None, "zip_code": row[4], "city": row[5],
        "country": row[6],
    }  # fmt: skip
    assert parsed.complete, parsed.problems
    got = {k: getattr(parsed, k) for k in expected}
    assert got == expected


def test_a_phone_number_is_read() -> None:
    parsed = parse_address(
        "Nouvelle adresse : 4 quai des Chartrons, 33000 Bordeaux. Tél : +33 6 11 22 33 44"
    )
    assert parsed.phone == "+33 6 11 22 33 44"
