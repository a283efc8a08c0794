"""The elements authority records are mapped to, by the kind of their main entity.

RDA has one element per kind of agent (``has variant access point for person``, ``… for
corporate body``); the mapping names a concept ("variant") and takes the element of the kind.
IRIs from the RDA Registry (v5.4.13), declared in ``vocabularies/``.
"""

from __future__ import annotations

from . import terms as T
from .model import Kind

RDAN = "http://rdaregistry.info/Elements/n/"
C_NOMEN = T.RDAC + "C10012"
N_STRING = RDAN + "P80068"  # has nomen string
N_SCHEME = RDAN + "P80069"  # has scheme of nomen
N_ASSIGNED_BY = RDAN + "P80073"  # is assigned by agent: who gave the form (040 $a, 4XX $5)
N_REFERENCE_SOURCE = RDAN + "P80139"  # has reference source (670)
N_NOTE = RDAN + "P80071"  # has note on nomen (675; the 4XX $w relationship)

SKOS_ALTLABEL = T.SKOS + "altLabel"
SKOS_BROADER = T.SKOS + "broader"
SKOS_NARROWER = T.SKOS + "narrower"
SKOS_RELATED = T.SKOS + "related"
SKOS_NOTE = T.SKOS + "note"
SKOS_SCOPE_NOTE = T.SKOS + "scopeNote"
DCT_IS_REPLACED_BY = "http://purl.org/dc/terms/isReplacedBy"

P, C, F, W, K = Kind.PERSON, Kind.CORPORATE, Kind.FAMILY, Kind.WORK, Kind.CONCEPT
A, RW = T.RDAA, T.RDAW

ELEMENTS: dict[str, dict] = {
    "name": {P: T.A_PERSON_NAME, C: T.A_CORPORATE_NAME, F: T.A_FAMILY_NAME},
    "aap": {P: T.A_PERSON_AAP, C: T.A_CORPORATE_AAP, F: T.A_FAMILY_AAP, W: T.W_AAP},
    "variant": {P: A + "P50412", C: A + "P50408", F: A + "P50410", W: RW + "P10332"},
    # entity → its nomens ("has access point for …")
    "access point": {P: A + "P50377", C: A + "P50375", F: A + "P50376", W: RW + "P10328"},
    # nomen → entity, preferred and variant ("is authorized / variant access point for … of")
    "nomen of": {P: RDAN + "P80107", C: RDAN + "P80103", F: RDAN + "P80105", W: RDAN + "P80079",
                 K: RDAN + "P80162"},
    "variant nomen of": {P: RDAN + "P80108", C: RDAN + "P80104", F: RDAN + "P80106", W: RDAN + "P80080",
                         K: RDAN + "P80165"},
    "identifier": {P: T.A_PERSON_ID, C: T.A_CORPORATE_ID, F: A + "P50052", W: RW + "P10002",
                   K: T.DCT_IDENTIFIER},
    "birth": {P: T.A_BIRTH},
    "death": {P: T.A_DEATH},
    "establishment": {C: A + "P50037"},
    "termination": {C: A + "P50038"},
    "period": {P: T.A_PERSON_ACTIVITY, C: A + "P50236", F: A + "P50432"},
    "date of work": {W: RW + "P10219"},
    "place of birth": {P: A + "P50119"},
    "place of death": {P: A + "P50118"},
    "residence": {P: A + "P50109"},
    "related place": {C: A + "P50350"},
    "field": {P: A + "P50100", C: A + "P50022", F: A + "P50389"},
    "occupation": {P: A + "P50104"},
    "gender": {P: A + "P50116"},
    "language": {P: A + "P50102", C: A + "P50023", F: A + "P50235"},
    "fuller form": {P: A + "P50115"},
    "history": {P: A + "P50113", C: A + "P50035", F: A + "P50064", W: RW + "P10210", K: SKOS_NOTE},
    "source consulted": {W: RW + "P10406"},
    "scope note": {K: SKOS_SCOPE_NOTE},
    "predecessor": {C: A + "P50012"},
    "successor": {C: A + "P50016"},
    # related entities (5XX), by the kinds of the main entity and of the related one
    "related": {
        (P, P): A + "P50316", (P, C): A + "P50318", (P, F): A + "P50317", (P, W): A + "P50311",
        (C, P): A + "P50334", (C, C): A + "P50336", (C, F): A + "P50335", (C, W): A + "P50329",
        (F, P): A + "P50325", (F, C): A + "P50327", (F, F): A + "P50326", (F, W): A + "P50320",
        (W, P): RW + "P10312", (W, C): RW + "P10314", (W, F): RW + "P10313", (W, W): T.W_RELATED_WORK,
    },
}


def kind_element(element: str, kind: Kind) -> str | None:
    """The element for a kind of entity, or None when RDA has none for it."""
    return ELEMENTS[element].get(kind)


def every_element() -> set[str]:
    """Every IRI this table names (for the vocabulary check)."""
    out = {C_NOMEN, N_STRING, N_SCHEME, N_ASSIGNED_BY, N_REFERENCE_SOURCE, N_NOTE, SKOS_ALTLABEL, SKOS_BROADER,
           SKOS_NARROWER, SKOS_RELATED, SKOS_NOTE, SKOS_SCOPE_NOTE, DCT_IS_REPLACED_BY}
    for table in ELEMENTS.values():
        out.update(table.values())
    return out
