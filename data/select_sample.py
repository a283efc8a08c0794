#!/usr/bin/env python3
"""Select the demo sample ``data/sample.mrc`` from the LC "Books All 2016" corpus.

Usage::

    python data/select_sample.py CORPUS.mrc[.gz] [OUT.mrc]

CORPUS is the Library of Congress MARC Distribution Service file
``lc-books-2016-part01-first20k.mrc.gz`` (ISO 2709, UTF-8, public domain).
OUT defaults to ``sample.mrc`` next to this script.  A tab-separated index of
the chosen records (``sample-index.tsv``: 001, why chosen, work key) is written
next to OUT.  A summary of the same-work groups is printed to stdout.

Records are copied byte for byte (no re-encoding) and written in corpus order.
The selection is deterministic: fixed quotas, then a seeded random fill.
"""

import collections
import gzip
import os
import random
import re
import sys
import unicodedata

import pymarc

SEED = 2016          # random.Random seed for every sampled choice
TARGET = 400         # total number of records in the sample
TITLE_ONLY_CAP = 3   # max records taken from a title-only (no 1XX) key collision

# (reason, quota) for the feature categories; quota None = take all.
QUOTAS = {
    "translation": 40,        # 240 $l or 041 $h, beyond those already in a group
    "880": None,              # alternate graphic representation
    "264": 10,
    "336-338": 10,
    "6xx-$0": 10,             # none in this corpus, kept for reproducibility
    "6xx-$2/ind2=7": 8,
    "relator-$4": None,
    "relator-trl": 8,
    "relator-edt": 8,
    "relator-ill": 8,
    "7xx-$i": None,
    "130-main": 15,
    "110-main": 4,
    "111-main": 4,
    "490+830": 10,
    "440": 10,
    "juvenile-008/22=j": 6,
    "852": None,
}


def iter_raw(path):
    """Yield raw ISO 2709 records (bytes), using the record length in the leader."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as fh:
        while True:
            head = fh.read(5)
            if not head or head.strip(b"\x00\r\n ") == b"":
                break
            length = int(head)
            yield head + fh.read(length - 5)


def norm(text, drop_digits=False):
    """Lower case, strip diacritics and punctuation, collapse spaces."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    text = re.sub(r"[^\w\s]|_", " ", text)
    if drop_digits:
        text = re.sub(r"\d", " ", text)
    return " ".join(text.split())


def fields(rec, *tags):
    return rec.get_fields(*tags)


def subs(field, *codes):
    return field.get_subfields(*codes)


def nonfiling(ind):
    return int(ind) if ind and ind.isdigit() else 0


def name_key(rec):
    """1XX name: 100 $a, 110 $a $b, 111 $a; dates, punctuation and case ignored."""
    for tag, codes in (("100", "a"), ("110", "ab"), ("111", "a")):
        fs = fields(rec, tag)
        if fs:
            return norm(" ".join(subs(fs[0], *codes)), drop_digits=True)
    return ""


def title_key(rec):
    """Preferred title: 240 (or 130) $a $n $p, else 245 $a $n $p; non-filing chars skipped."""
    for tag, ind_pos in (("240", 1), ("130", 0)):
        fs = fields(rec, tag)
        if fs:
            f = fs[0]
            text = " ".join(subs(f, "a", "n", "p"))
            return norm(text[nonfiling(f.indicators[ind_pos]):])
    fs = fields(rec, "245")
    if not fs:
        return ""
    f = fs[0]
    text = " ".join(subs(f, "a", "n", "p"))
    return norm(text[nonfiling(f.indicators[1]):])


def work_key(rec):
    return (name_key(rec), title_key(rec))


def lang(rec):
    fs = fields(rec, "008")
    return fs[0].data[35:38] if fs and len(fs[0].data) >= 38 else "   "


def is_translation(rec):
    return any(subs(f, "l") for f in fields(rec, "240")) or any(
        subs(f, "h") for f in fields(rec, "041"))


def relator(rec, terms, codes):
    for f in fields(rec, "700", "710"):
        if any(s.strip().lower() in terms for s in subs(f, "e")):
            return True
        if any(s.strip().lower() in codes for s in subs(f, "4")):
            return True
    return False


def datafields(rec):
    return [f for f in rec.fields if not f.is_control_field()]


PREDICATES = {
    "translation": is_translation,
    "880": lambda r: bool(fields(r, "880")),
    "264": lambda r: bool(fields(r, "264")),
    "336-338": lambda r: bool(fields(r, "336")),
    "6xx-$0": lambda r: any(subs(f, "0") for f in datafields(r) if f.tag.startswith("6")),
    "6xx-$2/ind2=7": lambda r: any(
        f.indicators[1] == "7" or subs(f, "2")
        for f in datafields(r) if f.tag.startswith("6") and f.tag != "655"),
    "relator-$4": lambda r: any(subs(f, "4") for f in fields(r, "700", "710")),
    "relator-trl": lambda r: relator(r, {"tr.", "translator.", "translator", "ed. & tr.",
                                         "ed. and tr."}, {"trl"}),
    "relator-edt": lambda r: relator(r, {"ed.", "editor.", "editor", "joint ed.",
                                         "joint editor."}, {"edt"}),
    "relator-ill": lambda r: relator(r, {"ill.", "illus.", "illustrator.", "illustrator",
                                         "ill"}, {"ill"}),
    "7xx-$i": lambda r: any(subs(f, "i") for f in fields(r, "700", "710", "711", "730")),
    "130-main": lambda r: bool(fields(r, "130")),
    "110-main": lambda r: bool(fields(r, "110")),
    "111-main": lambda r: bool(fields(r, "111")),
    "490+830": lambda r: bool(fields(r, "490")) and bool(fields(r, "830")),
    "440": lambda r: bool(fields(r, "440")),
    "juvenile-008/22=j": lambda r: bool(fields(r, "008")) and fields(r, "008")[0].data[22:23] == "j",
    "852": lambda r: bool(fields(r, "852")),
}


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    corpus = argv[1]
    here = os.path.dirname(os.path.abspath(__file__))
    out = argv[2] if len(argv) > 2 else os.path.join(here, "sample.mrc")
    index_path = os.path.join(os.path.dirname(os.path.abspath(out)), "sample-index.tsv")

    raws, recs = [], []
    for raw in iter_raw(corpus):
        raws.append(raw)
        recs.append(pymarc.Record(data=raw, to_unicode=True, force_utf8=True))
    n = len(recs)
    rng = random.Random(SEED)
    reasons = collections.defaultdict(list)   # index -> [reason, ...]

    # 1. same-work groups: every key shared by 2+ records.
    groups = collections.defaultdict(list)
    for i, rec in enumerate(recs):
        groups[work_key(rec)].append(i)
    multi = {k: v for k, v in groups.items() if len(v) > 1 and k[1]}
    for key, members in multi.items():
        if key[0] or any(fields(recs[i], "130") for i in members):
            for i in members:
                reasons[i].append("same-work group")
        else:   # no creator: title-only key, may collide; keep a few as a demo
            for i in members[:TITLE_ONLY_CAP]:
                reasons[i].append("title-only key collision")

    # 2. feature quotas: QUOTA more records not chosen yet (seeded sample); records
    #    already chosen that show the feature are tagged with it as well.
    for reason, quota in QUOTAS.items():
        pred = PREDICATES[reason]
        matching = [i for i in range(n) if pred(recs[i])]
        already = [i for i in matching if i in reasons]
        fresh = [i for i in matching if i not in reasons]
        want = len(fresh) if quota is None else quota
        take = fresh if want >= len(fresh) else rng.sample(fresh, want)
        for i in take:
            reasons[i].append(reason)
        for i in already:
            if reason not in reasons[i]:
                reasons[i].append(reason)

    # 3. random fill up to TARGET.
    rest = [i for i in range(n) if i not in reasons]
    fill = max(0, TARGET - len(reasons))
    for i in rng.sample(rest, min(fill, len(rest))):
        reasons[i].append("random")

    chosen = sorted(reasons)
    with open(out, "wb") as fh:
        for i in chosen:
            fh.write(raws[i])
    with open(index_path, "w", encoding="utf-8") as fh:
        fh.write("001\treasons\tlang\tname_key\ttitle_key\n")
        for i in chosen:
            cn = fields(recs[i], "001")[0].data.strip()
            nk, tk = work_key(recs[i])
            fh.write(f"{cn}\t{','.join(reasons[i])}\t{lang(recs[i])}\t{nk}\t{tk}\n")

    # summary
    print(f"corpus records: {n}; selected: {len(chosen)} -> {out}")
    print(f"seed {SEED}; index -> {index_path}")
    tally = collections.Counter(r for i in chosen for r in reasons[i])
    for reason, count in sorted(tally.items()):
        print(f"  {reason}: {count}")
    print("same-work groups in the sample (size, name key | title key, languages, 001s):")
    in_sample = set(chosen)
    rows = []
    for key, members in multi.items():
        sel = [i for i in members if i in in_sample]
        if len(sel) > 1:
            rows.append((len(sel), key, sel))
    rows.sort(key=lambda r: (-r[0], r[1]))
    for size, key, sel in rows:
        langs = collections.Counter(lang(recs[i]) for i in sel)
        ids = " ".join(fields(recs[i], "001")[0].data.strip() for i in sel)
        tr = sum(1 for i in sel if is_translation(recs[i]))
        print(f"  {size}\t{key[0] or '-'} | {key[1]}\t{dict(langs)}\ttranslations={tr}\t{ids}")


if __name__ == "__main__":
    main(sys.argv)
