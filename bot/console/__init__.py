"""The web console (its routes and components: ``bot.console.app.make_console``): open incidents as live cards in a browser, with no tokens, at ``/``.

``sessions`` (one-time links, sessions, CSRF), ``signin`` (who the browser is), ``render`` (pure: views
-> HTML), ``feed`` (changes to the open event streams), ``routes`` (the handlers), ``flash`` (a press's
answer shown once on the page it leads back to), ``incident`` (an incident's live page, the card's actions,
the command box), ``assets`` (its scripts and style, served here).
"""
