"""Typed errors of the care desk (rendered as problem+json by the API, one line by the CLI)."""

from __future__ import annotations

from anxin.kit.errors import Conflict, NotFound, Unprocessable


class TicketNotFound(NotFound):
    code = "ticket_not_found"
    title = "No such ticket"


class TicketClosed(Conflict):
    code = "ticket_closed"
    title = "The ticket is closed; a new message opens a new ticket"


class TicketMerged(Conflict):
    code = "ticket_merged"
    title = "The ticket was merged into another one"


class InvalidTransition(Conflict):
    code = "invalid_ticket_transition"
    title = "The ticket cannot move to that state from its current one"


class InvalidTicket(Unprocessable):
    code = "invalid_ticket"
    title = "The ticket request is not valid"


class MacroNotFound(NotFound):
    code = "macro_not_found"
    title = "No such macro"


class MacroExists(Conflict):
    code = "macro_exists"
    title = "A macro with this name and language already exists"


class InvalidMacro(Unprocessable):
    code = "invalid_macro"
    title = "The macro is not valid"


class CsatNotRequested(Conflict):
    code = "csat_not_requested"
    title = "This ticket has not asked for a rating"


class CsatAlreadyAnswered(Conflict):
    code = "csat_already_answered"
    title = "This ticket was already rated"


class CannotMerge(Conflict):
    code = "cannot_merge"
    title = "These tickets cannot be merged"


class LinkNotAllowed(NotFound):
    """A holder named a transfer or account that is not theirs: as absent as one that does
    not exist, so ids cannot be probed."""

    code = "link_not_found"
    title = "No such transfer or account"
