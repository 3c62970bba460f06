"""Replace a file whole: through a temporary file in the same directory and a rename.

A reader, or a process killed mid-write, sees the old file or the new one, never part of either.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def replace_file(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically, creating its directory if need be.

    Raises:
        OSError: the directory cannot be created or written; ``path`` is then as it was and no
            temporary file is left.

    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
