"""Incidents: many holders hit by the same problem at once.

An incident is opened by hand or from a burst the collective-complaint detector raised
(``detection``); it carries a lifecycle, a timeline of everything done (``service``), the
holders it affected (``affected``), public updates on the status page with email
subscribers (``updates``, ``subscriptions``, ``status_page``), notices to the affected and
to the complainants (``notify``) and a post-incident report (``report``). Remediation (the
money paid back under four-eyes approval) lives in ``remediation*``. See docs/incidents.md.
"""
