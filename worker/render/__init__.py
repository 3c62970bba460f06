"""Renderings of what tiersync decided and did, one module per format.

- ``text``: terminal-safe text (escaping untrusted names and messages), shared by every format.
- ``terminal``: the plan and the outcome of a run, for people at a terminal.
- ``json``: the ``--json`` document of a run, for scripts.
"""
