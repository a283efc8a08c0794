"""The ISNI assignment flow: requests for the persons and corporate bodies created or changed
since a date that have no ISNI, and ISNI's answers taken in.

**Requests** (:func:`requests`): each agent the change feed (or an authority record's catalogue
row) names since the date, as the well states it (:meth:`Reading.about`), becomes one AtomPub
request (:mod:`metadatabronn.isni.request`) in ``{agent id}.xml``: its preferred name, its variant
access points, its dates, its identifiers (the authority record's own ``(ORG)CTRL`` as the
requestor's identifier of the identity, else ``(REQUESTOR){agent id}``), and up to N titles of
works it created in the well's records. An agent that is not sent is counted with its reason.

**Answers** (:func:`responses`): every file is read and checked first (an unreadable one, a bad
check character, an answer that names no agent of the well stops the run before anything is
written). Then an assigned ISNI becomes an identifier of its agent, written as the organisation
``isni`` (a writer graph, an ``Update`` in the change log and the feed); possible matches go to the
review list (:mod:`metadatabronn.store.authorities`), decided with :func:`decide`. An answer
taken in already changes nothing the second time.

Settings: the requestor code (``--requestor``, ``METADATABRONN_ISNI_REQUESTOR``, default
``metadatabronn``) and the number of titles (``--titles``, ``METADATABRONN_ISNI_TITLES``,
default 10).
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from .. import config
from ..errors import ConfigError, IsniError, UsageError
from ..isni import checksum
from ..isni import request as rq
from ..isni import response as rs
from ..mapping import terms as T
from ..rdf import XSD_STRING
from ..store import authorities as A
from ..store import editing as E
from ..store.core import Store
from ..store.layout import AS_TOMBSTONE
from ..store.names import VARIANT
from .editing import _after, now

log = logging.getLogger(__name__)

ORG = "isni"  # the organisation whose graph assigned ISNIs are written in
DEFAULT_REQUESTOR = "metadatabronn"
DEFAULT_TITLES = 10
KIND_OF = {"person": rq.PERSON, "corporate": rq.ORGANISATION}
NAME = {"person": T.A_PERSON_NAME, "corporate": T.A_CORPORATE_NAME}
AAP = {"person": T.A_PERSON_AAP, "corporate": T.A_CORPORATE_AAP}
ESTABLISHED, TERMINATED = T.RDAA + "P50037", T.RDAA + "P50038"  # a corporate body's dates
LANGUAGE = {"person": T.RDAA + "P50102", "corporate": T.RDAA + "P50023"}  # language of person / body
ID_ELEMENT = {"person": T.A_PERSON_ID, "corporate": T.A_CORPORATE_ID, "family": T.A_AGENT_ID}
# role elements on the work → the MARC relator code ISNI takes as creationRole
ROLE_CODES = {T.W_AUTHOR: "aut", T.W_COMPOSER: "cmp", T.W_COMPILER: "com", T.W_PHOTOGRAPHER: "pht"}
# identifier schemes (024 $2) ISNI takes as other identifiers of the identity, as it names them
OTHER_IDS = {"viaf": "VIAF", "orcid": "ORCID", "wikidata": "WIKIDATA"}
_ISNI_URI = re.compile(r"^https?://(?:www\.)?isni\.org/isni/(\S+)$")
_TRAILING_DATES = re.compile(r",?\s*\(?(?:ca\.\s*|fl\.\s*|b\.\s*|d\.\s*)?\d{3,4}\??-?(?:\d{3,4}\??)?\)?\.?$")
_YEARS = re.compile(r"\d{3,4}")
_ID = re.compile(r"[A-Za-z0-9_\-]+")  # the last part of an agent's IRI
_LIFE = re.compile(r"^(\d{3,4})-(\d{3,4})?$")  # "1926-", "1837-1920": born, died


def requestor_code(flag: str | None) -> str:
    code = (flag or os.environ.get("METADATABRONN_ISNI_REQUESTOR") or DEFAULT_REQUESTOR).strip()
    if not code or any(c in code for c in "()/ \t"):
        raise ConfigError(f"the ISNI requestor code must be one word without brackets or slashes, not {code!r}")
    return code


def title_count(flag: int | None) -> int:
    return config.whole_number(flag, "ISNI_TITLES", DEFAULT_TITLES, "the number of titles")


# what the well states of an agent ----------------------------------------------------------------

def isnis_of(rows) -> set[str]:
    """The ISNIs an agent has: ``mb:identifier "(isni)…"`` and ISNI ``owl:sameAs``, in any graph."""
    found = set()
    for _, p, o, *_ in rows:
        if p == T.MB_IDENTIFIER and o[:6].lower() == "(isni)":
            found.add(checksum.compact(o[6:]))
        elif p == T.OWL_SAMEAS and (m := _ISNI_URI.match(o)):
            found.add(checksum.compact(m.group(1)))
    return found


def _values(rows, predicate: str) -> list[str]:
    """The values of an element, the core's first, each once."""
    ordered = sorted((r for r in rows if r[1] == predicate), key=lambda r: (r[0] != "", r[0]))
    return list(dict.fromkeys(r[2] for r in ordered))


def _marc_date(aap: str, name: str) -> str:
    rest = aap[len(name):] if aap.startswith(name) else ""
    return rest.strip(" ,.")


def _variant(kind: str, text: str):
    if kind == "person":
        name = _TRAILING_DATES.sub("", text).strip()
        return rq.person_name(name or text, _marc_date(text, name))
    return rq.organisation_name(text)


def identity_of(store: Store, iri: str, kind: str, rows, titles: int, requestor: str) -> rq.Identity | None:
    """The request for one agent, or None when it has no name to send."""
    names = _values(rows, NAME[kind])
    aaps = _values(rows, AAP[kind])
    if not names and not aaps:
        return None
    name_text = names[0] if names else _TRAILING_DATES.sub("", aaps[0]).strip()
    aap = aaps[0] if aaps else name_text
    own = _values(rows, T.MB_AUTHORITY_ID)
    ident = rq.Identity(kind=KIND_OF[kind], requestor_id=own[0] if own else f"({requestor}){iri.rsplit('/', 1)[-1]}",
                        name=rq.person_name(name_text, _marc_date(aap, name_text)) if kind == "person"
                        else rq.organisation_name(name_text))
    preferred = {aap, name_text}
    for v in _values(rows, VARIANT[kind]):
        if v not in preferred:
            variant = _variant(kind, v)
            if variant != ident.name and variant not in ident.variants:
                ident.variants.append(variant)
    births, deaths = _values(rows, T.A_BIRTH), _values(rows, T.A_DEATH)
    if kind == "person":
        ident.birth, ident.death = (births or [""])[0], (deaths or [""])[0]
        active = _values(rows, T.A_PERSON_ACTIVITY)
        span = _LIFE.match(ident.name.marc_date)
        if not births and not deaths and span:  # the heading's dates, when no element gives them
            ident.birth, ident.death = span.group(1), span.group(2) or ""
        elif not births and not deaths and active:
            years = _YEARS.findall(active[0])
            if years:
                ident.birth, ident.death, ident.date_type = years[0], years[1] if len(years) > 1 else "", "flourished"
    else:
        founded, ended = _values(rows, ESTABLISHED), _values(rows, TERMINATED)
        ident.usage_from, ident.usage_to = (founded or births or [""])[0], (ended or deaths or [""])[0]
    # 377: languages, as ISO 639-2 codes (the store holds them as id.loc.gov IRIs)
    ident.languages = [v.rsplit("/", 1)[-1] for v in _values(rows, LANGUAGE[kind]) if v.startswith(T.LANG_BASE)]
    for value in _values(rows, T.MB_IDENTIFIER):
        m = re.match(r"^\(([^)]+)\)(.+)$", value)
        if m and m.group(1).lower() in OTHER_IDS:
            ident.other_ids.append((OTHER_IDS[m.group(1).lower()], m.group(2).strip()))
    ident.uris = [u for u in _values(rows, T.OWL_SAMEAS) if u.startswith(("http://", "https://"))]
    ident.resources = resources(store, iri, titles)
    return ident


def resources(store: Store, iri: str, titles: int) -> list[rq.Resource]:
    out = []
    if titles <= 0:
        return out
    for c in A.works_created(store, iri, titles, tuple(ROLE_CODES)):
        role = next((ROLE_CODES[r] for r in ROLE_CODES if r in c.roles), "cre")
        facts = A.manifestation_facts(store, c.graph, (T.M_PUBLISHER_NAME, T.M_DATE_PUB, T.M_IDENTIFIER))
        isbns = tuple(("ISBN", v[9:]) for v in facts.get(T.M_IDENTIFIER, []) if v.startswith("urn:isbn:"))
        year = next((m.group(0) for d in facts.get(T.M_DATE_PUB, []) if (m := _YEARS.search(d))), "")
        out.append(rq.Resource(title=c.title, role=role, publisher=(facts.get(T.M_PUBLISHER_NAME) or [""])[0],
                               date=year, identifiers=isbns[:3]))
    return out


# requests ----------------------------------------------------------------------------------------

@dataclass
class RequestSummary:
    written: list[tuple[str, str]] = field(default_factory=list)  # (file, agent)
    skipped: dict[str, list[str]] = field(default_factory=dict)  # reason -> agents
    titles: int = 0

    def skip(self, reason: str, agent: str) -> None:
        self.skipped.setdefault(reason, []).append(agent)
        log.info("no ISNI request for %s: %s", agent, reason)

    def as_dict(self) -> dict:
        return {"written": len(self.written), "titles": self.titles,
                "skipped": {reason: len(agents) for reason, agents in sorted(self.skipped.items())},
                "requests": [{"file": f, "agent": a} for f, a in self.written],
                "skipped_agents": {reason: agents for reason, agents in sorted(self.skipped.items())}}


def requests(store: Store, cat, since: str, out: Path, *, titles: int = DEFAULT_TITLES,
             requestor: str = DEFAULT_REQUESTOR) -> RequestSummary:
    """Write one request per person or corporate body created or changed since ``since`` that
    has no ISNI, into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    summary = RequestSummary()
    for iri in A.agents_changed_since(store, cat, since):
        rows = store.about(iri)
        if any(p == T.RDF_TYPE and o == AS_TOMBSTONE for _, p, o, *_ in rows):
            summary.skip("deleted", iri)
            continue
        kind = A.agent_kind(store, iri)
        if kind not in KIND_OF:
            summary.skip("a family (ISNI takes persons and corporate bodies)" if kind == "family"
                         else "not a person or corporate body", iri)
            continue
        if any(p == E.DCT_IS_REPLACED_BY for _, p, *_ in rows):
            summary.skip("merged into another agent (its survivor is sent if it changed)", iri)
            continue
        if isnis_of(rows):
            summary.skip("has an ISNI already", iri)
            continue
        identity = identity_of(store, iri, kind, rows, titles, requestor)
        if identity is None:
            summary.skip("no name to send", iri)
            continue
        name = f"{iri.rsplit('/', 1)[-1]}.xml"
        (out / name).write_bytes(rq.write(identity))
        summary.written.append((name, iri))
        summary.titles += len(identity.resources)
    return summary


# answers -----------------------------------------------------------------------------------------

@dataclass
class Answer:
    response: rs.Response
    agent: str


def read_answers(store: Store, folder: Path, requestor: str) -> list[Answer]:
    """Every answer in ``folder`` (``*.xml``, in name order), read, checked and matched to its
    agent; the first that cannot be used raises :class:`IsniError` naming it."""
    if not folder.is_dir():
        raise UsageError(f"{folder} is not a directory of ISNI responses", usage=False)
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() == ".xml")
    answers = []
    for path in files:
        response = rs.read(path.read_bytes(), path.name)
        answers.append(Answer(response, agent_of(store, response, path.name, requestor)))
    return answers


def agent_of(store: Store, response: rs.Response, name: str, requestor: str) -> str:
    """The agent an answer is about: by its file's name (``{agent id}.xml``, as the request was
    written, or ``{agent id}.anything.xml``), else by our identifier among its sources."""
    stem = name.split(".", 1)[0]
    candidates = [f"{store.base}/agent/{stem}"] if _ID.fullmatch(stem) else []
    for code, ident in response.sources:
        if code == requestor and ident.startswith(f"({requestor})") and _ID.fullmatch(ident[len(requestor) + 2:]):
            candidates.append(f"{store.base}/agent/{ident[len(requestor) + 2:]}")
        elif ident.startswith("("):
            candidates += A.with_authority_id(store, ident)
    for iri in candidates:
        if A.agent_kind(store, iri) is not None:
            return _survivor(store, iri)
    raise IsniError(f"{name}: names no agent of the well (the file's name is not an agent's id, and no source "
                    f"identifier of {requestor!r} or authority identifier in it is known)")


def _survivor(store: Store, iri: str) -> str:
    seen = {iri}
    while (nxt := store.successor(iri)) is not None and nxt not in seen:
        seen.add(nxt)
        iri = nxt
    return iri


@dataclass
class ResponseSummary:
    assigned: list[tuple[str, str]] = field(default_factory=list)  # (agent, ISNI) written
    unchanged: list[str] = field(default_factory=list)  # answers taken in before
    review: list[str] = field(default_factory=list)  # agents put on the review list
    conflicts: list[tuple[str, str, str]] = field(default_factory=list)  # (agent, has, answered)
    provisional: list[tuple[str, str]] = field(default_factory=list)  # (agent, PPN)
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (agent, reason)

    def as_dict(self) -> dict:
        return {"assigned": len(self.assigned), "unchanged": len(self.unchanged), "review": len(self.review),
                "conflicts": len(self.conflicts), "provisional": len(self.provisional),
                "rejected": len(self.rejected),
                "details": {"assigned": self.assigned, "review": self.review, "conflicts": self.conflicts,
                            "provisional": self.provisional, "rejected": self.rejected}}


def responses(store: Store, folder: Path, *, requestor: str = DEFAULT_REQUESTOR,
              user: str = "responses") -> ResponseSummary:
    """Take in the answers in ``folder``: every one is read and matched first, so one that cannot
    be used stops the run before anything is written."""
    answers = read_answers(store, folder, requestor)
    summary = ResponseSummary()
    for a in answers:
        r = a.response
        if r.status == rs.ASSIGNED:
            has = isnis_of(store.about(a.agent))
            if r.isni in has:
                summary.unchanged.append(a.agent)
            elif has:
                summary.conflicts.append((a.agent, ", ".join(sorted(has)), r.isni))
                note = [{"isni": r.isni, "ppn": r.ppn,
                         "note": f"assigned while the agent has {', '.join(sorted(has))}"}]
                if not _same_review(store, a.agent, note):
                    A.put_review(store, a.agent, note, r.name, now())
            else:
                assign(store, a.agent, r.isni, user)
                summary.assigned.append((a.agent, r.isni))
                review = A.review_of(store, a.agent)
                if review is not None and not review.decision:
                    A.put_review(store, a.agent, review.candidates, review.response, now(), decision=r.isni)
        elif r.status == rs.POSSIBLE:
            candidates = [{"ppn": m.ppn, "isni": m.isni, "score": m.score, "source": m.source} for m in r.matches]
            if _same_review(store, a.agent, candidates):
                summary.unchanged.append(a.agent)
            else:
                A.put_review(store, a.agent, candidates, r.name, now())
                summary.review.append(a.agent)
        elif r.status == rs.PROVISIONAL:
            summary.provisional.append((a.agent, r.ppn))
        else:
            summary.rejected.append((a.agent, r.reason))
    return summary


def _same_review(store: Store, agent: str, candidates: list[dict]) -> bool:
    review = A.review_of(store, agent)
    return review is not None and A.candidates_text(review.candidates) == A.candidates_text(candidates)


def _plain(dt: str | None) -> str | None:
    return None if dt == XSD_STRING else dt


def assign(store: Store, agent: str, isni: str, user: str) -> E.Written | None:
    """Write ``isni`` as an identifier of ``agent``, stated by the organisation ``isni``: the
    ``mb:identifier``, the RDA identifier element and the ``owl:sameAs`` of the ISNI URI. A
    writer's element is read as the whole element (:func:`~metadatabronn.store.editing.effective`),
    so the values the others state of these elements are stated with it. None if it is there."""
    kind = A.agent_kind(store, agent)
    if kind is None:
        raise IsniError(f"{agent} is not an agent of the well")
    rows = store.about(agent, raw=True)
    graph = E.writer_graph(store.base, ORG, agent)
    stamps = E.stamps_of(store, rows)
    current = E.effective(rows, stamps, store.base)
    new = [(T.MB_IDENTIFIER, f"(isni){isni}", True, None, None), (ID_ELEMENT[kind], f"(isni){isni}", True, None, None),
           (T.OWL_SAMEAS, checksum.uri(isni), False, None, None)]
    elements = {v[0] for v in new} | {r[1] for r in rows if r[0] == graph and r[1] != E.MB_CLEARED}
    stated: dict[tuple, None] = {}
    for g, p, o, lit, lang, dt in current + [r for r in rows if r[0] == graph]:
        if p in elements:
            stated[(p, o, lit, lang, _plain(dt))] = None
    for v in new:
        stated[v] = None
    mine = {(p, o, lit, lang, _plain(dt)) for g, p, o, lit, lang, dt in rows if g == graph and p != E.MB_CLEARED}
    if mine == set(stated):
        return None
    when = _after(now(), stamps.values())
    return E.write(store, agent, E.Author(ORG, user), sorted(stated, key=lambda v: (v[0], v[1])), [], when)


def decide(store: Store, agent: str, isni: str | None, *, user: str = "review") -> str:
    """A person's decision on an agent of the review list: ``isni`` (one of the candidates or
    another the person found) is written as the agent's; None rejects every candidate. What
    was done, in words."""
    iri = agent if agent.startswith(("http://", "https://")) else f"{store.base}/agent/{agent}"
    if not _ID.fullmatch(iri.rsplit("/", 1)[-1]):
        raise UsageError(f"{agent!r} is not an agent's IRI or id", usage=False)
    review = A.review_of(store, iri)
    if review is None:
        raise UsageError(f"{iri} is not on the ISNI review list (see 'metadatabronn isni review')", usage=False)
    if isni is None:
        if review.decision == "rejected":
            return f"{iri}: already rejected"
        A.put_review(store, iri, review.candidates, review.response, now(), decision="rejected")
        return f"{iri}: the candidates are rejected"
    value = checksum.validate(isni, "the ISNI given")
    written = assign(store, iri, value, user)
    if review.decision != value:
        A.put_review(store, iri, review.candidates, review.response, now(), decision=value)
    if written is None:
        return f"{iri}: has the ISNI {checksum.grouped(value)} already"
    return f"{iri}: ISNI {checksum.grouped(value)} written (change {written.sequence})"
