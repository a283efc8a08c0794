"""What the well holds that the record's fields do not (see :mod:`.reverse`): notes and subject
concepts added in the well get fields of their own, and a subject heading whose concept has left
the work, or been relabelled, gives way to the work's concepts as they are now."""

from __future__ import annotations

from pymarc import Field, Indicators, Subfield

from . import terms as T
from .concepts import SCHEME_IRIS, SCHEMES, concept_label, concept_labels
from .isbd import end_full_stop
from .source import Source
from .text import hint, normalise, strip_heading


def insert_field(fields: list[Field], new: Field) -> None:
    """Put a new field where its tag belongs: after the control fields, before the 880s."""
    for i, f in enumerate(fields):
        if f.tag > new.tag and f.tag != "880" or f.tag == "880" and new.tag != "880":
            if not f.tag.startswith("00"):
                fields.insert(i, new)
                return
    fields.append(new)


# Notes a cataloguer may add in the well, each with a field of its own: (element, entity, tag,
# indicators, the codes its value was read from).
_NOTES = ((T.M_NOTE, "m", "500", "  ", "a"), (T.M_SUPPLEMENTARY, "m", "504", "  ", "a"),
          (T.W_CONTENTS, "w", "505", "0 ", "a"), (T.E_SUMMARY, "e", "520", "  ", "ab"))


def _pairs_with(f: Field, tag: str) -> bool:
    return f.tag == tag or f.tag == "880" and any(s.code == "6" and s.value[:3] == tag for s in f.subfields)


def add_new_notes(fields: list[Field], src: Source, used: set[tuple[str, str]]) -> None:
    """A note no field of the record holds was added in the well: it gets a field of its own.

    A note edited in the well has already taken its old field's place (see ``_changed``), and
    a note in another script is in its 880: only a value found in no field is new.
    """
    for element, role, tag, ind, codes in _NOTES:
        # Almost always every value was written by a field that held it (``used``).
        values = [v for v in src.values[role].get(element, ()) if (element, v) not in used]
        if not values:
            continue
        written = set()
        for f in fields:
            if _pairs_with(f, tag):
                parts = [s.value for s in f.subfields if s.code in codes]
                written.add(hint(" ".join(parts)))
                written.update(hint(v) for v in parts)
        for value in sorted(values):  # the store's order is no order
            h = hint(value)
            if h not in written:
                written.add(h)
                insert_field(fields, Field(tag=tag, indicators=Indicators(ind[0], ind[1]),
                                      subfields=[Subfield("a", value)]))


_SCHEME_CODES = {iri: code for code, iri in SCHEME_IRIS.items()}
_SECOND_INDICATOR = {code: ind for ind, code in SCHEMES.items()}
_OWN_SCHEME = "https://w3id.org/metadatabronn/scheme/"


def _is_concept_heading(f: Field) -> bool:
    """A 6XX the mapping made a concept of (see ``headings.subject``); 655 is a category."""
    if f.tag in ("600", "610", "611"):
        return any(s.code in "vxyz" for s in f.subfields)
    return f.tag in ("630", "647", "648", "650", "651", "653")


def _subjects_as_written(fields: list[Field], src: Source) -> bool:
    """Whether the headings and the work's subject concepts have the very same labels: the
    common case, which needs no folding to tell that nothing was added, removed or relabelled."""
    labels = {label for f in fields if _is_concept_heading(f) for label in concept_labels(f.tag, f.subfields)}
    return labels == {label for _, label, _ in src.subject_concepts}


def _without_gone_subjects(fields: list[Field], src: Source) -> list[Field]:
    """The fields less the subject headings whose concept is no longer a subject of the work:
    removed in the well, or relabelled (its new label is written by ``_add_new_subjects``).

    A heading is its concept's when its label folds to the concept's label, or when its $0/$1
    is the concept's IRI or one of its URIs; a heading linked to an 880 is left as it is.
    """
    labels = {normalise(label) for _, label, _ in src.subject_concepts} | {normalise(t) for t in src.subject_works}
    uris = set(src.values["w"].get(T.W_SUBJECT, ())) | {u for c in src.concepts for u in c.uris}
    kept = []
    for f in fields:
        if _is_concept_heading(f) and not any(s.code == "6" for s in f.subfields):
            if {s.value.strip() for s in f.subfields if s.code in "01"} & uris:
                kept.append(f)
                continue
            if f.tag == "653":  # a term each: the terms still subjects stay, in their order
                terms = [s for s in f.subfields if s.code != "a" or normalise(strip_heading(s.value)) in labels]
                if any(s.code == "a" for s in terms):
                    kept.append(Field(tag=f.tag, indicators=f.indicators, subfields=terms))
                continue
            if normalise(concept_label(f.subfields)) not in labels:
                continue
        kept.append(f)
    return kept


def _add_new_subjects(fields: list[Field], src: Source) -> None:
    """A subject concept added to the work in the well, named by no 6XX, gets a heading.

    Written as a topical term (650; 653 for an uncontrolled one) in the concept's scheme, its
    label's subdivisions in $x, and its IRI in $0. Which heading a concept came from is known by
    its label.
    """
    if not src.subject_concepts:
        return
    # Compared as concepts are keyed: one concept stands for every form of its label that
    # folds to the same ("African-Americans", "African Americans"), and keeps the first.
    headings = [f for f in fields if f.tag[:1] == "6" or f.tag == "880" and
                any(s.code == "6" and s.value[:1] == "6" for s in f.subfields)]
    written = {normalise(label) for f in headings for label in concept_labels(f.tag, f.subfields)}
    linked = {s.value.strip() for f in headings for s in f.subfields if s.code in "01"}
    for iri, label, scheme in src.subject_concepts:
        h = normalise(label)
        if h in written or iri in linked:
            continue
        written.add(h)
        code = _SCHEME_CODES.get(scheme) or (scheme[len(_OWN_SCHEME):] if scheme.startswith(_OWN_SCHEME) else "")
        parts = [p.strip() for p in label.split(" -- ") if p.strip()]
        if not parts:
            continue
        if code in ("", "uncontrolled"):
            new = Field(tag="653", indicators=Indicators(" ", " "), subfields=[Subfield("a", label)])
        else:
            ind2 = _SECOND_INDICATOR.get(code, "7")
            parts[-1] = end_full_stop(parts[-1])  # LC practice: a heading ends with a full stop
            subfields = [Subfield("a", parts[0])] + [Subfield("x", p) for p in parts[1:]]
            if ind2 == "7":
                subfields.append(Subfield("2", code))
            subfields.append(Subfield("0", iri))
            new = Field(tag="650", indicators=Indicators(" ", ind2), subfields=subfields)
        insert_field(fields, new)


def reconcile_subjects(fields: list[Field], src: Source) -> list[Field]:
    """The fields with their subject headings made to agree with the work's concepts."""
    if _subjects_as_written(fields, src):
        return fields
    fields = _without_gone_subjects(fields, src)
    _add_new_subjects(fields, src)
    return fields
