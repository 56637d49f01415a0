"""``anxin care ...``: the care desk and collective-complaint detection.

Each command lives in its own module (``care_*.py``) and is registered here, so the group
grows by use case rather than into one long file.
"""

from __future__ import annotations

import typer

from anxin.cli import care_eval

app = typer.Typer(help="Care desk: tickets, SLA clocks, classifier, collective complaints.")
app.command("eval")(care_eval.evaluate)

# Below the group, one import per command module keeps these lines independent of others.
from anxin.cli import care_replay  # noqa: E402

app.command("replay")(care_replay.replay)
app.command("simulate")(care_replay.simulate)

from anxin.cli import care_intake  # noqa: E402

app.command("smtp")(care_intake.smtp)

from anxin.cli import care_tickets  # noqa: E402

app.command("close-resolved")(care_tickets.close_resolved)

from anxin.cli import care_sla  # noqa: E402

app.command("sla-tick")(care_sla.sla_tick)
app.command("sla-defaults")(care_sla.sla_defaults)

from anxin.cli import care_reports  # noqa: E402

app.command("report")(care_reports.report)
