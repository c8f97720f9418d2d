"""DMARC aggregate and failure reports and SMTP TLS reports: read safely, store, summarise.

Files come from strangers (anyone can send a report to a domain's ``rua`` address), so every
layer is bounded: ``containers`` unpacks gzip, zip and mail with size and count caps,
``safexml`` reads XML without a DTD, ``dmarc_xml``, ``tlsrpt`` and ``failure`` turn the
content into typed reports or a ``ReportError`` that says what was wrong and where.
"""
