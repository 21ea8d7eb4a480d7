"""Checklist files on disk: loading every version, and storing new ones.

Three places hold checklist YAML: the files shipped in ``knowledge/data/checklists``,
the data dir's ``checklists/`` (ingested and published versions, one folder per
checklist id, ``v<N>.yaml`` per version) and any extra folders in settings. The
newest version of each checklist id is current; older ones are superseded and stay
readable by version. A file that fails validation is reported and skipped, and the
version loaded from it before (if any) stays in service.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from knowledge.errors import ChecklistNotFound, ChecklistValidationError, FieldProblem
from knowledge.schema import Checklist, Status, dump_checklist, load_checklist_text

log = logging.getLogger(__name__)


def shipped_dir() -> Path:
    return Path(str(resources.files("knowledge") / "data" / "checklists"))


@dataclass(frozen=True)
class Catalog:
    """Every loaded checklist version, and which are current."""

    versions: dict[str, dict[int, Checklist]]
    paths: dict[tuple[str, int], Path]
    errors: tuple[ChecklistValidationError, ...] = ()
    signature: tuple = ()

    @property
    def current(self) -> list[Checklist]:
        out = []
        for checklist_id in sorted(self.versions):
            by_version = self.versions[checklist_id]
            out.append(by_version[max(by_version)])
        return out

    def get(self, checklist_id: str, version: int | None = None) -> Checklist:
        by_version = self.versions.get(checklist_id)
        if not by_version:
            raise ChecklistNotFound(checklist_id)
        if version is None:
            return by_version[max(by_version)]
        if version not in by_version:
            raise ChecklistNotFound(f"{checklist_id} v{version}")
        return by_version[version]

    def fingerprint(self) -> str:
        """A hash of the current checklists' content: the index is rebuilt when it changes."""
        digest = hashlib.sha256()
        for checklist in self.current:
            digest.update(dump_checklist(checklist).encode("utf-8"))
        return digest.hexdigest()


@dataclass
class ChecklistStore:
    """Reads and writes checklist files; knows nothing of indexes or HTTP."""

    data_dir: Path
    extra_dirs: list[Path] = field(default_factory=list)
    include_shipped: bool = True

    def folders(self) -> list[Path]:
        folders = [shipped_dir()] if self.include_shipped else []
        return folders + list(self.extra_dirs) + [self.data_dir]

    def files(self) -> list[Path]:
        found: list[Path] = []
        for folder in self.folders():
            if folder.is_dir():
                found += sorted(
                    p for p in folder.rglob("*.yaml") if p.is_file() and not p.name.startswith(".")
                )
        return found

    def signature(self) -> tuple:
        """Cheap change detector for the watcher: names, sizes and mtimes of the files."""
        sig = []
        for path in self.files():
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            sig.append((str(path), stat.st_size, stat.st_mtime_ns))
        return tuple(sig)

    def load(self, previous: Catalog | None = None) -> Catalog:
        """Load every file. Invalid files keep the version previously loaded from them."""
        signature = self.signature()
        versions: dict[str, dict[int, Checklist]] = {}
        paths: dict[tuple[str, int], Path] = {}
        errors: list[ChecklistValidationError] = []
        for path in self.files():
            try:
                checklist = load_checklist_text(path.read_text(encoding="utf-8"), str(path))
            except ChecklistValidationError as exc:
                log.error("%s", exc)
                errors.append(exc)
                checklist = _loaded_from(previous, path)
                if checklist is None:
                    continue
            except (OSError, UnicodeDecodeError) as exc:
                errors.append(ChecklistValidationError(str(path), [FieldProblem(None, "(文件)", str(exc))]))
                continue
            if checklist.key in paths:
                errors.append(
                    ChecklistValidationError(
                        str(path),
                        [FieldProblem(None, "version", f"与 {paths[checklist.key]} 的版本号重复")],
                    )
                )
                continue
            versions.setdefault(checklist.id, {})[checklist.header.version] = checklist
            paths[checklist.key] = path
        _derive_status(versions)
        return Catalog(versions=versions, paths=paths, errors=tuple(errors), signature=signature)

    def save_new_version(self, checklist: Checklist, catalog: Catalog) -> Checklist:
        """Store ``checklist`` as the next version of its id; the previous one is superseded."""
        existing = catalog.versions.get(checklist.id, {})
        version = max(existing, default=0) + 1
        header = checklist.header.model_copy(update={"version": version, "status": Status.CURRENT})
        stored = Checklist(header=header, items=checklist.items)
        text = dump_checklist(stored)
        load_checklist_text(text, "(待保存的新版本)")  # never write what would not load
        folder = self.data_dir / checklist.id
        folder.mkdir(parents=True, exist_ok=True)
        for old_version, old in existing.items():
            old_path = catalog.paths.get((checklist.id, old_version))
            if old_path is not None and _is_within(old_path, self.data_dir):
                _atomic_write(old_path, dump_checklist(old.with_status(Status.SUPERSEDED)))
        _atomic_write(folder / f"v{version}.yaml", text)
        return stored


def _loaded_from(previous: Catalog | None, path: Path) -> Checklist | None:
    if previous is None:
        return None
    for key, old_path in previous.paths.items():
        if old_path == path:
            return previous.versions[key[0]][key[1]]
    return None


def _derive_status(versions: dict[str, dict[int, Checklist]]) -> None:
    for checklist_id, by_version in versions.items():
        newest = max(by_version)
        for version, checklist in by_version.items():
            status = Status.CURRENT if version == newest else Status.SUPERSEDED
            if checklist.header.status != status:
                by_version[version] = checklist.with_status(status)


def _is_within(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".yaml")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
