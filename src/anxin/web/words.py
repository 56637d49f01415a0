"""Messages the pages translate from data (categories, kinds, error titles), listed here so
that ``pybabel extract`` (keyword ``N_``) finds them; the templates call ``_()`` on them."""

from __future__ import annotations


def N_(message: str) -> str:  # noqa: N802 - the gettext convention for "mark only"
    return message


CATEGORIES = (
    N_("top_up"), N_("withdrawal"), N_("transfers"), N_("shopping"), N_("fees"), N_("refunds"),
    N_("rewards"), N_("adjustment"),
)  # fmt: skip
TYPES = (N_("topup"), N_("p2p"), N_("payment"), N_("refund"), N_("mandate_debit"))
KINDS = (N_("card"), N_("bank_account"), N_("CNY"), N_("POINTS"))
STEP_UP = (N_("link_card"), N_("transfer"), N_("payee"), N_("total"))
ERRORS = (
    N_("The phone number, email or password is not right"),
    N_("Verify your phone number or email first"),
    N_("This account is suspended"),
    N_("Choose a stronger password"),
    N_("Not a valid phone number or email address"),
    N_("The code is not right or no longer valid"),
    N_("The code is not valid"),
    N_("The second factor was not accepted"),
    N_("Second-factor verification is blocked after repeated failures"),
    N_("Too many attempts; wait before trying again"),
    N_("Attempt counters are unavailable; try again shortly"),
    N_("This sign-in attempt is not valid any more; start again"),
    N_("Enrol an authenticator app or a passkey first"),
    N_("This step-up challenge expired; repeat the action for a new one"),
    N_("This step-up challenge was already answered"),
    N_("No such step-up challenge"),
    N_("This card or account number is not valid"),
    N_("No such card or bank account"),
    N_("The amount is not valid"),
    N_("Enter an amount such as 100 or 100.50"),
    N_("No wallet holder with this phone number or email"),
    N_("The payee's wallet cannot receive this amount now"),
    N_("The quote expired; ask for a new one"),
    N_("This transfer was already confirmed"),
    N_("No such transfer"),
    N_("The fee changed since it was quoted; quote again"),
    N_("This wallet is frozen"),
    N_("This wallet cannot take part in payments now"),
    N_("This would exceed a limit"),
    N_("Insufficient funds"),
    N_("This form was not sent from Anxin's own pages"),
    N_("Bad request"),
    N_("The request cannot be carried out"),
)
