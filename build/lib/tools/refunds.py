"""The seller's partial-refund rules (config/refund_rules.yaml) and the arithmetic applying them.

`quote_refund` is pure: Decimal throughout, commercial rounding to the currency's minor unit. It
proposes an amount and says whether a human must approve it; it never refunds anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

# ISO 4217 minor units where they are not 2.
MINOR_UNITS = {"JPY": 0, "KRW": 0, "ISK": 0, "HUF": 2, "BHD": 3, "KWD": 3, "JOD": 3, "TND": 3}


class RefundRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    basis: Literal["price", "cost"]
    percent: Decimal = Field(ge=0, le=100)
    floor: Decimal = Field(default=Decimal("0"), ge=0)
    cap: Decimal | None = Field(default=None, ge=0)
    refund_shipping: bool = False
    approval_ceiling: Decimal | None = Field(default=None, ge=0)


class RefundRules(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str
    approval_ceiling: Decimal = Field(ge=0)
    reasons: dict[str, RefundRule]

    @classmethod
    def load(cls, path: Path) -> RefundRules:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and "version" in data:
            data["version"] = str(data["version"])
        return cls.model_validate(data)


class RefundError(ValueError):
    """The request cannot be quoted (unknown reason, unknown SKU, too many units, no cost)."""


@dataclass(frozen=True)
class RefundLine:
    sku: str
    qty: int
    unit_price: Decimal
    unit_cost: Decimal | None


@dataclass(frozen=True)
class RefundQuote:
    amount: Decimal
    items_amount: Decimal
    shipping_amount: Decimal
    currency: str
    reason: str
    rule_applied: str
    rules_version: str
    needs_approval: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "amount": str(self.amount),
            "items_amount": str(self.items_amount),
            "shipping_amount": str(self.shipping_amount),
            "currency": self.currency,
            "reason": self.reason,
            "rule_applied": self.rule_applied,
            "rules_version": self.rules_version,
            "needs_approval": self.needs_approval,
        }


def round_money(amount: Decimal, currency: str) -> Decimal:
    exponent = Decimal(1).scaleb(-MINOR_UNITS.get(currency.upper(), 2))
    return amount.quantize(exponent, rounding=ROUND_HALF_UP)


def quote_refund(
    rules: RefundRules,
    reason: str,
    lines: list[RefundLine],
    *,
    shipping_price: Decimal,
    currency: str,
) -> RefundQuote:
    """The refund the rules give for `reason` on `lines` (the units concerned)."""
    rule = rules.reasons.get(reason)
    if rule is None:
        known = ", ".join(sorted(rules.reasons))
        raise RefundError(f"unknown reason {reason!r}; the rules know: {known}")
    if not lines:
        raise RefundError("no order lines to refund")
    paid = sum((line.unit_price * line.qty for line in lines), Decimal("0"))
    if rule.basis == "cost":
        missing = ", ".join(line.sku for line in lines if line.unit_cost is None)
        if missing:
            raise RefundError(f"the rule for {reason} uses the unit cost, unknown for {missing}")
        base = sum(((line.unit_cost or Decimal("0")) * line.qty for line in lines), Decimal("0"))
    else:
        base = paid
    items = max(base * rule.percent / Decimal(100), rule.floor)
    if rule.cap is not None:
        items = min(items, rule.cap)
    items = round_money(min(items, paid), currency)  # never more than was paid for the lines
    shipping = round_money(shipping_price if rule.refund_shipping else Decimal("0"), currency)
    amount = items + shipping
    ceiling = rules.approval_ceiling if rule.approval_ceiling is None else rule.approval_ceiling
    return RefundQuote(
        amount=amount,
        items_amount=items,
        shipping_amount=shipping,
        currency=currency,
        reason=reason,
        rule_applied=f"{reason}: {describe_rule(rule)}",
        rules_version=rules.version,
        needs_approval=amount > ceiling,
    )


def describe_rule(rule: RefundRule) -> str:
    basis = "price paid" if rule.basis == "price" else "unit cost"
    parts = [f"{rule.percent.normalize():f} % of the {basis}"]
    if rule.floor:
        parts.append(f"at least {rule.floor:.2f}")
    if rule.cap is not None:
        parts.append(f"at most {rule.cap:.2f}")
    parts.append("shipping refunded" if rule.refund_shipping else "shipping not refunded")
    return ", ".join(parts)
