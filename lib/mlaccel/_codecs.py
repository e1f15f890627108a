"""Leaf placeholder."""
