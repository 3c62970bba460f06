"""Fake Salesforce and Zendesk HTTPS servers speaking the real REST protocols (demo, tests, benchmarks).

Public interface: :class:`worker.sandbox.server.Sandbox` and :func:`worker.sandbox.seed.seed_demo`; tests move
time with the clocks ``server.py`` also exports (``ManualClock``, ``OffsetClock``; ``Sandbox.advance``).

Layout:

- ``server.py``: ``Sandbox``, both fakes over TLS on 127.0.0.1, and the environment that points tiersync at them.
- ``__main__.py``: ``python -m worker.sandbox``, serve a seeded sandbox until Ctrl-C or SIGTERM.
- ``httpbase.py``: request/response values, the ``Router`` both fakes use, fault rules, the HTTPS server, clocks.
- ``tls.py``: a private CA and the server's TLS context.
- ``salesforce.py``: ``FakeSalesforce``, the org's state and its REST and SOAP-login endpoints.
- ``sobjects.py``: Salesforce object metadata (Account's describe fields, SOQL schema, defaults).
- ``soql.py``: the SOQL subset the fake Salesforce parses and runs.
- ``zendesk/state.py``: the Zendesk account's data (users, organizations, fields, jobs, groups, business rules,
  request log, faults, ghost writes).
- ``zendesk/api.py``: the Zendesk router and the answers every endpoint module shares.
- ``zendesk/gateway.py``: request log, faults, credentials and rate limit in front of the router; ghost writes after it.
- ``zendesk/pagination.py``: offset and cursor pagination for any Zendesk list.
- ``zendesk/users.py``: ``users/me``.
- ``zendesk/fields.py``: organization fields (rules and endpoints).
- ``zendesk/organizations.py``: organizations (rules and endpoints).
- ``zendesk/jobs.py``: ``update_many`` jobs and ``job_statuses``.
- ``zendesk/export.py``: the time-based incremental organization export (``incremental/organizations``).
- ``zendesk/groups.py``: groups (``add_group``, list and show).
- ``zendesk/rules.py``: the condition and action tables of triggers, views and SLA policies (their definitions, checks).
- ``zendesk/categories.py``: trigger categories (string ids, their own error shape).
- ``zendesk/triggers.py``: triggers and ``triggers/definitions``.
- ``zendesk/views.py``: views (written with ``all``/``output``, read with ``conditions``/``execution``), definitions.
- ``zendesk/slas.py``: SLA policies, their match order (``reorder``) and definitions.
- ``zendesk/tickets.py``: tickets, metric sets, metric events and satisfaction ratings; the cursor ticket export,
  the metric event export (both under the exports' shared per-minute limit) and the ratings list.
- ``zendesk/account.py``: ``FakeZendesk``, the state with every resource's rules mixed in.
- ``seed/__init__.py``: ``seed_demo``, composing the seeders below around one random stream.
- ``seed/run.py``: ``SeedSummary`` and what the seeders share during one pass.
- ``seed/accounts.py``: seeds Salesforce Accounts.
- ``seed/organizations.py``: seeds the matching (messy) Zendesk organizations.
- ``seed/groups.py``: seeds one Zendesk group per demo tier, without drawing from the random stream.
- ``seed/tickets.py``: ``seed_tickets``, tickets with metric sets, SLA events and ratings; called after
  ``seed_demo``, on its own random stream, so the demo data stays as it was.

A new Zendesk resource is a new module with a mixin and its ``@router.route`` endpoints, added to
``FakeZendesk``'s bases; its data goes in ``ZendeskState``, its demo data in a ``seed/`` module (called by
``seed_demo`` when the demo needs it; ``seed_tickets`` stays apart so the pinned demo data does not move).
"""
