"""The administrators' HTTP API: incidents, their checklist, the containment playbook and
quarantined accounts, served by ``mailwarden serve`` (see docs/api.md)."""
