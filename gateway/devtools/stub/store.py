"""Received messages: a bounded in-memory log, optionally mirrored to JSONL.

Sequence numbers only grow (clearing does not reset them), so ``since`` stays
a safe cursor for a test that polls. The oldest messages are dropped once
either the count or the total body size passes its bound, which keeps a long
benchmark from eating the machine.
"""

from __future__ import annotations

import base64
import itertools
import json
import threading
from collections import deque
from pathlib import Path

DEFAULT_KEEP = 100_000
DEFAULT_KEEP_BYTES = 512 * 1024 * 1024


def full_view(record: dict, body: bytes) -> dict:
    """A record with its body: exact bytes as base64, plus text for reading."""
    return {**record, "body": body.decode("utf-8", "replace"), "body_base64": base64.b64encode(body).decode("ascii")}


class MessageStore:
    def __init__(
        self, keep: int = DEFAULT_KEEP, keep_bytes: int = DEFAULT_KEEP_BYTES, jsonl_path: str | Path | None = None
    ):
        self.keep = max(1, keep)
        self.keep_bytes = keep_bytes
        self._lock = threading.Lock()
        self._entries: deque[tuple[dict, bytes]] = deque()
        self._bytes = 0
        self._next_seq = 1
        # Open for the store's life (close() closes it): one append per message under load.
        self._file = open(jsonl_path, "a", encoding="utf-8") if jsonl_path else None  # noqa: SIM115

    def add(self, record: dict, body: bytes) -> int:
        """Store a record (a JSON-ready dict, not mutated afterwards) and give it its number."""
        with self._lock:
            seq = self._next_seq
            self._next_seq += 1
            record["seq"] = seq
            self._entries.append((record, body))
            self._bytes += len(body)
            while len(self._entries) > self.keep or (self._bytes > self.keep_bytes and len(self._entries) > 1):
                self._bytes -= len(self._entries.popleft()[1])
            if self._file is not None:
                # Written under the lock so lines stay whole and in sequence order.
                self._file.write(json.dumps(full_view(record, body), ensure_ascii=False) + "\n")
                self._file.flush()
        return seq

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> int:
        with self._lock:
            n = len(self._entries)
            self._entries.clear()
            self._bytes = 0
        return n

    def get(self, seq: int) -> tuple[dict, bytes] | None:
        with self._lock:
            if not self._entries:
                return None
            # Stored sequence numbers are consecutive, so the position is arithmetic.
            i = seq - self._entries[0][0]["seq"]
            if 0 <= i < len(self._entries):
                return self._entries[i]
        return None

    def query(
        self,
        contract: str | None = None,
        certificate_id: str | None = None,
        logical_address: str | None = None,
        outcome: str | None = None,
        since: int | None = None,
        limit: int | None = None,
    ) -> list[dict]:
        """Records in sequence order, without bodies. ``since`` excludes that number itself."""
        with self._lock:
            start = 0
            if since is not None and self._entries:
                start = max(0, since + 1 - self._entries[0][0]["seq"])
            records = [r for r, _ in itertools.islice(self._entries, start, None)]
        address = logical_address.casefold() if logical_address else None
        out = []
        for r in records:
            if contract and contract not in (r["contract"], f"{r['contract']}:{r['major']}"):
                continue
            if certificate_id and r["certificate_id"] != certificate_id:
                continue
            if address and (r["logical_address"] or "").casefold() != address:
                continue
            if outcome and r["outcome"] != outcome:
                continue
            out.append(r)
            if limit is not None and len(out) >= limit:
                break
        return out

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
