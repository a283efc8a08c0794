"""Ingest benchmark: end-to-end records/s and peak memory, beside pymarc's parse-only speed.

    python bench/ingest.py [CORPUS] [--workers N] [--batch-records N] [--repeat N] [--store-ceiling [--pairs N]]
                           [--not-in-tests SKIP:COUNT]

CORPUS defaults to the LC Books 2016 part 01 first-20k file in the shared corpora folder.
Parse-only (``pymarc.MARCReader`` streaming, nothing kept) is the ceiling the issue measures
against; it runs in the same process, on the same file, right before the ingest.
"""

from __future__ import annotations

import argparse
import gc
import logging
import gzip
import json
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pymarc

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import ThreadCPU  # noqa: E402 (the repository's root on the path first)
from metadatabronn.config import DEFAULT_BATCH_RECORDS
from metadatabronn.errors import InputError, RecordError
from metadatabronn.marc import iter_chunks, parse_chunk
from metadatabronn.pipeline import Settings, ingest
from metadatabronn.pipeline.inputs import _prefetched
from metadatabronn.pipeline.loader import Loader
from metadatabronn.pipeline.run import Summary
from metadatabronn.pipeline.worker import convert_chunk
from metadatabronn.store import Store

DEFAULT = Path(__file__).resolve().parent.parent.parent / "shared" / "corpora" / "lc-books-2016-part01-first20k.mrc.gz"


def parse_only(path: Path) -> tuple[int, float]:
    opener = gzip.open if path.suffix == ".gz" else open
    start = time.perf_counter()
    n = 0
    with opener(path, "rb") as f:
        for record in pymarc.MARCReader(f, to_unicode=True):
            n += 1
    return n, time.perf_counter() - start


def cpu_seconds() -> float:
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def disk_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def store_ceiling(corpus: Path, profile: str | None, batch_records: int = DEFAULT_BATCH_RECORDS
                  ) -> tuple[float, float, float, float, float]:
    """The store write alone: records/s, CPU µs a quad (all threads), quads written a record,
    N-Quads bytes handed to the store a record, and CPU ms a record of RocksDB's compactions.

    Every record is converted first, untimed; then the loader writes them exactly as ingest
    does (entity registry, change log, bulk batches), so no conversion competes for the cores.
    """
    when = "2026-01-01T00:00:00Z"
    settings = Settings(store=Path("unused"), base="http://localhost:8000", profile=profile,
                        batch_records=batch_records)
    gate = settings.gate()
    outcomes = [o for c in iter_chunks(str(corpus)) for o in [convert_chunk(c, settings.base, when, gate)]
                if o.status == "ok"]
    text_bytes = sum(len(o.nquads) + sum(len(core) for _, _, core in o.cores) for o in outcomes)
    tmp = Path(tempfile.mkdtemp(prefix="mb-bench-"))
    try:
        store = Store(tmp / "store", settings.base)
        summary = Summary()
        gc.collect()
        with ThreadCPU("rocksdb:low") as compactions:
            cpu0, t0 = time.process_time(), time.perf_counter()
            loader = Loader(store, when, gate)
            # Asked of the store in groups, as ingest asks (one look-up a group, not one a key).
            for o in (_prefetched(iter(outcomes), loader) if store.answers_in_groups else outcomes):
                loader.add(o, summary)
                if len(loader) >= settings.batch_records:
                    loader.flush()
            loader.close()
            store.close()
            seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        quads = len(Store(tmp / "store", settings.base, read_only=True))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return (len(outcomes) / seconds, cpu / quads * 1e6, quads / len(outcomes), text_bytes / len(outcomes),
            compactions.seconds / len(outcomes) * 1000)


def _control_number(chunk) -> str | None:
    try:
        field = parse_chunk(chunk).get("001")
    except RecordError:
        return None
    return field.data.strip() if field is not None else None


def _control_numbers(path: Path):
    try:
        for chunk in iter_chunks(str(path)):
            cn = _control_number(chunk)
            if cn:
                yield cn
    except InputError:  # an empty or unreadable file of the hostile-input tests holds no record
        return


def records_not_in_tests(corpus: Path, skip: int, count: int, out: Path) -> int:
    """Write ``count`` records of a corpus to ``out`` as ISO 2709, byte for byte, from record
    ``skip`` + 1 on, leaving out every record whose 001 a MARC file of the test suite (or the
    sample data) holds: the benchmark then measures records no test was tuned on. Returns how
    many were left out."""
    root = Path(__file__).resolve().parent.parent
    in_tests = {cn for path in [*root.glob("tests/data/**/*.mrc"), root / "data" / "sample.mrc"]
                for cn in _control_numbers(path)}
    written = left_out = 0
    with open(out, "wb") as sink:
        for chunk in iter_chunks(str(corpus)):
            if chunk.number <= skip:
                continue
            if _control_number(chunk) in in_tests:
                left_out += 1
                continue
            sink.write(chunk.data)
            written += 1
            if written >= count:
                break
    return left_out


def main() -> int:
    logging.basicConfig(level=logging.ERROR)
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus", nargs="?", default=str(DEFAULT))
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--batch-records", type=int, default=DEFAULT_BATCH_RECORDS,
                    help="records a bulk load writes, in both the ingest and the store write alone")
    ap.add_argument("--repeat", type=int, default=1, help="ingest runs; the best is reported")
    ap.add_argument("--json", help="write the figures here")
    ap.add_argument("--profile", default="base", help="profile checked at ingest ('none': no gate)")
    ap.add_argument("--compare-gate", action="store_true",
                    help="also ingest without the validation gate and print the ratio")
    ap.add_argument("--store-ceiling", action="store_true",
                    help="also time the store write alone: every record converted first, untimed, "
                         "then only the loader, with the machine to itself")
    ap.add_argument("--pairs", type=int, default=0, metavar="N",
                    help="with --store-ceiling: N more pairs of an end-to-end ingest and the store write "
                         "alone, run one right after the other, each pair's ratio and their median printed "
                         "(this machine's speed drifts by a tenth from minute to minute; a pair shares it)")
    ap.add_argument("--not-in-tests", metavar="SKIP:COUNT",
                    help="measure COUNT records of an ISO 2709 corpus from record SKIP + 1 on, leaving out "
                         "the records the test suite holds (LC: --not-in-tests 9000:10000)")
    args = ap.parse_args()
    corpus = Path(args.corpus)
    if not corpus.exists():
        sys.exit(f"corpus not found: {corpus}")
    if args.not_in_tests:
        skip, count = (int(n) for n in args.not_in_tests.split(":"))
        cut = Path(tempfile.mkdtemp(prefix="mb-bench-")) / f"{corpus.name.split('.')[0]}-{skip}-{count}.mrc"
        left_out = records_not_in_tests(corpus, skip, count, cut)
        print(f"records             {count:,} from record {skip + 1:,} on, {left_out} held by the tests left out")
        corpus = cut

    n, seconds = parse_only(corpus)
    parse_rate = n / seconds
    print(f"pymarc parse-only   {n:,} records in {seconds:.2f} s = {parse_rate:,.0f} records/s")

    profile = None if args.profile == "none" else args.profile

    def best_of(profile):
        best = None
        for _ in range(args.repeat):
            tmp = Path(tempfile.mkdtemp(prefix="mb-bench-"))
            try:
                settings = Settings(store=tmp / "store", base="http://localhost:8000", workers=args.workers,
                                    profile=profile, batch_records=args.batch_records)
                cpu0 = cpu_seconds()
                with ThreadCPU("rocksdb:low") as compactions:
                    s = ingest([str(corpus)], settings)
                s.cpu = cpu_seconds() - cpu0  # main process and its (reaped) conversion workers
                s.compactions = compactions.seconds
                store = Store(tmp / "store", read_only=True)
                s.quads = len(store)  # for the report only
                store.close()
                s.disk = disk_bytes(tmp / "store")
                second = ingest([str(corpus)], settings)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
            if best is None or s.records_per_second > best[0].records_per_second:
                best = (s, second)
        return best

    s, second = best_of(profile)
    ungated = best_of(None)[0] if args.compare_gate and profile else None
    ceiling = store_ceiling(corpus, profile, args.batch_records) if args.store_ceiling else None
    peak_main = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    peak_child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    ratio = s.records_per_second / parse_rate
    print(f"ingest (new store)  {s.records_read:,} records in {s.seconds:.2f} s = {s.records_per_second:,.0f} records/s "
          f"({ratio:.2f} x parse-only), {s.records_rejected} rejected, workers={args.workers}")
    print(f"re-ingest (no-op)   {second.records_read:,} records in {second.seconds:.2f} s = "
          f"{second.records_per_second:,.0f} records/s, unchanged {second.records_unchanged:,}")
    stored = max(1, s.records_stored)
    print(f"per record          {s.quads / stored:,.1f} quads, {s.disk / stored / 1024:,.1f} KiB on disk "
          f"(store of {s.quads:,} quads, {s.disk / 2**20:,.0f} MiB after the ingest)")
    print(f"entities            works {s.works:,}, expressions {s.expressions:,}, "
          f"manifestations {s.manifestations:,}, agents {s.agents:,}")
    print(f"validation          profile {profile or 'none'}: {s.records_invalid:,} rejected, "
          f"{s.records_with_warnings:,} with warnings")
    if ungated is not None:
        print(f"without the gate    {ungated.records_per_second:,.0f} records/s; with it "
              f"{s.records_per_second / ungated.records_per_second:.2f} x that")
    if ceiling is not None:
        rate, per_quad, quads, text, compacting = ceiling
        print(f"store write alone   {rate:,.0f} records/s, {quads:,.1f} quads a record ({text / 1024:,.1f} KiB of "
              f"N-Quads), {per_quad:.1f} CPU us a quad: the ceiling for any conversion speed")
        print(f"end to end / store  {s.records_per_second / rate:.2f} x the store-write ceiling (target 0.8); CPU a "
              f"record: end to end {s.cpu / s.records_read * 1000:.2f} ms, store write alone "
              f"{per_quad * quads / 1000:.2f} ms")
        print(f"compactions         RocksDB's compaction threads {s.compactions / s.records_read * 1000:.2f} CPU ms a "
              f"record end to end, {compacting:.2f} in the store write alone (the same batches)")
    print(f"peak memory         main {peak_main:,.0f} MiB, largest worker {peak_child:,.0f} MiB")
    if ceiling is not None and args.pairs:
        ratios = [s.records_per_second / ceiling[0]]
        for n in range(args.pairs):
            run = best_of(profile)[0]
            e2e = run.records_per_second
            alone, *_, compacting = store_ceiling(corpus, profile, args.batch_records)
            ratios.append(e2e / alone)
            print(f"pair {n + 2:<14} end to end {e2e:,.0f}, store write alone {alone:,.0f} records/s: {e2e / alone:.2f} x "
                  f"(compactions {run.compactions / run.records_read * 1000:.2f} against {compacting:.2f} CPU ms a "
                  "record)")
        print(f"end to end / store  median of {len(ratios)} pairs {statistics.median(ratios):.2f} x "
              f"(each: {', '.join(f'{r:.2f}' for r in ratios)})")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "corpus": corpus.name, "parse_only_records_per_second": round(parse_rate),
            "ingest_records_per_second": s.records_per_second, "ratio_to_parse_only": round(ratio, 3),
            "reingest_records_per_second": second.records_per_second,
            "profile": profile,
            "ungated_records_per_second": ungated.records_per_second if ungated else None,
            "store_write_records_per_second": round(ceiling[0]) if ceiling else None,
            "ratio_to_store_ceiling": round(s.records_per_second / ceiling[0], 3) if ceiling else None,
            "quads_per_record": round(s.quads / max(1, s.records_stored), 1),
            "disk_bytes_per_record": round(s.disk / max(1, s.records_stored)),
            "nquads_bytes_per_record": round(ceiling[3]) if ceiling else None,
            "compaction_cpu_ms_per_record": round(s.compactions / max(1, s.records_read) * 1000, 3),
            "compaction_cpu_ms_per_record_store_alone": round(ceiling[4], 3) if ceiling else None,
            "peak_rss_main_mib": round(peak_main), "peak_rss_worker_mib": round(peak_child),
            "summary": json.loads(s.to_json())}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
