"""Catalogue pages: server-rendered HTML that reads like a catalogue (no script needed).

- :mod:`.pages`: an entity's page (work, expression, manifestation, item, agent, concept);
- :mod:`.routes`: the home page ``/``, the search box's ``/search``, the style sheet;
- :mod:`.errors`: error pages for browsers; :mod:`.results`: look-up results as a list;
- :mod:`.labels`: labels from ``vocabularies/`` in English or Norwegian Bokmål.

Kept free of imports here: the error handlers import :mod:`.errors` early.
"""
