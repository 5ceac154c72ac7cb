"""Bounded read-only views of a region of a file, read with ``os.pread``.

Each window is independent (no shared file position), so several layers of one archive
can be streamed by several threads at once.
"""

from __future__ import annotations

import io
import os


class FileWindow(io.RawIOBase):
    """A read-only file object over ``[offset, offset + size)`` of an open descriptor."""

    def __init__(self, fd: int, offset: int, size: int) -> None:
        super().__init__()
        self._fd = fd
        self._start = offset
        self._size = size
        self._pos = 0

    def extent(self) -> tuple[int, int, int]:
        """(descriptor, absolute offset of the current position, bytes left): what a
        kernel-side copy (``os.copy_file_range``) of the rest of the window needs."""
        return self._fd, self._start + self._pos, self._size - self._pos

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, pos: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            new = pos
        elif whence == io.SEEK_CUR:
            new = self._pos + pos
        else:
            new = self._size + pos
        self._pos = max(0, min(new, self._size))
        return self._pos

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        want = min(len(buffer), self._size - self._pos)
        if want <= 0:
            return 0
        view = memoryview(buffer)
        if len(view) > want:
            view = view[:want]
        n = os.preadv(self._fd, [view], self._start + self._pos)
        if n == 0:
            raise OSError(f"unexpected end of file at byte {self._start + self._pos}")
        self._pos += n
        return n

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = self._size - self._pos
        size = min(size, self._size - self._pos)
        if size <= 0:
            return b""
        data = os.pread(self._fd, size, self._start + self._pos)
        if not data:
            raise OSError(f"unexpected end of file at byte {self._start + self._pos}")
        self._pos += len(data)
        return data

    def readall(self) -> bytes:
        return self.read(-1)
