"""Data files shipped with the classifier package."""
