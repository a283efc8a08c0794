"""Work clustering bench: how records of MARC files group into works and expressions.

Converts every bibliographic record of the given files with the library's own reader, parser
and mapping, groups the records by ``identity.key(desc.work)`` and ``identity.key(desc.expression)``
and prints the figures, the largest clusters (key, sample titles from 245 $a, languages) and,
for comparison, how many clusters a NAIVE key makes: 100/110/111 as written + (240 if present,
else 245 $a), only lower-cased and with trailing punctuation stripped.

    python bench/clusters.py FILE... [--top N] [--min-size K] [--all] [--proposals [--show N]] [--json OUT]
                             [--translations [--judge] [--sample N] [--seed S] [--judged TSV]] [--no-aliases]

``--all`` lists every work cluster of at least ``--min-size`` records (default 2), not only the
top N. ``--json OUT`` writes the figures, every work cluster and one row per record (control
number, keys, naive key and the MARC fields that bear on clustering) for analysis by hand.
``--proposals`` measures candidate clustering rules (see ``RULES``): how many records each would
re-key and how the number of works changes, with examples. Records without 001, which the library
rejects, are numbered by the bench so that they can be clustered too (``--skip-no-001`` to reject).
``--translations`` counts the translations (see that section below for the definitions), how many
join their original's work, and reports recall and the precision of a hand-judged sample.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from metadatabronn import identity  # noqa: E402
from metadatabronn.errors import MetadatabronnError  # noqa: E402
from metadatabronn.mapping.convert import convert  # noqa: E402
from metadatabronn.mapping import headings as _headings  # noqa: E402
from metadatabronn.mapping import translation  # noqa: E402
from metadatabronn.mapping.text import strip_isbd  # noqa: E402
from metadatabronn.marc import RecordKind, iter_chunks, parse_chunk, record_kind  # noqa: E402
from metadatabronn.pipeline import aliases  # noqa: E402
from pymarc import Field  # noqa: E402

_TRAILING = " \t.,;:/=[]"
# The 7XX $i wordings the mapping reads as "translation of" (a private table: fall back if renamed).
_TRANSLATION_OF = getattr(_headings, "_TRANSLATION_OF", ("translation of",))


def _sub(field, codes: str) -> str:
    return " ".join(v.strip() for c, v in field.subfields if c in codes and v.strip())


def _first(record, tag: str):
    fields = record.get_fields(tag)
    return fields[0] if fields else None


def naive_key(record) -> str:
    """100/110/111 as written + (240 if present else 245 $a), lower-cased, trailing punctuation off."""
    main = next((f for t in ("100", "110", "111") if (f := _first(record, t)) is not None), None)
    f240 = _first(record, "240")
    f245 = _first(record, "245")
    # "as written": every subfield of the heading and of the 240, control subfields ($0-$9) aside.
    name = _sub(main, "abcdefghijklmnopqrstuvwxyz") if main is not None else ""
    if f240 is not None:
        title = _sub(f240, "abcdefghijklmnopqrstuvwxyz")
    else:
        title = _sub(f245, "a") if f245 is not None else ""
    return f"{name.lower().rstrip(_TRAILING)}|{title.lower().rstrip(_TRAILING)}"


def _fields_text(record, tags: tuple[str, ...], codes: str | None = None) -> list[str]:
    out = []
    for tag in tags:
        for f in record.get_fields(tag):
            if f.is_control_field():
                out.append(f"{tag} {f.data}")
            else:
                body = " ".join(f"${c}{v}" for c, v in f.subfields if codes is None or c in codes)
                out.append(f"{tag} {f.indicator1 or ' '}{f.indicator2 or ' '} {body}")
    return out


def record_row(record, desc) -> dict:
    """What the record says that bears on clustering, for checking clusters by hand."""
    f008 = _first(record, "008")
    f245 = _first(record, "245")
    notes = [t for t in _fields_text(record, ("500",), "a")
             if any(w in t.lower() for w in ("translat", "original", "title:", "käänn", "övers", "übers", "trad"))]
    return {
        "cn": desc.control_number,
        "work": identity.key(desc.work),
        "expression": identity.key(desc.expression),
        "naive": naive_key(record),
        "title": _sub(f245, "a").rstrip(_TRAILING) if f245 is not None else "",
        "f245": _fields_text(record, ("245",), "abcnp"),
        "lang008": f008.data[35:38] if f008 is not None and len(f008.data) >= 38 else "",
        "leader": str(record.leader),
        "main": _fields_text(record, ("100", "110", "111")),
        "uniform": _fields_text(record, ("130", "240")),
        "f041": _fields_text(record, ("041",)),
        "variants": _fields_text(record, ("246", "740")),
        "related": [t for t in _fields_text(record, ("700", "710", "711", "730")) if "$t" in t or t.startswith("730")],
        "original": _fields_text(record, ("765", "775")),
        "notes": notes,
        "publisher": _fields_text(record, ("260", "264"), "abc"),
        "f250": _fields_text(record, ("250",), "a"),
        "facts": facts(record, desc),
        "translation": translation_facts(record),
    }


def translation_facts(record) -> dict:
    """What the record says of translation (``mapping.translation.read``) and the key it names."""
    reading = translation.read(record)
    original = reading.original
    return {"says": list(reading.says), "rule": original.rule if original else "",
            "original": identity.work_key(original.creator, original.title) if original else "",
            "original_title": original.title if original else "", "reliable": reading.reliable}


# --- What the proposed rules (--proposals) look at ------------------------------------------

# 246 $i / 500 wordings that give the original title of a translation.
_ORIGINAL_246 = re.compile(r"^\s*(tyt\.? oryg|original title|titre original|originaltitel|t[ií]tulo original"
                           r"|alkuteos|originalets titel|orig\. ?title)", re.I)
_ORIGINAL_500 = re.compile(r"^\s*(?:translation of|tyt\.? oryg\.?|original title|titre original|originaltitel"
                           r"|t[ií]tulo original|alkuteos|originalets titel)\s*:+\s*[\"“]?([^\"”]+?)[\"”]?\s*\.?\s*$", re.I)
_TRANSLATOR = re.compile(r"transl|tr\.|tł|prze|käänt|suom|övers|übers|trad|перев", re.I)


def _key_title_245(f245) -> str:
    """245 as the library files it for the work key: $a without the article, then $n, $p."""
    skip = int(f245.indicator2) if (f245.indicator2 or "").isdigit() else 0
    a = next((v for c, v in f245.subfields if c == "a"), "")
    return ". ".join([strip_isbd(a[skip:])] + [strip_isbd(v) for c, v in f245.subfields if c in "np"])


def facts(record, desc) -> dict:
    f245 = _first(record, "245")
    uniform = record.get_fields("130", "240")
    translation_of = any(
        f.get_subfields("t") and " ".join(f.get_subfields("i")).strip().lower().startswith(_TRANSLATION_OF)
        for f in record.get_fields("700", "710", "711"))
    originals = [strip_isbd(t) for f in record.get_fields("765") for t in f.get_subfields("t")]
    originals += [_sub(f, "a") for f in record.get_fields("246")
                  if _ORIGINAL_246.match(" ".join(f.get_subfields("i")))]
    for f in record.get_fields("500"):
        m = _ORIGINAL_500.match(" ".join(f.get_subfields("a")))
        if m:
            originals.append(m.group(1))
    f041 = record.get_fields("041")
    translated = (any(f.indicator1 == "1" or f.get_subfields("h") for f in f041)
                  or bool(record.get_fields("765")))
    translators = sorted({identity.creator_key(_sub(f, "a")) for f in record.get_fields("700")
                          if _TRANSLATOR.search(" ".join(f.get_subfields("e")))
                          or "trl" in f.get_subfields("4")})
    publisher = next((strip_isbd(v) for f in record.get_fields("260", "264") for c, v in f.subfields
                      if c == "b" and v.strip()), "")
    return {
        "creator": identity.creator_key(desc.work.basis[1]),
        "uniform": len(uniform),
        "uniform_240": len(record.get_fields("240")),
        "uniform_240_titles": len({identity.normalise(_sub(f, "anp")) for f in record.get_fields("240")}),
        "uniform_130": len(record.get_fields("130")),
        "uniform_k": " ".join(v for f in uniform for v in f.get_subfields("k")),
        "translation_of": translation_of,
        "t245": _key_title_245(f245) if f245 is not None else "",
        "b245": _sub(f245, "b") if f245 is not None else "",
        "originals": originals,
        "translated": translated,
        "translators": translators,
        "publisher": identity.normalise(publisher).split(" ")[0] if publisher else "",
        "aggregate": any(f.indicator2 == "2" and (f.tag == "740" or f.get_subfields("t"))
                         for f in record.get_fields("700", "710", "711", "730", "740")),
    }


# --- Proposed rules, measured without touching the library -----------------------------------
#
# Each rule maps a record row to the work key it would get under the rule (None: unchanged).
# They are bench approximations of changes to mapping/identity, for measuring their effect.


def _work(creator: str, title: str) -> str:
    return f"work|{creator}|{identity.normalise(title)}"


def rule_original_title(row):
    """A translation without 130/240/7XX 'translation of' takes its single original title
    from 765 $t, 246 $i 'original title' or 500 'Translation of:'."""
    f = row["facts"]
    if f["uniform"] or f["translation_of"] or not f["translated"]:
        return None
    titles = {identity.normalise(t) for t in f["originals"] if identity.normalise(t)}
    if len(titles) != 1:
        return None  # none, or several originals (a compilation)
    return _work(f["creator"], titles.pop())


def rule_selections(row):
    """130/240 with $k (Selections): the selection is its own aggregate, keyed by uniform title,
    $k and 245 $a $b, so that different selections part and editions of one selection meet."""
    f = row["facts"]
    if not f["uniform_k"]:
        return None
    uniform = row["work"].split("|", 2)[2]
    return _work(f["creator"], f"{uniform} {f['uniform_k']} {f['t245']} {f['b245']}")


def rule_repeated_uniform(row):
    """Two 240s with different titles name a compilation: key it by its 245, not by the last 240."""
    f = row["facts"]
    return _work(f["creator"], f["t245"]) if f["uniform_240_titles"] > 1 else None


def rule_title_only_b(row):
    """Title-only key (no 1XX, no 130/240): add 245 $b."""
    f = row["facts"]
    if f["creator"] or f["uniform"] or f["translation_of"]:
        return None
    return _work("", f"{f['t245']} {f['b245']}") if f["b245"] else None


def rule_title_only_unique(row):
    """Title-only key (no 1XX, no 130/240): never clustered."""
    f = row["facts"]
    if f["creator"] or f["uniform"] or f["translation_of"]:
        return None
    return f"work|#{row['cn']}"


_CONJUNCTION = re.compile(r"^\s*(and|&|et|und|och|og|ja|y|e|i)\b", re.I)


def rule_aggregate(row):
    """Analytical entries (7XX/740 2nd ind. 2), no 240, and 245 $b going on 'and ...': the
    title proper names only the first of several works; key the aggregate by 245 $a + $b."""
    f = row["facts"]
    if f["uniform"] or not f["aggregate"] or not _CONJUNCTION.match(f["b245"]):
        return None
    return _work(f["creator"], f"{f['t245']} {f['b245']}")


RULES = {
    "original-title": rule_original_title,
    "selections": rule_selections,
    "repeated-uniform": rule_repeated_uniform,
    "aggregate": rule_aggregate,
    "title-only+$b": rule_title_only_b,
    "title-only-unique": rule_title_only_unique,
}


def alias(rows: list[dict], keys: dict[int, str]) -> dict[int, str]:
    """Corpus-level rule: a record without 130/240 takes the work key that records with the same
    creator and 245 title got from a 240 (or from the original-title rule), if they agree on one.
    A 245 that is only the creator's name is no evidence."""
    def evidence(i: int, row: dict) -> bool:
        f = row["facts"]
        by_uniform = f["uniform"] and not f["uniform_k"] and f["uniform_240_titles"] <= 1
        by_original = keys[i] != row["work"] and keys[i] == rule_original_title(row)
        return bool(f["creator"]) and (by_uniform or by_original)

    def pair(row: dict) -> tuple[str, str]:
        return row["facts"]["creator"], identity.normalise(row["facts"]["t245"])

    learned: dict[tuple[str, str], set[str]] = defaultdict(set)
    for i, row in enumerate(rows):
        if evidence(i, row) and not keys[i].startswith(("aside|", "work|#")):
            learned[pair(row)].add(keys[i])
    out = dict(keys)
    for i, row in enumerate(rows):
        f = row["facts"]
        if f["uniform"] or f["translation_of"] or not f["creator"] or keys[i] != row["work"]:
            continue  # has its own preferred title, or another rule already keyed it
        creator, title = pair(row)
        if title == creator or sorted(title.split()) == sorted(creator.split()):
            continue
        found = learned.get((creator, title), set())
        if len(found) == 1:
            out[i] = next(iter(found))
    return out


def _effect(rows, before: dict[int, str], after: dict[int, str]) -> dict:
    changed = [i for i in before if before[i] != after[i]]
    n_before, n_after = len(set(before.values())), len(set(after.values()))
    return {"records rekeyed": len(changed), "works before": n_before, "works after": n_after,
            "examples": [f"{rows[i]['cn']}: {before[i]} -> {after[i]}" for i in changed]}


def _series_volumes(members: list[dict]) -> bool:
    def year(r):
        m = re.search(r"\d{4}", " ".join(r["publisher"]))
        return m.group(0) if m else ""

    def variants(r):
        return {identity.normalise(v.split("$a", 1)[1]) for v in r["variants"] if v.startswith("246") and "$a" in v}

    for i, a in enumerate(members):
        for b in members[i + 1:]:
            fa, fb = a["facts"], b["facts"]
            if not fa["publisher"] or fa["publisher"] != fb["publisher"] or year(a) != year(b):
                continue
            ba, bb = identity.normalise(fa["b245"]), identity.normalise(fb["b245"])
            if (ba and bb and ba != bb) or (variants(a) and variants(b) and variants(a).isdisjoint(variants(b))):
                return True
    return False


def proposals(rows: list[dict], show: int) -> dict:
    base = {i: r["work"] for i, r in enumerate(rows)}
    report = {}
    print("\nproposed rules, each alone on top of the current key (records rekeyed; works before -> after):")
    for name, rule in RULES.items():
        after = {i: (rule(r) or base[i]) for i, r in enumerate(rows)}
        report[name] = eff = _effect(rows, base, after)
        print(f"  {name:<20} {eff['records rekeyed']:>5} rekeyed; works {eff['works before']} -> {eff['works after']}"
              f"\n      rule: {' '.join(rule.__doc__.split())}")
        for ex in eff["examples"][:show]:
            print(f"      {ex}")
    after = alias(rows, base)
    report["alias"] = eff = _effect(rows, base, after)
    print(f"  {'alias (corpus)':<20} {eff['records rekeyed']:>5} rekeyed; works {eff['works before']} -> {eff['works after']}"
          f"   (no 240: take the 240 of records with the same creator and 245 title)")
    for ex in eff["examples"][:show]:
        print(f"      {ex}")

    # Everything safe together: which rules, in what order, is the bench's suggestion.
    combined = dict(base)
    for name in ("repeated-uniform", "selections", "aggregate", "original-title", "title-only+$b"):
        for i, r in enumerate(rows):
            new = RULES[name](r)
            if new is not None and combined[i] == base[i]:
                combined[i] = new
    combined = alias(rows, combined)
    report["combined"] = eff = _effect(rows, base, combined)
    sizes = Counter(combined.values())
    print(f"  {'combined':<20} {eff['records rekeyed']:>5} rekeyed; works {eff['works before']} -> "
          f"{len(sizes)} (repeated-uniform, selections, aggregate, original-title, title-only+$b, "
          "then alias)")
    for k, n in sizes.most_common(show):
        print(f"      {n:>4}  {k}")
    report["combined"]["largest"] = sizes.most_common(50)

    # Review flag, not a key: members with the same publisher and year whose 245 $b or 246
    # differ are likely volumes of a series that share a title proper.
    clusters_now: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        clusters_now[r["work"]].append(r)
    suspects = [k for k, m in clusters_now.items() if len(m) > 1 and _series_volumes(m)]
    report["suspect series volumes"] = suspects
    print(f"  {'suspect (flag)':<20} {len(suspects):>5} clusters flagged (same publisher and year, different "
          "245 $b or 246: probably volumes of a series)")
    for k in suspects[:show]:
        print(f"      {len(clusters_now[k])}  {k}")

    # Expressions: a translation's translator(s) as part of the expression key.
    expr_before = {i: r["expression"] for i, r in enumerate(rows)}
    expr_after = {i: r["expression"] + ("|" + "+".join(r["facts"]["translators"])
                                         if r["facts"]["translated"] and r["facts"]["translators"] else "")
                  for i, r in enumerate(rows)}
    report["translator-in-expression"] = eff = _effect(rows, expr_before, expr_after)
    print(f"  {'translator-in-expr.':<20} {eff['records rekeyed']:>5} rekeyed; expressions "
          f"{eff['works before']} -> {eff['works after']}   (a translation's expression key adds its 700 translators)")
    return report


def scan(paths: list[str], number_missing: bool = True, use_aliases: bool = True) -> tuple[list[dict], Counter, Counter]:
    rows: list[dict] = []
    tally: Counter = Counter()
    reasons: Counter = Counter()
    # The aliases an ingest of these files collects first (pipeline.aliases), applied as it does.
    table = aliases.scan(paths) if use_aliases else aliases.Table()
    tally["aliases"] = len(table)
    tally["alias scan seconds"] = table.seconds
    for index, path in enumerate(paths, 1):
        for chunk in iter_chunks(path):
            tally["read"] += 1
            try:
                record = parse_chunk(chunk)
                if record_kind(str(record.leader)) is not RecordKind.BIBLIOGRAPHIC:
                    tally["not bibliographic"] += 1
                    continue
                f001 = record.get("001")
                if number_missing and (f001 is None or not (f001.data or "").strip()):
                    # The library rejects such records (no stable identity); the bench still
                    # wants to see where they would cluster, so it numbers them itself.
                    if f001 is not None:
                        record.remove_field(f001)
                    record.add_ordered_field(Field(tag="001", data=f"bench-{index}-{chunk.number}"))
                    tally["no 001 (bench-numbered)"] += 1
                desc = convert(record, chunk.number)
                joined = aliases.join(desc, record, table) if table and not desc.deleted else ""
            except MetadatabronnError as exc:
                tally["rejected"] += 1
                reasons[getattr(exc, "reason", str(exc))] += 1
                continue
            except Exception as exc:  # a bench must report, not stop
                tally["rejected"] += 1
                reasons[f"unexpected {type(exc).__name__}: {exc}"] += 1
                continue
            if desc.deleted:
                tally["deleted"] += 1
                continue
            row = record_row(record, desc)
            row["alias"] = joined
            row["source"] = Path(path).name
            row["number"] = chunk.number
            rows.append(row)
    return rows, tally, reasons


def clusters(rows: list[dict], what: str) -> dict[str, list[dict]]:
    groups: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        groups[row[what]].append(row)
    return groups


def _distinct(members: list[dict]) -> int:
    return len({r["cn"] for r in members})


def _langs(members: list[dict]) -> str:
    langs = Counter(r["expression"].rsplit("|", 2)[-2] or "(none)" for r in members)
    return ", ".join(f"{lang}×{n}" for lang, n in langs.most_common())


def _samples(members: list[dict], n: int = 4) -> str:
    titles = Counter(r["title"] for r in members)
    shown = [f"{t!r}×{c}" if c > 1 else repr(t) for t, c in titles.most_common(n)]
    more = len(titles) - len(shown)
    return "; ".join(shown) + (f"; … {more} more" if more > 0 else "")

# --- Translations: do they join their original's work? (--translations) ----------------------
#
# A *translation* is a record whose fields say so (translation.SIGNALS: 240/130 $l, 041 $h or
# first indicator 1, 765, 246 'Original title', 500 'Translation of', 7XX $i 'Translation of'
# with $t). It *names* its original when a rule of translation.RULES gives the original's creator
# and title. Its original is *in the file* when another record, itself no translation, has the
# same creator surname (first word of the folded name) and a title proper or preferred title
# whose first four folded words, a leading article aside, are the original title's: looser than
# the work key on purpose, so that recall sees the key's misses (dates, fuller names, subtitles).
# It *joins* when it has the work key of such a record. Recall = joined / named translations
# whose original is in the file. A *join*, for precision, is a named translation that shares its
# work with at least one other record (original or another translation); a seeded sample of
# joins is judged by hand in bench/translations-judged.tsv (control number, work key, verdict
# same|different, reason), and precision = same / judged.

JUDGED = Path(__file__).resolve().parent / "translations-judged.tsv"
_ARTICLES = {"the", "a", "an", "der", "die", "das", "le", "la", "les", "l", "el", "il", "lo", "den", "det"}


def _loose(title: str) -> str:
    words = identity.normalise(title).split()
    if words and words[0] in _ARTICLES:
        words = words[1:]
    return " ".join(words[:4])


def _surname(creator: str) -> str:
    return creator.split(" ", 1)[0]


def read_judged(path: Path) -> dict[tuple[str, str], tuple[str, str]]:
    """(control number, work key) → (verdict, reason), from the judged sample."""
    judged = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines()[1:]:
            if line.strip():
                cn, work, verdict, reason = (line.split("\t") + ["", "", "", ""])[:4]
                judged[(cn, work)] = (verdict.strip(), reason.strip())
    return judged


def _brief(row: dict) -> str:
    fields = row["main"] + row["uniform"] + row["f245"] + row["f041"] + row["related"] + row["original"] + row["notes"]
    return f"{row['cn']} [{row['lang008']}] " + " | ".join(fields)


def translations(rows: list[dict], judged_path: Path, sample: int, seed: int, judge: bool) -> dict:
    said = [r for r in rows if r["translation"]["says"]]
    named = [r for r in said if r["translation"]["original"]]
    originals: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in rows:
        if not r["translation"]["says"]:
            for title in {r["facts"]["t245"], r["work"].split("|", 2)[2]}:
                if title:
                    originals[(_surname(r["facts"]["creator"]), _loose(title))].append(r)
    present, joined, misses = 0, 0, []
    for r in named:
        _, creator, title = r["translation"]["original"].split("|", 2)
        found = [o for o in originals.get((_surname(creator), _loose(title)), []) if o["cn"] != r["cn"]]
        if found:
            present += 1
            if any(o["work"] == r["work"] for o in found):
                joined += 1
            else:
                misses.append((r, found))
    works = clusters(rows, "work")
    joins = sorted((r for r in named if _distinct(works[r["work"]]) >= 2), key=lambda r: r["cn"])
    drawn = random.Random(seed).sample(joins, min(sample, len(joins)))
    judged = read_judged(judged_path)
    verdicts = [judged[(r["cn"], r["work"])][0] for r in drawn if (r["cn"], r["work"]) in judged]
    same = sum(1 for v in verdicts if v == "same")
    # Joined through an alias: a record naming no original whose own key another record gave as
    # its translation's title (pipeline.aliases). Judged apart, every one up to --sample.
    aliased = sorted((r for r in rows if r.get("alias")), key=lambda r: r["cn"])
    aliased_drawn = random.Random(seed).sample(aliased, min(sample, len(aliased)))
    aliased_verdicts = [judged[(r["cn"], r["work"])][0] for r in aliased_drawn if (r["cn"], r["work"]) in judged]
    aliased_same = sum(1 for v in aliased_verdicts if v == "same")
    figures = {
        "translations (a field says so)": len(said),
        "by field": dict(Counter(s for r in said for s in r["translation"]["says"]).most_common()),
        "naming their original": len(named),
        "by rule": dict(Counter(r["translation"]["rule"] for r in named).most_common()),
        "naming none (041 only)": sum(1 for r in said if set(r["translation"]["says"]) <= {"041 $h", "041 ind1 1"}),
        "original in the file": present,
        "joined their original's work": joined,
        "recall": round(joined / present, 3) if present else None,
        "joins (share a work with another record)": len(joins),
        "sample drawn": len(drawn), "sample judged": len(verdicts), "judged same work": same,
        "precision": round(same / len(verdicts), 3) if verdicts else None,
        "joined through an alias": len(aliased),
        "of them saying 041 $h": sum(1 for r in aliased if "041 $h" in r["translation"]["says"]),
        "aliases used": len({r["alias"] for r in aliased}),
        "alias joins judged": len(aliased_verdicts), "alias joins judged same work": aliased_same,
        "alias precision": round(aliased_same / len(aliased_verdicts), 3) if aliased_verdicts else None,
    }
    print("\ntranslations (mapping.translation):")
    for name, value in figures.items():
        print(f"  {name:<40} {value}")
    print(f"  recall    = joined / original in the file = {joined}/{present}")
    print(f"  precision = judged same / judged = {same}/{len(verdicts)} (seed {seed}, {judged_path.name})")
    for r, found in misses[:10]:
        print(f"  missed: {_brief(r)}\n          original? {_brief(found[0])}")
    print(f"  alias precision = judged same / judged = {aliased_same}/{len(aliased_verdicts)}")
    unjudged = [r for r in [*drawn, *aliased_drawn] if (r["cn"], r["work"]) not in judged]
    if unjudged:
        print(f"  {len(unjudged)} drawn joins are not judged yet: run with --judge and add them to {judged_path.name}")
    if judge:
        for r in [*drawn, *(r for r in aliased_drawn if r not in drawn)]:
            print(f"\n{r['cn']}\t{r['work']}\t{judged.get((r['cn'], r['work']), ('?', ''))[0]}")
            print(f"  {'alias ' + r['alias'] if r.get('alias') else 'translation'}: {_brief(r)}")
            for other in works[r["work"]]:
                if other["cn"] != r["cn"]:
                    print(f"  with:        {_brief(other)}")
    return figures


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("files", nargs="+", metavar="FILE")
    ap.add_argument("--top", type=int, default=15, help="largest work clusters to show (default 15)")
    ap.add_argument("--all", action="store_true", help="list every work cluster of at least --min-size records")
    ap.add_argument("--min-size", type=int, default=2)
    ap.add_argument("--json", metavar="OUT", help="write figures, clusters and per-record rows as JSON")
    ap.add_argument("--proposals", action="store_true",
                    help="measure the proposed clustering rules (bench approximations, the library is not changed)")
    ap.add_argument("--show", type=int, default=5, help="examples per proposed rule (default 5)")
    ap.add_argument("--translations", action="store_true",
                    help="count translations, how many join their original's work, recall and precision")
    ap.add_argument("--judged", metavar="TSV", default=str(JUDGED), help="the judged sample of joins (default %(default)s)")
    ap.add_argument("--sample", type=int, default=50, help="joins drawn for judging (default 50)")
    ap.add_argument("--seed", type=int, default=14, help="seed of the drawn sample (default 14)")
    ap.add_argument("--judge", action="store_true", help="print the drawn joins with their records, for judging")
    ap.add_argument("--no-aliases", action="store_true",
                    help="key every record alone, without the aliases an ingest of the files applies")
    ap.add_argument("--skip-no-001", action="store_true",
                    help="reject records without 001 as the library does (default: number them and keep them)")
    args = ap.parse_args(argv)

    started = time.perf_counter()
    rows, tally, reasons = scan(args.files, number_missing=not args.skip_no_001, use_aliases=not args.no_aliases)
    elapsed = time.perf_counter() - started

    works = clusters(rows, "work")
    expressions = clusters(rows, "expression")
    naive = clusters(rows, "naive")
    singletons = sum(1 for m in works.values() if len(m) == 1)
    multi = [k for k, m in works.items() if len(m) >= 2]
    # The same record may come twice (same control number): such a pair is no evidence of clustering.
    real = [k for k in multi if _distinct(works[k]) >= 2]
    title_only = [k for k in multi if k.split("|")[1] == ""]
    figures = {
        "files": args.files,
        "chunks read": tally["read"],
        "records": len(rows),
        "distinct control numbers": len({r["cn"] for r in rows}),
        "not bibliographic": tally["not bibliographic"],
        "deleted": tally["deleted"],
        "rejected": tally["rejected"],
        "no 001 (bench-numbered)": tally["no 001 (bench-numbered)"],
        "works": len(works),
        "expressions": len(expressions),
        "singleton works": singletons,
        "works with >=2 records": len(multi),
        "records in works with >=2": sum(len(works[k]) for k in multi),
        "works with >=2 distinct control numbers": len(real),
        "title-only works with >=2 records": len(title_only),
        "records in title-only works with >=2": sum(len(works[k]) for k in title_only),
        "aliases": tally["aliases"],
        "joined through an alias": sum(1 for r in rows if r.get("alias")),
        "alias scan seconds": tally["alias scan seconds"],
        "naive clusters": len(naive),
        "naive singletons": sum(1 for m in naive.values() if len(m) == 1),
        "seconds": round(elapsed, 1),
    }

    print(f"files: {' '.join(args.files)}")
    for name in ("chunks read", "records", "distinct control numbers", "no 001 (bench-numbered)",
                 "not bibliographic", "deleted", "rejected"):
        print(f"  {name:<38} {figures[name]}")
    for reason, n in reasons.most_common(5):
        print(f"    rejected ×{n}: {reason}")
    print(f"  {'works (clusters)':<38} {figures['works']}")
    print(f"  {'expressions':<38} {figures['expressions']}")
    for name in ("singleton works", "works with >=2 records", "records in works with >=2",
                 "works with >=2 distinct control numbers",
                 "title-only works with >=2 records", "records in title-only works with >=2"):
        print(f"  {name:<38} {figures[name]}")
    print(f"  {'aliases (joined through one)':<38} {figures['aliases']} ({figures['joined through an alias']}), "
          f"scan {figures['alias scan seconds']:.2f} s")
    print(f"  {'naive clusters (100+240/245a)':<38} {figures['naive clusters']}  "
          f"({figures['naive singletons']} singletons)")
    print(f"  {'time':<38} {elapsed:.1f} s")

    ranked = sorted(works.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    shown = [kv for kv in ranked if len(kv[1]) >= args.min_size] if args.all else ranked[: args.top]
    print(f"\n{'all work clusters of >= %d records' % args.min_size if args.all else 'largest work clusters'}:")
    for k, members in shown:
        n_expr = len({r["expression"] for r in members})
        distinct = _distinct(members)
        dup = f" ({distinct} distinct control numbers)" if distinct != len(members) else ""
        print(f"  {len(members):>4}  {k}{dup}")
        print(f"        expressions {n_expr}; languages {_langs(members)}")
        print(f"        titles: {_samples(members)}")

    report = proposals(rows, args.show) if args.proposals else None
    translated = (translations(rows, Path(args.judged), args.sample, args.seed, args.judge)
                  if args.translations else None)

    if args.json:
        out = {
            "figures": figures,
            "works": [{"key": k, "size": len(m), "expressions": sorted({r["expression"] for r in m}),
                       "records": [r["cn"] for r in m],
                       "numbers": [[r["source"], r["number"]] for r in m]} for k, m in ranked],
            "records": rows,
            "proposals": report,
            "translations": translated,
        }
        Path(args.json).write_text(json.dumps(out, ensure_ascii=False, indent=1), encoding="utf-8")
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
