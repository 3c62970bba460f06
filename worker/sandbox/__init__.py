"""Fake Salesforce and Zendesk HTTPS servers speaking the real REST protocols (demo, tests, benchmarks).

Public interface: :class:`worker.sandbox.server.Sandbox` and :func:`worker.sandbox.seed.seed_demo`.
"""
