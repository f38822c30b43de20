"""Gazetteer data: one JSON file per region, built by tools/build_gazetteer.py."""
