"""Shared foundation of Keras Apps: config, registry, callbacks, export, reports, plots, errors.

Nothing in `core` knows about anomaly detection, text or images; the task packages build on it.
"""
