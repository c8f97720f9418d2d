"""The inbound analyser: phishing, BEC and malware verdicts with reasons, for .eml files and mail
in transit.

The entry point is :func:`mailwarden.inbound.analyze.analyze_message`. This package module
imports nothing, so that ``mailwarden.config`` can read the built-in lists in
:mod:`mailwarden.inbound.lists` without an import cycle.
"""
