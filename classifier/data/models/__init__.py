"""The model artefact shipped with the package (in data/: manifest.json and model.joblib)."""

from __future__ import annotations
