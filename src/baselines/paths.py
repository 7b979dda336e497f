"""Output paths named after ids from input files: an id never leaves the output folder.

Ids in run files and ground truth come from people and tools outside this project; a command that
names a file after one (`baselines draw`, `baselines export-coco`) checks it here first.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath, PureWindowsPath


def child_path(folder: str | Path, name: str, source: str | Path | None = None, item: str | None = None) -> Path:
    """`folder / name`, refused unless name is one plain file name.

    Args:
        folder: The output folder.
        name: A file name made from an id (the id, with a suffix added or replaced).
        source: The file the id came from, named in the error.
        item: The id itself, when name is made from it (default: name).

    Raises:
        ValueError: If name is empty, holds `..`, a path separator (`/` or `\\`), a NUL byte, a drive
            (`C:`), or is absolute; naming the id and the file it came from.
    """
    problem = None
    if not name or name in (".", ".."):
        problem = "is empty or '.'/'..'"
    elif ".." in name:
        problem = "holds '..'"
    elif "/" in name or "\\" in name:
        problem = "holds a path separator"
    elif "\0" in name:
        problem = "holds a NUL byte"
    elif PurePosixPath(name).is_absolute() or PureWindowsPath(name).is_absolute() or PureWindowsPath(name).drive:
        problem = "is an absolute path"
    if problem is None:
        path = Path(folder) / name
        if path.parent != Path(folder):  # the checks above make this impossible; kept as the last guard
            problem = "leaves the output folder"
        else:
            return path
    where = f" in {source}" if source is not None else ""
    made = f" (output file name {name!r})" if item is not None and item != name else ""
    raise ValueError(
        f"refusing id {item if item is not None else name!r}{where}{made}: it {problem}, so it cannot name a "
        f"file inside {folder}; ids that name output files must be plain file names"
    )
