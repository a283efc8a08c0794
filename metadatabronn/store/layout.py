"""Names of the store's own graphs and statements (docs/architecture.md, "The store")."""

from __future__ import annotations

from ..mapping import terms as T
from ..rdf import AS

MB_PENDING = T.MB + "pending"
MB_SEQUENCE = T.MB + "sequence"
MB_LAST_SEQUENCE = T.MB + "lastSequence"
AS_OBJECT = AS + "object"
AS_PUBLISHED = AS + "published"
AS_TOMBSTONE = AS + "Tombstone"
EMM = "https://emm-spec.org/1.0/#"  # LD4 Entity Metadata Management: Deprecate (a merged entity)
# A merge's survivor: it gains the merged entity's keys, and is announced as updated, but its
# values are as they were, so it is not an edit (MARC out of its records is unchanged).
MB_ABSORB = T.MB + "Absorb"
CHANGE_TYPES = {"create": AS + "Create", "update": AS + "Update", "delete": AS + "Delete",
                "deprecate": EMM + "Deprecate", "absorb": MB_ABSORB}
RDF_TYPE = T.RDF_TYPE

# What the store says of itself, in a graph of its own whose name does not depend on the base
# IRI (it is read before the base is known): the base IRI its entities were minted under.
STORE_GRAPH = T.MB + "store"
MB_BASE_IRI = T.MB + "baseIri"
# And how many works, expressions, manifestations and agents it holds (a JSON object), kept with
# each batch and after each update, so that no ingest has to count the whole store.
MB_ENTITY_COUNTS = T.MB + "entityCounts"
COUNTED = {T.C_WORK: "works", T.C_EXPRESSION: "expressions", T.C_MANIFESTATION: "manifestations",
           T.C_PERSON: "agents", T.C_CORPORATE: "agents", T.C_FAMILY: "agents"}


def changes_graph(base: str) -> str:
    return f"{base}/graph/changes"


def pending_graph(base: str) -> str:
    return f"{base}/graph/pending"
