"""Mirakl Seller API: typed client, contract-faithful simulator, reconciliation sync."""
