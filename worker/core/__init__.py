"""The pure core: configuration, tier policy, matching, planning and the run summary.

Nothing in this package may import zenpy, simple_salesforce, celery, redis or requests;
tests/unit/test_core_purity.py enforces it.
"""
