"""tiersync: keep Zendesk organizations in step with the customer tiers kept in Salesforce."""

__version__ = "0.1.0"
