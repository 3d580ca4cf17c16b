"""A worker's call-log journal: every record is appended to a local file before the caller gets
its answer, and the writer moves records from the files to the shared store, which may be
unreachable for a while (a PostgreSQL restart, a failover). So no answered request's record is
lost to a crashed node or to an outage, and none is stored twice: a record written but not yet
marked done (a crash between the two) is written again, and the store keeps one (its
`(request_id, ts)` is unique, gateway/calllog/postgres.py).

The journal is a run of segment files, [u32 length][msgpack CallRecord] frames each, with a
sidecar `.done` holding the offset up to which the store has everything. Appends go to the newest
segment; past SEGMENT_BYTES a new one starts, and a segment the store has all of is removed. The
owner holds an exclusive lock on each of its segments while it lives; a segment nobody holds (its
worker died, its node stopped while the store was unreachable) is adopted by the next writer that
looks, written out and removed. The whole is bounded: past `max_bytes` a record is refused (the
caller counts it dropped).
"""

from __future__ import annotations

import fcntl
import glob
import os
import struct
import threading
import time
from collections.abc import Iterator

import msgspec

from ..config.observability import CallLogConfig
from .record import CallRecord

_LENGTH = struct.Struct("<I")
_DONE = struct.Struct("<Q")
SUFFIX = ".journal"
SEGMENT_BYTES = 8 * 1024 * 1024


class Segment:
    """One journal file and its `.done` offset, locked by this process."""

    def __init__(self, path: str, adopt: bool = False):
        self.path = path
        self.fd = os.open(path, os.O_RDWR | os.O_APPEND | (0 if adopt else os.O_CREAT), 0o600)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | (fcntl.LOCK_NB if adopt else 0))
        except OSError:
            os.close(self.fd)
            raise
        self._done_fd = os.open(path + ".done", os.O_RDWR | os.O_CREAT, 0o600)
        raw = os.pread(self._done_fd, _DONE.size, 0)
        self.done = _DONE.unpack(raw)[0] if len(raw) == _DONE.size else 0
        self.size = os.fstat(self.fd).st_size

    def read(self, end: int, max_records: int) -> tuple[list[CallRecord], int]:
        """Records between `done` and `end`, at most `max_records`, and the offset they end at."""
        records: list[CallRecord] = []
        offset = self.done
        while offset < end and len(records) < max_records:
            head = os.pread(self.fd, _LENGTH.size, offset)
            if len(head) < _LENGTH.size:
                break
            (length,) = _LENGTH.unpack(head)
            body = os.pread(self.fd, length, offset + _LENGTH.size)
            if len(body) < length:
                break  # a frame cut short by a crash mid-write: nothing follows it
            records.append(_DECODER.decode(body))
            offset += _LENGTH.size + length
        return records, offset

    def mark_done(self, offset: int) -> None:
        os.pwrite(self._done_fd, _DONE.pack(offset), 0)
        self.done = offset

    def close(self, remove: bool) -> None:
        if remove:
            os.unlink(self.path)
            os.unlink(self.path + ".done")
        os.close(self._done_fd)
        os.close(self.fd)  # and with it the lock: a segment left behind can be adopted


_DECODER = msgspec.msgpack.Decoder(CallRecord)


class Journal:
    def __init__(self, directory: str, name: str, max_bytes: int):
        os.makedirs(directory, mode=0o700, exist_ok=True)
        self.directory = directory
        self.max_bytes = max_bytes
        self._name = name
        self._lock = threading.Lock()  # appends (the event loop) against the writer's changes
        self._segments = [self._new_segment()]
        self._bytes = 0  # in every segment, done or not
        self.pending = 0  # records appended that the store does not have yet
        self._encoder = msgspec.msgpack.Encoder()

    def _new_segment(self) -> Segment:
        return Segment(os.path.join(self.directory, f"{self._name}-{time.time_ns():x}{SUFFIX}"))

    # -- the request path ------------------------------------------------------------------------
    def append(self, rec: CallRecord) -> bool:
        """Write one record: the kernel has it when this returns, so a crash of the process loses
        nothing. False when the journal is full."""
        body = self._encoder.encode(rec)
        frame = _LENGTH.pack(len(body)) + body
        with self._lock:
            if self._bytes + len(frame) > self.max_bytes:
                return False
            current = self._segments[-1]
            if current.size >= SEGMENT_BYTES:
                current = self._new_segment()
                self._segments.append(current)
            os.write(current.fd, frame)
            current.size += len(frame)
            self._bytes += len(frame)
            self.pending += 1
        return True

    # -- the writer ------------------------------------------------------------------------------
    def read(self, max_records: int) -> tuple[Segment | None, list[CallRecord], int]:
        """The oldest records the store does not have yet: their segment, the records, and the
        offset they end at (no segment: nothing to write)."""
        with self._lock:
            for segment in self._segments:
                if segment.done < segment.size:
                    end = segment.size
                    break
            else:
                return None, [], 0
        records, offset = segment.read(end, max_records)
        return segment, records, offset

    def written(self, segment: Segment, offset: int, count: int) -> None:
        """The store has `segment` up to `offset` (`count` more records). A finished segment is
        removed; the newest, once the store has all of it, starts over empty."""
        with self._lock:
            self.pending = max(0, self.pending - count)
            if offset < segment.size:
                segment.mark_done(offset)
            elif segment is self._segments[-1]:
                os.ftruncate(segment.fd, 0)
                self._bytes -= segment.size
                segment.size = 0
                segment.mark_done(0)
            else:
                self._segments.remove(segment)
                self._bytes -= segment.size
                segment.close(remove=True)

    def close(self) -> None:
        """Stop: segments the store has all of are removed; the rest stay for the next writer."""
        with self._lock:
            for segment in self._segments:
                segment.close(remove=segment.done >= segment.size)
            self._segments = []


def spool_dir(cfg: CallLogConfig) -> str:
    """`calllog.spool_dir`, or its default beside the default store."""
    if cfg.spool_dir:
        return cfg.spool_dir
    home = os.environ.get("AIGW_HOME")
    return os.path.join(home, "spool") if home else os.path.join("var", "spool")


def journal_for(cfg: CallLogConfig, node: str) -> Journal:
    """This worker's journal, in the node's spool directory."""
    name = f"{node.replace(':', '_').replace('/', '_')}-{os.getpid()}"
    return Journal(spool_dir(cfg), name, cfg.spool_max_mb * 1024 * 1024)


def orphans(directory: str) -> Iterator[Segment]:
    """Segments in `directory` nobody holds, each locked by this process as it is yielded."""
    for path in sorted(glob.glob(os.path.join(directory, "*" + SUFFIX))):
        try:
            yield Segment(path, adopt=True)
        except OSError:
            continue  # held by a live writer, or gone meanwhile
