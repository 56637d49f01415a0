"""Collective complaints: many holders complaining about the same thing at once.

A streaming detector (``detector.Detector``) groups complaints by structured facts
(``facts``) and by meaning (``meaning``), learns each group's usual arrival rate per hour of
the week (``baseline``) and runs a one-sided Poisson CUSUM on distinct-holder arrivals
(``cusum``). ``replay`` backtests it on a recorded stream; ``simulate`` writes labelled
streams for tests and tuning. See docs/collective.md.
"""

from __future__ import annotations

from anxin.collective.alarm import CollectiveComplaint
from anxin.collective.detector import Detector
from anxin.collective.model import Complaint
from anxin.collective.settings import DetectorSettings

__all__ = ["CollectiveComplaint", "Complaint", "Detector", "DetectorSettings"]
