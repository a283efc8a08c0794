"""Validation against the application profiles in ``shapes/``.

``profile`` reads the cataloguer-editable tables and compiles them to SHACL; ``check`` runs the
same constraints fast on every record (pySHACL is the reference, and a test holds the two
together); ``report`` writes results as text, JSON, Turtle or quads for the store.
"""

from .check import INFO, VIOLATION, WARNING, Data, Result, check, conforms
from .profile import DEFAULT_PROFILE, PROFILES, Constraint, Profile, load_profile
from .shacl import to_shacl
from .report import (RecordReport, control_number_of, record_label, tag_at_fault, to_json, to_text, to_turtle,
                     validation_quads, validation_statements)

__all__ = [
    "Constraint", "Data", "DEFAULT_PROFILE", "INFO", "PROFILES", "Profile", "RecordReport", "Result",
    "VIOLATION", "WARNING", "check", "conforms", "control_number_of", "load_profile", "record_label",
    "tag_at_fault", "to_json", "to_shacl", "to_text", "to_turtle", "validation_quads", "validation_statements",
]
