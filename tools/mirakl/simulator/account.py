"""The simulated shop account: A01, in the published shape (every field the spec requires)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from tools.mirakl.simulator.state import SimState, authorize

router = APIRouter(prefix="/api", dependencies=[Depends(authorize)])

CREATED = "2025-01-06T09:00:00Z"


@router.get("/account")
def account(state: SimState) -> dict[str, Any]:
    """A01: the shop the API key belongs to."""
    address = {
        "city": "Paris", "country": "FRA", "country_iso_code": "FRA",
        "street_1": "1 rue de la Paix", "zip_code": "75002",
    }  # fmt: skip
    return {
        "billing_info": {"bank_name": "", "iban": "", "owner": state.shop_name},
        "channels": [],
        "contact_informations": {
            "city": "Paris", "country": "FRA", "email": "shop@example.invalid",
            "firstname": "-", "lastname": "-", "street1": "1 rue de la Paix", "zip_code": "75002",
        },
        "currency_iso_code": "EUR",
        "date_created": CREATED,
        "default_billing_information": {
            "corporate_information": {"company_registration_name": state.shop_name},
            "default_language": "fr",
            "id": "1",
            "fiscal_information": {},
            "registration_address": address,
        },
        "domains": [],
        "evaluations_count": 0,
        "free_shipping": False,
        "is_professional": True,
        "last_updated_date": CREATED,
        "offers_count": 0,
        "orders_count": len(state.orders),
        "payment_details": {
            "payable_balance": 0, "paid_balance": 0, "pending_balance": 0, "sub_balances": [],
        },
        "payment_method_mandatory": False,
        "premium": False,
        "pro_details": {"corporate_name": state.shop_name, "identification_number": "0"},
        "shipping": {"shipping_country": "FRA"},
        "shipping_types": [],
        "shipping_zones": [],
        "shop_additional_fields": [],
        "shop_id": int(state.shop_id) if state.shop_id.isdigit() else 0,
        "shop_name": state.shop_name,
        "shop_state": "OPEN",
    }  # fmt: skip
