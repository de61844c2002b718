"""Provider adapters: one small interface per upstream wire format (see base.py)."""
