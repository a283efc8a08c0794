"""metadatabronn: a metadata well that turns MARC 21 into RDA entities and back."""

__version__ = "0.1.0"
