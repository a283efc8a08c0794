"""MARC 21 ⇄ RDA mapping: declarative rules (``rules.RULES``) and the record converter."""

from .convert import convert, record_control_number
from .model import IRI, Description, Entity, Kind, Lit
from .rules import RULES, Rule

__all__ = ["convert", "record_control_number", "Description", "Entity", "IRI", "Kind", "Lit", "RULES", "Rule"]
