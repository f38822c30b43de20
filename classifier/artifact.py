"""The model artefact: fitted models saved with a manifest (version, checksum, metadata)."""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import os
import pickle
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from classifier.model import TextModels

__all__ = [
    "INFERENCE_FILE",
    "MANIFEST_FILE",
    "MODEL_FILE",
    "ArtifactInfo",
    "ModelArtifact",
    "ModelArtifactError",
    "default_artifact_dir",
    "load_artifact",
    "save_artifact",
]

log = logging.getLogger(__name__)

MANIFEST_FILE = "manifest.json"
MODEL_FILE = "model.joblib"
# The same models without scikit-learn objects (TextModels.freeze): what loading reads when
# present, so a command or a daemon starts without importing scikit-learn (about 1.5 s).
INFERENCE_FILE = "inference.pickle.gz"
FORMAT = 1
_DEFAULT_PACKAGE = "classifier.data.models"
_DEFAULT_SUBDIR = "data"


class ModelArtifactError(Exception):
    """A model artefact is missing, incomplete, altered or unreadable."""


@dataclass(frozen=True, slots=True)
class ArtifactInfo:
    """What the manifest says about an artefact."""

    version: str
    created_at: str
    sha256: str
    spec: str
    training: dict[str, Any] = field(default_factory=dict)
    scores: dict[str, Any] = field(default_factory=dict)
    sklearn_version: str = ""
    inference_sha256: str = ""

    def to_json(self) -> dict[str, Any]:
        """Return the manifest as a JSON-ready dict."""
        inference = (
            {"inference_file": INFERENCE_FILE, "inference_sha256": self.inference_sha256}
            if self.inference_sha256
            else {}
        )
        return {
            "format": FORMAT,
            "version": self.version,
            "created_at": self.created_at,
            "model_file": MODEL_FILE,
            "sha256": self.sha256,
            "spec": self.spec,
            "sklearn_version": self.sklearn_version,
            **inference,
            "training": self.training,
            "scores": self.scores,
        }


@dataclass(frozen=True, slots=True)
class ModelArtifact:
    """Loaded models with their manifest."""

    models: TextModels
    info: ArtifactInfo
    path: Path

    @property
    def version(self) -> str:
        """Return the version stored with every classification made with these models."""
        return self.info.version


def default_artifact_dir() -> Path:
    """Return the directory of the artefact shipped in the package."""
    return Path(str(resources.files(_DEFAULT_PACKAGE).joinpath(_DEFAULT_SUBDIR)))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def save_artifact(
    models: TextModels,
    directory: Path,
    *,
    training: dict[str, Any] | None = None,
    scores: dict[str, Any] | None = None,
    created_at: datetime | None = None,
) -> ArtifactInfo:
    """Write ``models`` and their manifest into ``directory`` (created if needed).

    The version is ``<family>:<date>+<first 10 hex digits of the model file's SHA-256>``, e.g.
    ``tfidf-lr:2026-11-23+3f9a1c2e4b``. Every file is written to a temporary name first and
    only then renamed into place, model first and manifest last: a process killed while
    writing (seconds, for the model) leaves the previous artefact whole, not a manifest whose
    checksum names a model file that is no longer there.
    """
    import joblib  # type: ignore[import-untyped]
    import sklearn

    directory.mkdir(parents=True, exist_ok=True)
    created = (created_at or datetime.now(UTC)).astimezone(UTC)
    staged: list[tuple[Path, Path]] = []
    try:
        model_tmp, digest = _stage(
            directory / MODEL_FILE, lambda p: joblib.dump(models, p, compress=3)
        )
        staged.append((model_tmp, directory / MODEL_FILE))
        frozen = models.freeze()
        inference_digest = ""
        if frozen is not None:
            inference_tmp, inference_digest = _stage_inference(frozen, directory, digest)
            staged.append((inference_tmp, directory / INFERENCE_FILE))
        info = ArtifactInfo(
            version=f"{models.spec.family}:{created.date().isoformat()}+{digest[:10]}",
            created_at=created.isoformat(timespec="seconds"),
            sha256=digest,
            spec=models.spec.describe(),
            training=training or {},
            scores=scores or {},
            sklearn_version=sklearn.__version__,
            inference_sha256=inference_digest,
        )
        manifest = json.dumps(info.to_json(), ensure_ascii=False, indent=2) + "\n"
        manifest_tmp, _ = _stage(
            directory / MANIFEST_FILE, lambda p: p.write_text(manifest, encoding="utf-8")
        )
        staged.append((manifest_tmp, directory / MANIFEST_FILE))
        if frozen is None:
            (directory / INFERENCE_FILE).unlink(missing_ok=True)
        for tmp, target in staged:
            tmp.replace(target)
    finally:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
    return info


def _stage(target: Path, dump: Callable[[Path], object]) -> tuple[Path, str]:
    """Write a file to a temporary name beside ``target``; return that name and its SHA-256."""
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        dump(tmp)
        tmp.chmod(0o644)  # mkstemp makes it private; the artefact is ordinary data
        return tmp, _sha256(tmp)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _write(target: Path, dump: Callable[[Path], object]) -> str:
    """Write a file through a temporary name beside it; return its SHA-256."""
    tmp, digest = _stage(target, dump)
    try:
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)
    return digest


def _inference_dump(frozen: TextModels, model_sha256: str) -> Callable[[Path], None]:
    payload = {"model_sha256": model_sha256, "models": frozen}

    def dump(path: Path) -> None:
        with gzip.open(path, "wb", compresslevel=6) as handle:
            pickle.dump(payload, handle, protocol=5)

    return dump


def _stage_inference(frozen: TextModels, directory: Path, model_sha256: str) -> tuple[Path, str]:
    return _stage(directory / INFERENCE_FILE, _inference_dump(frozen, model_sha256))


def write_inference_file(frozen: TextModels, directory: Path, *, model_sha256: str) -> str:
    """Write frozen models (``TextModels.freeze``) as the artefact's inference file.

    The file names the model file it was frozen from (``model_sha256``): a frozen copy left
    beside another model (a manifest merged by hand, a model file replaced) is never used.
    """
    return _write(directory / INFERENCE_FILE, _inference_dump(frozen, model_sha256))


def read_manifest(directory: Path) -> ArtifactInfo:
    """Read and check an artefact's manifest without loading the models.

    Raises:
        ModelArtifactError: when the manifest is missing or malformed.
    """
    path = directory / MANIFEST_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise ModelArtifactError(
            f"no model artefact in {directory}: {MANIFEST_FILE} is missing "
            "(run `incident-management train`)"
        ) from err
    except (OSError, ValueError) as err:
        raise ModelArtifactError(f"model manifest {path} is unreadable: {err}") from err
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ModelArtifactError(f"model manifest {path} is not format {FORMAT}")
    try:
        return ArtifactInfo(
            version=str(data["version"]),
            created_at=str(data["created_at"]),
            sha256=str(data["sha256"]),
            spec=str(data.get("spec", "")),
            training=dict(data.get("training") or {}),
            scores=dict(data.get("scores") or {}),
            sklearn_version=str(data.get("sklearn_version", "")),
            inference_sha256=str(data.get("inference_sha256", "")),
        )
    except (KeyError, TypeError, ValueError) as err:
        raise ModelArtifactError(f"model manifest {path} lacks {err}") from err


def load_artifact(directory: Path | None = None) -> ModelArtifact:
    """Load an artefact (the shipped default when ``directory`` is None), checking its checksum.

    Only the model files named in our own manifest are unpickled, and only when their SHA-256
    equals the one the manifest records. The frozen copy (``INFERENCE_FILE``) is read when the
    manifest names it: the same models without scikit-learn objects, so scikit-learn is not
    imported; otherwise the full model file.

    Raises:
        ModelArtifactError: when the artefact is missing, altered, or cannot be loaded.
    """
    directory = directory or default_artifact_dir()
    info = read_manifest(directory)
    model_path = directory / MODEL_FILE
    if not model_path.is_file():
        raise ModelArtifactError(f"model file {model_path} is missing")
    _check(model_path, info.sha256)  # the artefact's identity, even when the frozen copy loads
    inference = directory / INFERENCE_FILE
    if info.inference_sha256 and inference.is_file():
        frozen = _load_inference(inference, info)
        if frozen is not None:
            return ModelArtifact(models=frozen, info=info, path=directory)
    import joblib
    import sklearn

    try:
        models = joblib.load(model_path)
    except Exception as err:  # joblib/pickle raise many kinds on a bad or foreign file
        raise ModelArtifactError(
            f"model file {model_path} cannot be loaded ({type(err).__name__}: {err}); "
            f"it was written with scikit-learn {info.sklearn_version or '?'}, "
            f"this is {sklearn.__version__}: retrain with `incident-management train`"
        ) from err
    if not isinstance(models, TextModels):
        raise ModelArtifactError(f"model file {model_path} does not hold text models")
    return ModelArtifact(models=models, info=info, path=directory)


def _check(path: Path, expected: str) -> None:
    actual = _sha256(path)
    if actual != expected:
        raise ModelArtifactError(
            f"model file {path} does not match its manifest's checksum "
            f"(expected {expected[:12]}…, found {actual[:12]}…): refusing to load it"
        )


def _load_inference(path: Path, info: ArtifactInfo) -> TextModels | None:
    """Unpickle the frozen models, once their checksum is the manifest's.

    Returns None (the full model file is read instead) when they were frozen from another
    model file than the manifest's.
    """
    _check(path, info.inference_sha256)
    try:
        with gzip.open(path, "rb") as handle:
            payload = pickle.load(handle)  # noqa: S301 - our own file, checksum verified above
    except Exception as err:  # a bad or foreign file raises many kinds
        raise ModelArtifactError(
            f"model file {path} cannot be loaded ({type(err).__name__}: {err}): "
            "retrain with `incident-management train`"
        ) from err
    if not isinstance(payload, dict) or not isinstance(payload.get("models"), TextModels):
        raise ModelArtifactError(f"model file {path} does not hold text models")
    if payload.get("model_sha256") != info.sha256:
        log.warning(
            "%s was frozen from another model than %s; loading the full model instead "
            "(run `incident-management train`, or save the artefact again, to refresh it)",
            path,
            MODEL_FILE,
        )
        return None
    models: TextModels = payload["models"]
    return models
