"""Sizes every reader works in: how much it reads at a time, and how long a chunk may grow."""

BLOCK = 1 << 20
# No real record comes near this; past it a "record" is a run of garbage and is cut so
# that a file without terminators cannot fill memory.
MAX_CHUNK = 16 << 20
UTF8_BOM = b"\xef\xbb\xbf"
