#!/usr/bin/env python3
"""Extract the golden records (one real record per MARC feature) and write INDEX.md.

Usage::

    python tests/data/golden/extract_golden.py CORPORA_DIR [OUT_DIR]

CORPORA_DIR holds ``lc-books-2016-part01-first20k.mrc.gz`` (public domain),
``lc-marc2bibframe2/`` and ``natlibfi-fennica/`` (CC0) and ``norwegian/`` (MIT).
Nothing is read from the corpora whose licence does not allow copying.

Outputs (OUT_DIR defaults to this script's directory):

* ``golden.mrc``          LC records, ISO 2709 UTF-8, bytes copied unchanged
* ``golden-cc0.marcxml``  CC0 records (LC marc2bibframe2 samples, National Library of Finland)
* ``golden-mit.marcxml``  MIT records (Norwegian, scriptotek/php-marc)
* ``INDEX.md``            feature -> file -> 001 -> source/licence, with the fields quoted

For every feature the LC corpus is tried first, then CC0, then MIT.  Among the
records that show a feature, one already chosen for another feature is
preferred, else the shortest (records from marc2bibframe2's ``test_data/`` only
when no catalogue record has the feature); so the selection is deterministic.
"""

import glob
import gzip
import os
import sys

import pymarc
from lxml import etree

LC_FILE = "lc-books-2016-part01-first20k.mrc.gz"
CC0_DIRS = ("lc-marc2bibframe2", "natlibfi-fennica")
MIT_DIRS = ("norwegian",)
SOURCE_INFO = {
    "lc": ("golden.mrc", "public domain"),
    "cc0": ("golden-cc0.marcxml", "CC0"),
    "mit": ("golden-mit.marcxml", "MIT"),
}
MIT_NOTICE = """scriptotek/php-marc test data (tests/data/examples/):

Copyright (c) 2016 University of Oslo Science Library

Permission is hereby granted, free of charge, to any person obtaining
a copy of this software and associated documentation files (the
"Software"), to deal in the Software without restriction, including
without limitation the rights to use, copy, modify, merge, publish,
distribute, sublicense, and/or sell copies of the Software, and to
permit persons to whom the Software is furnished to do so, subject to
the following conditions:

The above copyright notice and this permission notice shall be
included in all copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND,
EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF
MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT.
IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY
CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT,
TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE
SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
"""
SOURCE_NAMES = {
    "lc-marc2bibframe2": "LC marc2bibframe2 test data",
    "natlibfi-fennica": "National Library of Finland",
    "norwegian": "scriptotek/php-marc test data (BIBSYS, Norwegian)",
}


# --------------------------------------------------------------------------- reading

def iter_raw(path):
    with gzip.open(path, "rb") as fh:
        while True:
            head = fh.read(5)
            if not head or not head.strip():
                break
            yield head + fh.read(int(head) - 5)


def localname(el):
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def xml_records(path):
    """Every MARC record in a MARCXML / marcxchange / SRU / OAI file, any namespace."""
    tree = etree.parse(path, etree.XMLParser(recover=True, huge_tree=True))
    for el in tree.iter():
        if localname(el) != "record":
            continue
        kids = [k for k in el if isinstance(k.tag, str)]
        if not any(localname(k) == "leader" for k in kids):
            continue
        if (el.get("type") or "Bibliographic") != "Bibliographic":
            continue
        rec = pymarc.Record(force_utf8=True)
        for k in kids:
            name = localname(k)
            if name == "leader":
                rec.leader = pymarc.Leader((k.text or "").ljust(24)[:24])
            elif name == "controlfield":
                rec.add_field(pymarc.Field(tag=k.get("tag"), data=k.text or ""))
            elif name == "datafield":
                rec.add_field(pymarc.Field(
                    tag=k.get("tag"),
                    indicators=[k.get("ind1") or " ", k.get("ind2") or " "],
                    subfields=[pymarc.Subfield(code=s.get("code") or " ", value=s.text or "")
                               for s in k if localname(s) == "subfield"]))
        yield rec


class Cand:
    def __init__(self, source, origin, rec, raw=None):
        self.source, self.origin, self.rec, self.raw = source, origin, rec, raw
        self.size = len(raw) if raw else len(str(rec))

    @property
    def cn(self):
        f = self.rec.get_fields("001")
        return f[0].data.strip() if f else ""


def load(corpora):
    lc, free = [], []
    for raw in iter_raw(os.path.join(corpora, LC_FILE)):
        lc.append(Cand("lc", LC_FILE, pymarc.Record(data=raw, to_unicode=True, force_utf8=True), raw))
    for source, dirs in (("cc0", CC0_DIRS), ("mit", MIT_DIRS)):
        for d in dirs:
            for path in sorted(glob.glob(os.path.join(corpora, d, "**", "*"), recursive=True)):
                if not path.endswith((".xml", ".marcxml")):
                    continue
                rel = os.path.relpath(path, corpora).replace(os.sep, "/")
                for rec in xml_records(path):
                    free.append(Cand(source, rel, rec))
    return lc, free


# --------------------------------------------------------------------------- features

def F(rec, *tags):
    return rec.get_fields(*tags)


def S(field, *codes):
    return field.get_subfields(*codes)


def data_fields(rec):
    return [f for f in rec.fields if not f.is_control_field()]


def c008(rec, start, end):
    fs = F(rec, "008")
    return fs[0].data[start:end] if fs else ""


def where(tags, test=lambda f: True):
    """Predicate + quoter for 'a field with one of these tags passing test'."""
    def pred(rec):
        return [f for f in F(rec, *tags) if test(f)]
    return pred


def relator_e(words):
    return where(("700",), lambda f: any(s.strip(" .,").lower() in words for s in S(f, "e")))


def relator_4(code):
    return where(("700",), lambda f: any(s.strip().lower().rsplit("/", 1)[-1] == code
                                         for s in S(f, "4")))


def six(tags, test):
    return where(tags, test)


def pred_880(rec):
    out = []
    for f in F(rec, "880"):
        link = (S(f, "6") or [""])[0]
        tag, occ = link[:3], link[4:6]
        for g in F(rec, tag):
            if any(s[4:6] == occ and s.startswith("880") for s in S(g, "6")):
                out += [g, f]
    return out[:4]


def pred_control(rec):
    if F(rec, "001") and F(rec, "003") and F(rec, "035"):
        return F(rec, "001", "003") + F(rec, "035")[:1]
    return []


def pred_008(start, end, values, label):
    def pred(rec):
        if rec.leader[6:7] not in ("a", "t") or c008(rec, start, end) not in values:
            return []
        return F(rec, "008")
    pred.note = label
    return pred


def pred_lang(rec):
    lang = c008(rec, 35, 38)
    if lang.strip() and lang not in ("eng", "und", "|||", "zxx", "mul") and not F(rec, "041"):
        return F(rec, "008")
    return []


def pred_100_240l(rec):
    if F(rec, "100") and any(S(f, "l") for f in F(rec, "240")):
        return F(rec, "100", "240")
    return []


def pred_245(codes):
    def pred(rec):
        return [f for f in F(rec, "245") if all(S(f, c) for c in codes)]
    return pred


def pred_490_830(rec):
    return F(rec, "490", "830") if F(rec, "490") and F(rec, "830") else []


def pred_33x(rec):
    return F(rec, "336", "337", "338") if all(F(rec, t) for t in ("336", "337", "338")) else []


def pred_translation_link(rec):
    words = ("translation of", "oversettelse av", "käännöksen perustana", "översättning av")
    return [f for f in F(rec, "700", "710", "730")
            if S(f, "t") and any(w in s.lower() for s in S(f, "i") for w in words)]


def subject_thesaurus(tag):
    return where((tag,), lambda f: f.indicators[1] == "7" or bool(S(f, "2")))


FEATURES = [
    # (feature, predicate returning the fields to quote, note)
    ("001/003 + 035", pred_control, ""),
    ("020 with $q", where(("020",), lambda f: bool(S(f, "q"))), ""),
    ("020 with $z", where(("020",), lambda f: bool(S(f, "z"))), ""),
    ("022", where(("022",)), ""),
    ("024", where(("024",)), ""),
    ("041 with $h", where(("041",), lambda f: bool(S(f, "h"))), ""),
    ("008/35-37 language (not eng, no 041)", pred_lang, "language only in 008/35-37"),
    ("100 + 240 with $l", pred_100_240l, ""),
    ("130 main entry", where(("130",)), ""),
    ("110 main entry", where(("110",)), ""),
    ("111 main entry", where(("111",)), ""),
    ("245 with $b $c $n $p", pred_245("bcnp"), ""),
    ("246", where(("246",)), ""),
    ("250", where(("250",)), ""),
    ("260", where(("260",)), ""),
    ("264 second indicator 0 (production)", where(("264",), lambda f: f.indicators[1] == "0"), ""),
    ("264 second indicator 1 (publication)", where(("264",), lambda f: f.indicators[1] == "1"), ""),
    ("264 second indicator 2 (distribution)", where(("264",), lambda f: f.indicators[1] == "2"), ""),
    ("264 second indicator 3 (manufacture)", where(("264",), lambda f: f.indicators[1] == "3"), ""),
    ("264 second indicator 4 (copyright date)", where(("264",), lambda f: f.indicators[1] == "4"), ""),
    ("300 with $a $b $c", where(("300",), lambda f: all(S(f, c) for c in "abc")), ""),
    ("336/337/338", pred_33x, ""),
    ("490 + 830", pred_490_830, ""),
    ("440", where(("440",)), ""),
    ("500", where(("500",)), ""),
    ("504", where(("504",)), ""),
    ("505", where(("505",)), ""),
    ("520", where(("520",)), ""),
    ("600 with $2 / ind2 7", subject_thesaurus("600"), ""),
    ("610 with $2 / ind2 7", subject_thesaurus("610"), ""),
    ("611 with $2 / ind2 7", subject_thesaurus("611"), ""),
    ("630 with $2 / ind2 7", subject_thesaurus("630"), ""),
    ("630 (LCSH, ind2 0)", where(("630",), lambda f: f.indicators[1] == "0"), "fallback for 630 $2"),
    ("650 with $2 / ind2 7", subject_thesaurus("650"), ""),
    ("651 with $2 / ind2 7", subject_thesaurus("651"), ""),
    ("6XX with $0 URI", six([t for t in map(str, range(600, 700))],
                            lambda f: any(s.startswith("http") for s in S(f, "0"))), ""),
    ("6XX with $0 (authority record control number)",
     six([t for t in map(str, range(600, 700))],
         lambda f: any(not s.startswith("http") for s in S(f, "0"))), ""),
    ("6XX with $1 (real world object URI)",
     six([t for t in map(str, range(600, 700))], lambda f: bool(S(f, "1"))), ""),
    ("655", where(("655",)), ""),
    ("082", where(("082",)), ""),
    ("050", where(("050",)), ""),
    ("700 $e translator", relator_e({"tr", "translator", "trans"}), ""),
    ("700 $e editor", relator_e({"ed", "editor"}), ""),
    ("700 $e illustrator", relator_e({"ill", "illus", "illustrator"}), ""),
    ("700 $4 trl", relator_4("trl"), ""),
    ("700 $4 edt", relator_4("edt"), ""),
    ("700 $4 ill", relator_4("ill"), ""),
    ("700 $i translation link + $t", pred_translation_link, ""),
    ("710", where(("710",)), ""),
    ("711", where(("711",)), ""),
    ("008/22 target audience j (juvenile)", pred_008(22, 23, {"j"}, "008/22 = j"), ""),
    ("008/22 target audience e (adult)", pred_008(22, 23, {"e"}, "008/22 = e"), ""),
    ("008/22 target audience blank (unknown/general)", pred_008(22, 23, {" "}, "008/22 = blank"), ""),
    ("008/33 literary form 1 (fiction)", pred_008(33, 34, {"1"}, "008/33 = 1"), ""),
    ("008/33 literary form 0 (not fiction)", pred_008(33, 34, {"0"}, "008/33 = 0"), ""),
    ("880 paired via $6", pred_880, ""),
    ("852 holdings", where(("852",)), ""),
]


# --------------------------------------------------------------------------- selection

def rank(cand):
    """Prefer catalogue records over records made for a converter's unit tests."""
    return 1 if "/test_data/" in cand.origin else 0


def select(lc, free):
    chosen = []          # Cand, in order of first use
    rows = []            # (feature, cand or None, quoted fields)
    for feature, pred, _note in FEATURES:
        pick = None
        for pool in (lc, [c for c in free if c.source == "cc0"], [c for c in free if c.source == "mit"]):
            hits = [c for c in pool if pred(c.rec)]
            if not hits:
                continue
            reuse = [c for c in hits if any(c is d for d in chosen)]
            pick = min(reuse or hits, key=lambda c: (rank(c), c.size, c.origin, c.cn))
            break
        if pick is not None and not any(pick is d for d in chosen):
            chosen.append(pick)
        rows.append((feature, pick, pred(pick.rec) if pick else []))
    return chosen, rows


def md_escape(text):
    return text.replace("|", "\\|")


def write_outputs(out_dir, chosen, rows):
    lc = [c for c in chosen if c.source == "lc"]
    with open(os.path.join(out_dir, "golden.mrc"), "wb") as fh:
        for c in lc:
            fh.write(c.raw)
    for source in ("cc0", "mit"):
        cands = [c for c in chosen if c.source == source]
        path = os.path.join(out_dir, SOURCE_INFO[source][0])
        with open(path, "wb") as fh:
            fh.write(b'<?xml version="1.0" encoding="UTF-8"?>\n')
            origins = sorted({c.origin for c in cands})
            comment = (f" {SOURCE_INFO[source][1]}: real records copied from "
                       + "; ".join(origins) + ". See INDEX.md. ")
            fh.write(f"<!--{comment}-->\n".encode("utf-8"))
            if source == "mit" and cands:
                fh.write(f"<!--\n{MIT_NOTICE}-->\n".encode("utf-8"))
            fh.write(b'<collection xmlns="http://www.loc.gov/MARC21/slim">\n')
            for c in cands:
                fh.write(pymarc.record_to_xml(c.rec, namespace=False))
                fh.write(b"\n")
            fh.write(b"</collection>\n")

    lines = []
    add = lines.append
    add("# Golden records: index\n")
    add("Real MARC 21 bibliographic records, one (or a few) per mapping feature, for per-rule "
        "tests. Made by `extract_golden.py` (run it with the corpora directory as argument to "
        "reproduce). Records are never edited: `golden.mrc` holds the LC records byte for byte; "
        "the `.marcxml` files hold the CC0/MIT records in MARC 21 slim XML (records taken out "
        "of SRU/OAI envelopes, otherwise unchanged). Find a record by its 001.\n")
    add("| file | records | source | licence |")
    add("|---|---|---|---|")
    add(f"| `golden.mrc` | {len(lc)} | Library of Congress MARC Distribution Service, Books All "
        "2016 part 01 (first 20,000 records) | public domain |")
    for source in ("cc0", "mit"):
        cands = [c for c in chosen if c.source == source]
        origins = sorted({c.origin.split('/')[0] for c in cands})
        add(f"| `{SOURCE_INFO[source][0]}` | {len(cands)} | "
            + ", ".join(SOURCE_NAMES.get(o, o) for o in origins) + f" | {SOURCE_INFO[source][1]} |")
    add("")
    add("The MIT record(s) come from the test data of scriptotek/php-marc "
        "(`tests/data/examples/`), Copyright (c) 2016 University of Oslo Science Library; "
        "the MIT copyright and permission notice is reproduced at the top of "
        "`golden-mit.marcxml` and must stay with the record. "
        "The CC0 records come from LC's marc2bibframe2 samples and test data and the National "
        "Library of Finland's test input.\n")
    add("LC control numbers (001) are stored with blanks, e.g. `   00015646 `; the table shows "
        "them trimmed.\n")
    add("| feature | file | 001 | source / licence | field(s) |")
    add("|---|---|---|---|---|")
    missing = []
    for feature, cand, quoted in rows:
        if cand is None:
            missing.append(feature)
            add(f"| {feature} | – | – | not found in any freely licensed corpus | |")
            continue
        file_, lic = SOURCE_INFO[cand.source]
        origin = cand.origin if cand.source != "lc" else "LC Books All 2016 (first 20k)"
        text = "<br>".join(f"`{md_escape(str(f))}`" for f in quoted[:4])
        if len(text) > 600:
            text = text[:600] + "…`"
        add(f"| {feature} | `{file_}` | `{cand.cn}` | {md_escape(origin)}, {lic} | {text} |")
    add("")
    if missing:
        add("Not found in any of the freely licensed corpora (LC 20k, marc2bibframe2, Fennica, "
            "Norwegian): " + "; ".join(missing) + ".\n")
    add("Notes:\n")
    add("* 700 `$i` translation link: no record in the free corpora has `$i Translation of:` "
        "(LC practice) or the Norwegian `$i Oversettelse av:`; the LC 20k has a single 7XX `$i` "
        "(`Sequel to:`). The golden record is the Finnish equivalent, `$i Käännöksen "
        "perustana:` (\"basis of the translation\") with `$a` + `$t`, from the National Library "
        "of Finland.")
    add("* 630 with `$2`/second indicator 7 exists in none of the free corpora; the LCSH 630 "
        "(second indicator 0) record stands in for it.")
    add("* 264 second indicator 2 (distribution) and 700 `$4 edt` occur in none of the free "
        "corpora.")
    add("* The LC 20k has no 6XX with `$0` or `$1`, no 600-651 with `$2`, no 020 `$q`, no 024 and "
        "no 264 second indicators 0, 2 or 3: those golden records are CC0.")
    add("* `golden-cc0.marcxml` records whose origin is marc2bibframe2 `test_data/` were picked "
        "only when no catalogue record has the feature (600-651 `$1`, 611 with `$2`, 264 second "
        "indicator 0).\n")
    with open(os.path.join(out_dir, "INDEX.md"), "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines))
    return missing


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    corpora = argv[1]
    out_dir = argv[2] if len(argv) > 2 else os.path.dirname(os.path.abspath(__file__))
    lc, free = load(corpora)
    chosen, rows = select(lc, free)
    missing = write_outputs(out_dir, chosen, rows)
    for feature, cand, _ in rows:
        print(f"{feature:50} {cand.source + ' ' + cand.cn if cand else 'NOT FOUND'}")
    print(f"{len(chosen)} records; missing: {missing}")


if __name__ == "__main__":
    main(sys.argv)
