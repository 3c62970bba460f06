"""Adapters: one module per outside service, each speaking the core's types."""
