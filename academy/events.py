"""Domain events between features (blinker signals), so that packages stay decoupled.

The roster announces that a posting started; learning reacts by creating an onboarding
plan. Receivers run inside the same request/transaction as the sender.
"""

from dataclasses import dataclass
from datetime import date

from blinker import Namespace

_signals = Namespace()

#: sent with ``posting=<Posting>`` after an agent joins, transfers to or returns to a village
posting_started = _signals.signal("posting-started")

#: sent with ``agent=<Agent>`` when the agent passes a module or a module's short check
learning_progressed = _signals.signal("learning-progressed")


@dataclass(frozen=True, slots=True)
class NewPosting:
    posting_id: int
    agent_id: int
    village_id: int
    joined_on: date


#: sent with ``postings=<list[NewPosting]>`` after a bulk insert of new postings (the
#: roster import): what ``posting_started`` means for each, in a fixed number of
#: statements. A receiver returns how many records it created (the import reports the
#: sum as its number of onboarding plans).
postings_started = _signals.signal("postings-started")
