"""Payments with Stripe (see ``service.py`` and docs/payments.md)."""
