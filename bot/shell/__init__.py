"""``tocsin shell``: a terminal chat platform on the shared contract, with no tokens at all.

``platform`` (its name), ``render`` (pure: views -> text with numbered actions), ``channel`` (the
``CardChannel``), ``terminal`` (readline, printing above the typed line), ``session`` (what a typed line
does), ``sender`` and ``inbox`` (pages), ``main`` (signing in, the process).
"""
