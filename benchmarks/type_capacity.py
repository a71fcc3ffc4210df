"""Capacity for many certificate types: loading, reloading and validating with 200 types in force.

The goal stated for the hub is 200 certificate types. This builds a types
folder of N synthetic types (default 200), each a renamed copy of one of the
shipped types (catalogue entry and every rules file), round robin, and
measures in one run:

* a cold load of the whole folder (what a gateway process does at start),
  and the memory the loaded set holds;
* a reload after one rules file changed (what every gateway process does
  within seconds of an edit in production);
* validating the ~10 KB LISJP sample with the shipped 14 types loaded and with
  the N types loaded: the ratio shows whether the number of types costs
  anything per message.

    PYTHONPATH=$PWD python benchmarks/type_capacity.py [--types 200]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from lxml import etree

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from intygsgw.devtools import samples  # noqa: E402
from intygsgw.rules.catalog import DEFAULT_DIR, load_catalog  # noqa: E402
from intygsgw.rules.definitions import TypeBook  # noqa: E402

RG_INTYG = "{urn:riv:clinicalprocess:healthcond:certificate:RegisterCertificateResponder:3}intyg"


def build_folder(target: Path, count: int) -> list[str]:
    """``count`` synthetic types, renamed copies of the shipped data-defined types; returns their ids."""
    shipped = list(load_catalog(DEFAULT_DIR))
    ids = []
    for i in range(count):
        source = shipped[i % len(shipped)]
        new_id = f"{source.id}-{i:03d}"
        entry = (DEFAULT_DIR / f"{source.id}.toml").read_text(encoding="utf-8")
        entry = entry.replace(f'id = "{source.id}"', f'id = "{new_id}"', 1)
        entry = entry.replace(f'code = "{source.code}"', f'code = "T{i:03d}{source.code}"', 1)
        (target / f"{new_id}.toml").write_text(entry, encoding="utf-8")
        (target / new_id).mkdir()
        for rules in sorted((DEFAULT_DIR / source.id).glob("v*.toml")):
            text = rules.read_text(encoding="utf-8").replace(f'type = "{source.id}"', f'type = "{new_id}"', 1)
            (target / new_id / rules.name).write_text(text, encoding="utf-8")
        ids.append(new_id)
    return ids


def timed_load(directory: Path, check_every: float = 0) -> tuple[TypeBook, float, float]:
    """A cold load: seconds, and MiB the loaded set holds (tracemalloc, measured apart from the timing).
    ``check_every`` 0 looks at the folder on every use: right for timing reloads, not requests."""
    t0 = time.perf_counter()
    book = TypeBook(directory, check_every=check_every)
    seconds = time.perf_counter() - t0
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    held = TypeBook(directory, check_every=0)
    mib = (tracemalloc.get_traced_memory()[0] - before) / 2**20
    tracemalloc.stop()
    del held
    return book, seconds, mib


def touch_and_reload(book: TypeBook, path: Path) -> float:
    """Edit one rules file (a new modification time) and time the reload that follows."""
    stamp = time.time_ns() + 10_000_000
    os.utime(path, ns=(stamp, stamp))
    t0 = time.perf_counter()
    book.current()
    return time.perf_counter() - t0


def validation_times(book_a: TypeBook, book_b: TypeBook, type_b: str, runs: int) -> tuple[float, float]:
    """p50 µs of checking the LISJP sample in each book, in turn run by run so drift moves both alike."""
    envelope = etree.fromstring(samples.register_certificate(samples.CertificateSpec(certificate_id="cap")))
    intyg = next(envelope.iter(RG_INTYG))
    a, b = [], []
    for _ in range(runs):
        for book, type_id, out in ((book_a, "lisjp", a), (book_b, type_b, b)):
            t0 = time.perf_counter_ns()
            failures = book.current().check(type_id, "1.3", intyg)
            out.append((time.perf_counter_ns() - t0) / 1000)
            assert failures == [], failures
    return statistics.median(a), statistics.median(b)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--types", type=int, default=200)
    parser.add_argument("--runs", type=int, default=2000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        many = Path(tmp) / "types"
        many.mkdir()
        ids = build_folder(many, args.types)
        rule_files = sorted(many.glob("*/v*.toml"))
        shipped, shipped_s, shipped_mib = timed_load(DEFAULT_DIR)
        book, load_s, mib = timed_load(many)
        print(
            f"types folder: {args.types} types, {len(rule_files)} rules files "
            f"(shipped: {len(shipped.current().catalog.types)} types)"
        )
        print(
            f"cold load     shipped {shipped_s * 1000:8.0f} ms {shipped_mib:6.1f} MiB   "
            f"{args.types} types {load_s * 1000:8.0f} ms {mib:6.1f} MiB"
        )
        reloads = [touch_and_reload(book, rule_files[i * 7 % len(rule_files)]) for i in range(5)]
        print(
            f"reload after one rules file changed: p50 {statistics.median(reloads) * 1000:.0f} ms "
            f"(max {max(reloads) * 1000:.0f} ms) in the request that notices it"
        )
        lisjp_copy = next(i for i in ids if i.startswith("lisjp-"))
        # As a gateway process serves requests: the folder looked at every 2 s, not on every check.
        few, lots = validation_times(TypeBook(DEFAULT_DIR), TypeBook(many), lisjp_copy, args.runs)
        print(
            f"LISJP sample check p50: {few:.1f} µs with the shipped types, {lots:.1f} µs with {args.types} "
            f"(ratio {lots / few:.2f})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
