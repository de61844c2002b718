"""Policies: rules applied to every request, in the order of ``policies.yaml``."""
