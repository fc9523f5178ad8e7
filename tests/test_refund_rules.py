"""The refund arithmetic, table-driven over reasons, amounts, floors, caps and rounding."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from store.settings import Settings
from tools.refunds import RefundError, RefundLine, RefundRule, RefundRules, quote_refund

RULES = RefundRules.load(Settings().refund_rules_path)
D = Decimal


def line(price: str, qty: int = 1, cost: str | None = None, sku: str = "SKU-1") -> RefundLine:
    return RefundLine(sku, qty, D(price), D(cost) if cost is not None else None)


@pytest.mark.parametrize(
    ("reason", "lines", "shipping", "amount", "items", "approval"),
    [
        # damaged: 100 % of the price, shipping refunded, no cap
        ("damaged", [line("39.90")], "4.90", "44.80", "39.90", False),
        ("damaged", [line("399.00")], "0", "399.00", "399.00", True),
        # missing part: 30 % of the price, floor 5, cap 60, shipping kept
        ("missing_part", [line("39.90")], "4.90", "11.97", "11.97", False),
        ("missing_part", [line("39.90", qty=2)], "4.90", "23.94", "23.94", False),
        ("missing_part", [line("399.00")], "0", "60.00", "60.00", True),
        ("missing_part", [line("16.75")], "4.90", "5.03", "5.03", False),  # 5.025 rounds half up
        ("missing_part", [line("10.00")], "4.90", "5.00", "5.00", False),  # floor
        # late delivery: 10 %, floor 5, cap 25, shipping refunded
        ("late_delivery", [line("39.90")], "4.90", "9.90", "5.00", False),
        ("late_delivery", [line("189.00")], "0", "18.90", "18.90", False),
        ("late_delivery", [line("399.00")], "0", "25.00", "25.00", False),
        ("late_delivery", [line("3.00")], "4.90", "7.90", "3.00", False),  # floor > price paid
        # cosmetic defect: 40 % of the unit cost, floor 5, cap 80, its own approval ceiling of 40
        ("cosmetic_defect", [line("39.90", cost="19.15")], "4.90", "7.66", "7.66", False),
        ("cosmetic_defect", [line("249.00", cost="144.42")], "0", "57.77", "57.77", True),
        ("cosmetic_defect", [line("399.00", cost="239.40", qty=2)], "0", "80.00", "80.00", True),
    ],
)
def test_refund_quotes(
    reason: str, lines: list[RefundLine], shipping: str, amount: str, items: str, approval: bool
) -> None:
    quote = quote_refund(RULES, reason, lines, shipping_price=D(shipping), currency="EUR")
    assert quote.amount == D(amount)
    assert quote.items_amount == D(items)
    assert quote.shipping_amount + quote.items_amount == quote.amount
    assert quote.needs_approval is approval
    assert quote.rules_version == RULES.version
    assert quote.rule_applied.startswith(f"{reason}: ")


def test_currency_minor_units() -> None:
    rules = RefundRules(
        version="t", approval_ceiling=D("100000"),
        reasons={"goodwill": RefundRule(basis="price", percent=D("30"))},
    )  # fmt: skip
    quote = quote_refund(rules, "goodwill", [line("1005")], shipping_price=D("0"), currency="JPY")
    assert str(quote.amount) == "302"  # 301.5 yen rounds half up to whole yen
    euros = quote_refund(rules, "goodwill", [line("10.05")], shipping_price=D("0"), currency="EUR")
    assert str(euros.amount) == "3.02"  # 3.015 rounds half up to the cent


def test_rule_description_says_what_was_applied() -> None:
    quote = quote_refund(
        RULES, "late_delivery", [line("39.90")], shipping_price=D("4.90"), currency="EUR"
    )
    assert quote.rule_applied == (
        "late_delivery: 10 % of the price paid, at least 5.00, at most 25.00, shipping refunded"
    )


@pytest.mark.parametrize(
    ("reason", "lines", "message"),
    [
        (
            "changed_mind",
            [line("10")],
            "unknown reason 'changed_mind'; the rules know: cosmetic_defect",
        ),
        ("damaged", [], "no order lines to refund"),
        ("cosmetic_defect", [line("10", sku="KET-1")], "uses the unit cost, unknown for KET-1"),
    ],
)
def test_unquotable_requests_say_why(reason: str, lines: list[RefundLine], message: str) -> None:
    with pytest.raises(RefundError, match=message):
        quote_refund(RULES, reason, lines, shipping_price=D("0"), currency="EUR")


def test_rules_file_is_validated(tmp_path: Path) -> None:
    bad = tmp_path / "rules.yaml"
    bad.write_text(
        "version: 1\napproval_ceiling: 50\nreasons:\n  damaged: {basis: weight, percent: 10}\n"
    )
    with pytest.raises(ValueError, match="basis"):
        RefundRules.load(bad)
    assert set(RULES.reasons) == {"damaged", "missing_part", "late_delivery", "cosmetic_defect"}
