"""Assertions and checks: residue (what a test left behind), and more to come."""
