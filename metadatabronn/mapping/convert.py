"""One bibliographic record → one :class:`Description`. A pure function of the record."""

from __future__ import annotations

from ..errors import MappingError
from . import fixed
from . import headings as H
from . import terms as T
from .builder import Builder
from .model import IRI, Description, Kind, Lit
from .rules import BY_TAG, DESCRIPTIVE_880
from .text import HEADING_TAGS, LAYOUT_VERSION, control_number, layout_json

def record_control_number(record) -> str | None:
    """The record's control number: 001 (with 003), else the first 035 in ``(ORG)ID`` form,
    else the LCCN of 010 as ``(DLC)…`` (LC assigns it), else Koha's 999 $c as ``(Koha)…``; None
    when the record has none of these.

    >>> from pymarc import Field, Record, Subfield
    >>> r = Record(); r.add_field(Field(tag="010", indicators=[" ", " "], subfields=[Subfield("a", "  2001012345 ")]))
    >>> record_control_number(r)
    '(DLC)2001012345'
    """
    return _identity(record)[0]


def _identity(record) -> tuple[str | None, str]:
    """The record's control number and the tag it came from ("001", "035", "010" or "999")."""
    f001 = record.get("001")
    if f001 is not None and (f001.data or "").strip():
        f003 = record.get("003")
        return control_number(f003.data if f003 is not None else None, f001.data), "001"
    return _identity_without_001(record)


def _identity_without_001(record) -> tuple[str | None, str]:
    """For a record without 001: the control number taken instead, and the tag it came from."""
    for f035 in record.get_fields("035"):
        for value in f035.get_subfields("a"):
            value = value.strip()
            if value.startswith("(") and ")" in value:
                org, number = value[1:].split(")", 1)
                if org.strip() and number.strip():  # "(Sirsi) ADK-6621" is (Sirsi)ADK-6621
                    return f"({org.strip()}){number.strip()}", "035"
    for f010 in record.get_fields("010"):
        for value in f010.get_subfields("a"):
            number = "".join(value.split())
            if number:
                return f"(DLC){number}", "010"
    # Koha keeps its own record number in 999 $c (biblionumber), with $d (biblioitemnumber):
    # a record exported from Koha without 001 is still one record of that catalogue.
    for f999 in record.get_fields("999"):
        c, d = (f999.get_subfields("c") or [""])[0].strip(), (f999.get_subfields("d") or [""])[0].strip()
        if c.isdigit() and d.isdigit():
            return f"(Koha){c}", "999"
    return None, "001"


def convert(record, number: int | None = None) -> Description:
    """Map one MARC 21 bibliographic record (a pymarc Record) to RDA entities.

    Raises :class:`MappingError` when the record has no control number (001, 035 or 010),
    since without one the manifestation has no stable identity.
    """
    cn, came_from = _identity(record)
    if cn is None:
        raise MappingError("no control number (001), and no 035, 010 or Koha 999 $c to take one from: the record cannot be "
                           "given a stable identity", number=number, tag="001")
    leader = str(record.leader)
    if leader[5:6] == "d":
        b = Builder(cn, "", False)
        return Description(cn, b.manifestation, b.expression, b.work, [b.manifestation], deleted=True)

    if record.get("245") is None:
        if record.get("200") is not None:
            raise MappingError("no 245 but a 200 title field: this looks like UNIMARC, and only MARC 21 is read",
                               number=number, tag="245", control_number=cn)
        raise MappingError("no title statement (245): a manifestation needs its title proper",
                           number=number, tag="245", control_number=cn)
    f008_field = record.get("008")
    f008 = f008_field.data if f008_field is not None else ""
    # Every 007: a sound recording may code "sz" (other) first and its carrier ("cr") second.
    f007 = [f.data for f in record.get_fields("007") if f.data]
    b = Builder(cn, fixed.language(f008), leader[6:7] in "at")
    if came_from != "001":
        b.identity_from(came_from)  # a Warning: a cataloguer gives it a 001
    layout: list = []
    carried_tags: list[str] = []

    for field in record.fields:
        tag = field.tag
        if field.control_field if hasattr(field, "control_field") else field.is_control_field():
            # 001 and 003 are kept as they came ("  00001813 "): export gives them back as
            # given unless they no longer spell the record's control number.
            layout.append([tag, field.data])
            continue
        subfields = field.subfields
        if tag == "880":
            linkage = next((v for c, v in subfields if c == "6"), "")
            paired = BY_TAG.get(linkage[:3]) if linkage[:3] in DESCRIPTIVE_880 else None
            H.alternate_script(b, field, paired.handler if paired else None)
            rule = paired
        else:
            rule = BY_TAG.get(tag)
            if rule is not None:
                naming = tag in _NAMING
                before = _size(b) if naming else None
                try:
                    rule.handler(b, field)
                except (IndexError, ValueError, AttributeError) as exc:
                    raise MappingError(f"cannot map: {exc}", number=number, tag=tag, control_number=cn) from exc
                if naming and _size(b) == before:
                    # The rule found nothing to hold here (an 800 with a name but no title):
                    # the field is carried as written, so nothing of it can be lost.
                    rule = None
            if rule is None:
                carried_tags.append(tag)
        indicators = field.indicators
        # A value the entities hold is marked as held (``[value]``): export finds it among the
        # entities by its fingerprint and writes it as it came when the entity still says it,
        # or the entity's value where it was changed in the well. (A subfield that is not held
        # goes to the JSON as its (code, value) tuple: the encoder writes a tuple as an array.)
        consumed = rule.consumes if rule is not None else ""
        if not consumed:
            held = subfields
        elif rule.keep is None:
            held = [[c, [v]] if c in consumed else (c, v) for c, v in subfields]
        else:
            keep = rule.keep
            held = [[c, [v]] if c in consumed and not keep(field, c, v) else (c, v) for c, v in subfields]
        layout.append([tag, indicators[0] + indicators[1], held])

    _finish(b, leader, f007, f008)
    desc = Description(cn, b.manifestation, b.expression, b.work, b.entities)
    desc.carried = layout_json({"h": LAYOUT_VERSION, "leader": leader, "fields": layout})
    desc.carried_tags = carried_tags
    desc.layout = layout
    desc.inferred = b.inferred
    return desc


_TERMS: dict[str, IRI] = {}


def _vocabulary_term(value: str) -> IRI:
    """The IRI of a vocabulary term: immutable, so one object per term serves every record."""
    term = _TERMS.get(value)
    if term is None:
        if len(_TERMS) > 4096:  # language codes are open-ended
            _TERMS.clear()
        term = _TERMS[value] = IRI(value)
    return term


# Fields that name an entity: a rule that made nothing of one (an 800 with a name and no title)
# held nothing in it. Other rules may hold a value in the builder's state until the end (041,
# 240, 336), so only these are judged by what they added.
_NAMING = HEADING_TAGS | {"440", "730", "740", "830"}


def _size(b: Builder) -> tuple[int, int, int, int]:
    return len(b.entities), len(b.manifestation.statements), len(b.expression.statements), len(b.work.statements)


def _finish(b: Builder, leader: str, f007: list[str], f008: str) -> None:
    """Settle the work and expression, once every field has been seen."""
    m, e, w = b.manifestation, b.expression, b.work
    creator, heading = b.creator_basis, b.creator_heading
    title, key_title = _work_title(b)
    if b.translation_of is not None:
        creator, title = b.translation_of
        heading, key_title = creator, title
    if not key_title.strip():
        # Nothing to cluster by: the record's work is its own.
        title = title or m.basis[0]
        key_title = m.basis[0]
    w.basis = ("work", creator, key_title)
    if w.first(T.W_PREFERRED_TITLE) is None or b.translation_of is not None:
        w.statements.insert(0, (T.W_PREFERRED_TITLE, _lit(title)))
    w.statements.append((T.W_AAP, _lit(access_point(heading, title))))

    content = list(dict.fromkeys(b.content_codes))
    if not content:
        inferred = fixed.infer_content(leader)
        content = [inferred] if inferred else []
        if content:
            b.inferred.append(T.E_CONTENT_TYPE)
    languages = b.languages or ([b.language] if b.language else [])
    e.basis = ("expression", creator, key_title, "+".join(sorted(set(languages))), "+".join(content))
    e.statements[:0] = [(T.E_WORK, w)]
    for code in content:
        iri = T.content_iri(code)
        if iri:
            e.add(T.E_CONTENT_TYPE, _vocabulary_term(iri))
    seen = set()
    for lang in languages:
        if lang not in seen:
            seen.add(lang)
            e.add(T.E_LANGUAGE, _vocabulary_term(T.language_iri(lang)))
    for orig in b.original_languages:
        if orig not in seen:
            original = b.entity(Kind.EXPRESSION, ("expression", creator, key_title, orig, "+".join(content)))
            if not original.statements:
                original.add(T.E_WORK, w)
                for code in content:
                    if T.content_iri(code):
                        original.add(T.E_CONTENT_TYPE, _vocabulary_term(T.content_iri(code)))
                original.add(T.E_LANGUAGE, _vocabulary_term(T.language_iri(orig)))
            e.add(T.E_TRANSLATION_OF, original)

    audience, guessed = fixed.audience(leader, f008)
    if audience:
        e.add(T.E_AUDIENCE, _vocabulary_term(audience))
        if guessed:
            b.inferred.append(T.E_AUDIENCE)
    form = fixed.literary_form(leader, f008)
    if form:
        w.add(T.W_CATEGORY, _vocabulary_term(form))

    given = {p for p, _ in m.statements}  # one pass, not one scan per element asked about
    if T.M_MEDIA not in given:
        media = fixed.infer_media(leader, f007, f008)
        m.add(T.M_MEDIA, _vocabulary_term(T.media_iri(media)))
        b.inferred.append(T.M_MEDIA)
    else:
        media = ""
    if T.M_CARRIER not in given:
        extent = m.first(T.M_EXTENT)
        if not media:
            media = next((code for code, n in T.MEDIA_CODES.items()
                          if T.MEDIA_BASE + n == m.first(T.M_MEDIA).value), "n")
        carrier = fixed.infer_carrier(leader, f007, f008, media, extent.text if extent else "")
        if carrier and T.carrier_iri(carrier):
            m.add(T.M_CARRIER, _vocabulary_term(T.carrier_iri(carrier)))
            b.inferred.append(T.M_CARRIER)
    mode = fixed.mode_of_issuance(leader)
    if mode:
        m.add(T.M_MODE, _vocabulary_term(mode))
    m.statements[:0] = [(T.M_IDENTIFIER, _lit(m.basis[0])), (T.M_EXPRESSION, e), (T.M_WORK, w)]
    # Work and expression go after the manifestation, ahead of the other entities.
    b.entities[1:1] = [e, w]


def _work_title(b: Builder) -> tuple[str, str]:
    """(preferred title, title for the cluster key), by the clustering rules of docs/architecture.md."""
    uniform = list(dict.fromkeys(b.uniform_titles))
    if len({u.casefold() for u in uniform}) == 1:
        title = uniform[0]
        if b.selection:
            # Each selection or compilation is a work of its own: "Novels. Selections" is a
            # conventional title shared by many different books.
            return title, f"{title}. {b.selection}. {b.filed_title}"
        return title, title
    if len(uniform) > 1:  # uniform titles that disagree name a compilation: go by the title proper
        return b.filed_title, b.filed_title
    originals = list(dict.fromkeys(b.original_titles))
    if len({o.casefold() for o in originals}) == 1:
        return originals[0], originals[0]
    if not b.creator_basis and b.filed_other:
        # Without a creator a bare title ("Human rights") is too common to identify a work.
        return b.filed_title, f"{b.filed_title} : {b.filed_other}"
    return b.filed_title, b.filed_title


def access_point(name: str, title: str) -> str:
    """``Name. Title``; a name that already ends in a full stop ("Jr.") takes no second one."""
    if not name:
        return title
    return f"{name} {title}" if name.endswith(".") else f"{name}. {title}"


_lit = Lit
