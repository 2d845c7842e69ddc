"""Disclosure control: record-level minimisation and k-anonymity, and table output checking."""
