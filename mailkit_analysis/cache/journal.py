"""Changes to several cache files at once, all or nothing: a small write-ahead journal.

A change (one fetch batch: new result parts and the request state; one compaction: a merged
part replacing small ones; a prune or an erasure) is made in three steps, under the lock:

1. **stage**: every new file is written completely under a hidden temporary name in its
   final folder (``.part-….parquet.tmp-staged-…``: no reader globbing ``*.parquet`` or
   ``pyarrow.dataset`` sees it), flushed to disk;
2. **commit**: ``cache/journal.json`` is written atomically, listing the staged files with
   their final names and the files to remove. From here on the change has happened;
3. **apply**: staged files are renamed to their final names, removed files are deleted,
   then the journal is deleted.

A process killed before step 2 leaves only staged temporaries: the change did not happen,
and the next holder of the lock deletes them. Killed after step 2, it leaves the journal:
the next holder of the lock applies it again (renaming what is still staged, deleting what
is still there), which is safe to repeat. Either way the next toolkit command starts from
the state of the last committed change, and nothing committed is lost.
"""
from __future__ import annotations

import json
import logging
import os
import uuid
from pathlib import Path
from typing import Callable

from ..atomic import TEMP_MARK, _fsync_dir, remove_stale_temporaries, replace_file, write_bytes_atomic

__all__ = ["Transaction", "recover", "JOURNAL_NAME"]

log = logging.getLogger(__name__)

JOURNAL_NAME = "journal.json"



class Transaction:
    """New files and removals under ``root`` that take effect together on :meth:`commit`.

    Parameters
    ----------
    root : Path
        The cache folder; the journal lives there and every path is stored relative to it.

    Examples
    --------
    >>> tx = Transaction(paths.root)                                   # doctest: +SKIP
    >>> tx.stage(part, lambda staged: write_parquet_atomic(t, staged)) # doctest: +SKIP
    >>> tx.remove(old_part)                                            # doctest: +SKIP
    >>> tx.commit()                                                    # doctest: +SKIP
    """

    def __init__(self, root: Path):
        self.root = Path(root)
        self.id = uuid.uuid4().hex[:12]
        self.adds: list[tuple[Path, Path]] = []
        self.removes: list[Path] = []

    def stage(self, final: Path, write: Callable[[Path], None]) -> Path:
        """Write a new file (``write(staged_path)``) that becomes ``final`` on commit."""
        staged = final.with_name(f".{final.name}{TEMP_MARK}staged-{self.id}-{len(self.adds)}")
        final.parent.mkdir(parents=True, exist_ok=True)
        write(staged)
        self.adds.append((staged, final))
        return staged

    def remove(self, path: Path) -> None:
        """Delete ``path`` on commit."""
        if path not in self.removes:
            self.removes.append(path)

    def __bool__(self) -> bool:
        return bool(self.adds or self.removes)

    def commit(self) -> None:
        """Make the change happen (write the journal, then apply it)."""
        if not self:
            return
        record = {
            "id": self.id,
            # Relative, so a cache folder moved as a whole keeps a usable journal; files of the
            # data folder beside the cache (exports) are reached with "../".
            "add": [[os.path.relpath(s, self.root), os.path.relpath(f, self.root)] for s, f in self.adds],
            "remove": [os.path.relpath(p, self.root) for p in self.removes],
        }
        for folder in {staged.parent for staged, _ in self.adds}:
            _fsync_dir(folder)  # the staged files' names are on disk before the journal is
        write_bytes_atomic(json.dumps(record).encode("utf-8"), self.root / JOURNAL_NAME)  # the commit point
        _apply(self.root, record)


def _apply(root: Path, record: dict) -> None:
    folders = set()
    for staged, final in record.get("add", []):
        source, target = root / staged, root / final
        if source.exists():
            replace_file(source, target)
        elif not target.exists():
            log.warning("journal %s: %s is missing; its rows are fetched again", record.get("id"), final)
        folders.add(target.parent)
    for name in record.get("remove", []):
        path = root / name
        path.unlink(missing_ok=True)
        folders.add(path.parent)
    for folder in folders:
        _fsync_dir(folder)
    for folder in folders:  # a month whose last part went away leaves no empty folder
        if folder != root and folder.is_dir() and not any(folder.iterdir()):
            try:
                folder.rmdir()
            except OSError:
                pass
    # Applying twice is harmless, so the journal's removal need not be flushed.
    (root / JOURNAL_NAME).unlink(missing_ok=True)


def recover(paths) -> bool:
    """Finish a committed change a killed process left half applied; drop uncommitted ones.

    Call it holding the cache lock (:func:`mailkit_analysis.cache.lock.locked` does).
    Returns True when a journal was rolled forward.
    """
    journal = paths.root / JOURNAL_NAME
    rolled = False
    if journal.is_file():
        try:
            record = json.loads(journal.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            record = None  # never complete: it is written to a temporary name first
        if isinstance(record, dict):
            log.info("finishing an interrupted cache change (%s)", record.get("id"))
            _apply(paths.root, record)
            rolled = True
        else:
            journal.unlink(missing_ok=True)
    remove_stale_temporaries(paths.root)
    return rolled
