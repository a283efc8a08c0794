"""Fuzz the readers: mutated real records through ``iter_chunks`` and ``parse_chunk``.

    python bench/fuzz.py [--inputs 1000000] [--seed 1] [--processes 2] [--out DIR]

Every input is a small file made from real records (the bundled LC sample in ISO 2709, LC
records in MARC-8, the Fennica sample in MARCXML, pymarc's MARC-in-JSON; each also gzipped,
bzip2'd or xz'd), mutated by a seeded random mutator: bit flips, the bytes that structure
each format (0x1D/0x1E/0x1F, ``<``, ``&``, ``{``, ``"``, MARC-8 escapes), digits in leaders
and directories, ranges deleted, repeated, spliced from another record, entity declarations
and references, truncation. The invariant: every input ends as records yielded and parsed, or
rejected by a :class:`~metadatabronn.errors.MetadatabronnError` with a reason; anything else
raised is a *crash*, an input that takes more than ``--timeout`` seconds a *hang*. Rejections
that only the parser's catch-all turned into an error ("unreadable record (...)") are counted
too: each is an exception nobody foresaw. Crashing inputs are written to ``--out`` to replay.

Prints inputs, records, rejections, crashes, hangs, unforeseen exceptions and inputs/s.
The same seed gives the same inputs.
"""

from __future__ import annotations

import argparse
import bz2
import gzip
import lzma
import multiprocessing
import os
import random
import signal
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from metadatabronn.errors import MetadatabronnError  # noqa: E402
from metadatabronn.marc import iter_chunks, parse_chunk, record_kind  # noqa: E402

DATA = ROOT / "data"
TESTDATA = ROOT / "tests" / "data" / "marc"


def _iso_records(path: Path) -> list[bytes]:
    return [r + b"\x1d" for r in path.read_bytes().split(b"\x1d") if r.strip(b"\r\n ")]


def seeds() -> dict[str, list[bytes]]:
    """Real records by format, each a bytes object that is one record in its format."""
    from lxml import etree

    iso = _iso_records(DATA / "sample.mrc")[:200]
    marc8 = []
    for name in ("pymarc-marc8.dat", "pymarc-test.dat", "pymarc-diacritic.dat", "pymarc-bad_marc8_escape.dat"):
        marc8 += _iso_records(TESTDATA / name)
    xml = []
    tree = etree.parse(str(DATA / "fennica-sample.marcxml"))
    for rec in tree.getroot().iter("{http://www.loc.gov/MARC21/slim}record"):
        xml.append(etree.tostring(rec))
        if len(xml) == 60:
            break
    import json

    batch = json.loads((TESTDATA / "pymarc-batch.json").read_text(encoding="utf-8"))
    js = [json.dumps(r, ensure_ascii=False).encode("utf-8") for r in batch]
    return {"iso2709": iso, "marc8": marc8, "marcxml": xml, "json": js}


_XML_HEAD = b'<?xml version="1.0" encoding="UTF-8"?>\n<collection xmlns="http://www.loc.gov/MARC21/slim">\n'
_XML_TAIL = b"\n</collection>\n"
_DTD = [
    b'<!DOCTYPE collection [<!ENTITY e "entity text &#233;">]>\n',
    b'<!DOCTYPE collection [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">'
    b'<!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">]>\n',
    b'<!DOCTYPE collection [<!ENTITY e SYSTEM "file:///etc/passwd">]>\n',
    b'<!DOCTYPE collection SYSTEM "http://example.invalid/marc.dtd">\n',
    b'<!DOCTYPE collection [<!ENTITY e "&e;">]>\n',
]
_STRUCTURE = {
    "iso2709": b"\x1d\x1e\x1f0123456789 \x00\xff\xc3",
    "marc8": b"\x1d\x1e\x1f\x1b()$,-.bgps\x88\x89\xe1\xf0\xff0123456789",
    "marcxml": b'<>&;"\'/=#x\x00\xff\xc3 ',
    "json": b'{}[]":,\\u0\x00\xff ',
}
_SNIPPETS = {
    "marcxml": [b"&e;", b"&#0;", b"&#x1F;", b"&amp;", b"<foo/>", b"<![CDATA[x]]>", b"<!-- c -->", b"</subfield>",
                b"<subfield code=\"a\">", b"<datafield tag=\"245\" ind1=\"0\" ind2=\"0\">", b"<record>", b"</record>",
                b"<leader>", b"&undefined;", b"\xef\xbb\xbf"],
    "json": [b'"\\ud800"', b"[[[[[[[[", b"]]]]", b"{}", b'{"a":', b"null", b'"leader"', b"1e999", b"\\u0000"],
    "iso2709": [b"\x1d", b"\x1e", b"\x1f", b"99999", b"00000", b"\x1b(B"],
    "marc8": [b"\x1b(2", b"\x1b$1", b"\x1b(N", b"\x1bb", b"\x1bp", b"\x1bg", b"\x1b)Q", b"\x1b(B"],
}


def mutate(data: bytes, fmt: str, rnd: random.Random, other: bytes) -> bytes:
    buf = bytearray(data)
    for _ in range(rnd.choice((1, 1, 1, 2, 3, 5, 8))):
        if not buf:
            buf = bytearray(other[:64])
        op = rnd.randrange(11)
        i = rnd.randrange(len(buf))
        if op == 0:  # bit flip
            buf[i] ^= 1 << rnd.randrange(8)
        elif op == 1:  # a structure byte
            buf[i] = rnd.choice(_STRUCTURE[fmt])
        elif op == 2:  # random byte
            buf[i] = rnd.randrange(256)
        elif op == 3:  # delete a range
            del buf[i : i + rnd.choice((1, 2, 5, 20, 200))]
        elif op == 4:  # repeat a range
            j = i + rnd.choice((1, 3, 10, 100))
            buf[i:i] = buf[i:j] * rnd.choice((2, 10, 100))
        elif op == 5:  # splice from another record
            j = rnd.randrange(len(other))
            buf[i:i] = other[j : j + rnd.randrange(1, 300)]
        elif op == 6:  # truncate
            del buf[i:]
        elif op == 7:  # a snippet
            buf[i:i] = rnd.choice(_SNIPPETS[fmt])
        elif op == 8 and fmt in ("iso2709", "marc8"):  # a digit of the leader or directory
            k = rnd.randrange(min(len(buf), 24 + 12 * 20))
            buf[k] = ord(rnd.choice("0123456789 a"))
        elif op == 9:  # swap two ranges
            j = rnd.randrange(len(buf))
            a, b = sorted((i, j))
            buf[a:b] = buf[a:b][::-1] if rnd.random() < 0.2 else buf[a:b]
        else:  # insert a byte
            buf.insert(i, rnd.randrange(256))
    return bytes(buf)


def _xz(data: bytes) -> bytes:
    return lzma.compress(data, preset=0)


def make_input(corpus: dict[str, list[bytes]], rnd: random.Random) -> tuple[str, bytes]:
    fmt = rnd.choice(("iso2709", "iso2709", "marc8", "marcxml", "marcxml", "json"))
    pool = corpus[fmt]
    records = [rnd.choice(pool) for _ in range(rnd.choice((1, 1, 2, 3)))]
    other = rnd.choice(pool)
    victim = rnd.randrange(len(records))
    mutate_whole = rnd.random() < 0.3
    if not mutate_whole:
        records[victim] = mutate(records[victim], fmt, rnd, other)
    if fmt == "marcxml":
        head = _XML_HEAD
        if rnd.random() < 0.15:
            head = head.replace(b"\n<collection", b"\n" + rnd.choice(_DTD) + b"<collection", 1)
            k = rnd.randrange(len(records))
            records[k] = records[k].replace(b'code="a">', b'code="a">&e;', 1)
        data = head + b"\n".join(records) + _XML_TAIL
    elif fmt == "json":
        data = b"[" + b",\n".join(records) + b"]" if rnd.random() < 0.5 else b"\n".join(records)
    else:
        data = b"".join(records)
    if mutate_whole:
        data = mutate(data, fmt, rnd, other)
    kind = fmt
    r = rnd.random()
    if r < 0.15:
        packer = rnd.choice((gzip.compress, bz2.compress, _xz))
        data = packer(data)
        kind += "+" + {"_xz": "xz"}.get(packer.__name__, packer.__module__)
        if rnd.random() < 0.5:  # damage the compressed stream itself
            data = mutate(data, "iso2709", rnd, other)
    return kind, data


class Hang(Exception):
    pass


def _alarm(signum, frame):
    raise Hang()


def run_one(path: Path, data: bytes, timeout: float) -> tuple[str, int, int, str]:
    """(outcome, records parsed, records rejected, detail); outcome: ok, crash, hang."""
    path.write_bytes(data)
    parsed = rejected = 0
    unforeseen = ""
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        try:
            for chunk in iter_chunks(path):
                try:
                    record = parse_chunk(chunk)
                    record_kind(record.leader)
                    record.as_dict()
                    parsed += 1
                except MetadatabronnError as exc:
                    rejected += 1
                    reason = getattr(exc, "reason", str(exc))
                    if reason.startswith("unreadable record ("):
                        unforeseen = reason
        except MetadatabronnError:
            rejected += 1
        return ("unforeseen" if unforeseen else "ok"), parsed, rejected, unforeseen
    except Hang:
        return "hang", parsed, rejected, "took longer than the time limit"
    except Exception as exc:  # noqa: BLE001 - what the fuzzer is looking for
        return "crash", parsed, rejected, "".join(traceback.format_exception_only(type(exc), exc)).strip()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def work(args: tuple[int, int, float, str | None]) -> dict:
    seed, count, timeout, out = args
    signal.signal(signal.SIGALRM, _alarm)
    import logging

    logging.disable(logging.CRITICAL)
    rnd = random.Random(seed)
    corpus = seeds()
    stats: Counter = Counter()
    details: Counter = Counter()
    tmpdir = Path(tempfile.mkdtemp(prefix="mb-fuzz-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None))
    path = tmpdir / "input"
    try:
        for n in range(count):
            kind, data = make_input(corpus, rnd)
            outcome, parsed, rejected, detail = run_one(path, data, timeout)
            stats["inputs"] += 1
            stats["records"] += parsed
            stats["rejected"] += rejected
            stats[outcome] += 1
            stats[f"kind:{kind.split('+')[0]}"] += 1
            if outcome != "ok":
                key = f"{outcome}: {kind}: {detail[:160]}"
                details[key] += 1
                if out and details[key] <= 3:
                    Path(out).mkdir(parents=True, exist_ok=True)
                    (Path(out) / f"{outcome}-{seed}-{n}.bin").write_bytes(data)
    finally:
        for p in tmpdir.iterdir():
            p.unlink()
        tmpdir.rmdir()
    return {"stats": stats, "details": details}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--inputs", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=10.0, help="seconds before an input counts as a hang")
    ap.add_argument("--out", help="directory for inputs that crash or hang")
    a = ap.parse_args()
    parts = max(a.processes * 8, 1)
    share = [a.inputs // parts + (1 if i < a.inputs % parts else 0) for i in range(parts)]
    jobs = [(a.seed * 1000 + i, n, a.timeout, a.out) for i, n in enumerate(share) if n]
    started = time.perf_counter()
    stats: Counter = Counter()
    details: Counter = Counter()
    with multiprocessing.get_context("fork").Pool(a.processes, maxtasksperchild=1) as pool:
        for result in pool.imap_unordered(work, jobs):
            stats.update(result["stats"])
            details.update(result["details"])
            print(f"  {stats['inputs']:,} inputs so far, {stats['crash']} crashes, {stats['hang']} hangs",
                  file=sys.stderr, flush=True)
    seconds = time.perf_counter() - started
    print(f"inputs      {stats['inputs']:>12,}  (seed {a.seed}, {a.processes} processes)")
    print("by format   " + ", ".join(f"{k[5:]} {v:,}" for k, v in sorted(stats.items()) if k.startswith("kind:")))
    print(f"records     {stats['records']:>12,}  parsed")
    print(f"rejected    {stats['rejected']:>12,}  with a reason (MetadatabronnError)")
    print(f"crashes     {stats['crash']:>12,}")
    print(f"hangs       {stats['hang']:>12,}  (over {a.timeout:g} s)")
    print(f"unforeseen  {stats['unforeseen']:>12,}  (rejected by the parser's catch-all)")
    print(f"rate        {stats['inputs'] / seconds:>12,.0f}  inputs/s ({seconds:,.0f} s)")
    for key, n in details.most_common(20):
        print(f"  {n:>8,}  {key}")


if __name__ == "__main__":
    main()
