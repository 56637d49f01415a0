"""The care desk: complaints from every channel as tickets with SLA clocks, agents,
disputes, reports, and detection of collective complaints (docs/care.md)."""
