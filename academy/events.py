"""Domain events between features (blinker signals), so that packages stay decoupled.

The roster announces that a posting started; learning reacts by creating an onboarding
plan. Receivers run inside the same request/transaction as the sender.
"""

from blinker import Namespace

_signals = Namespace()

#: sent with ``posting=<Posting>`` after an agent joins, transfers to or returns to a village
posting_started = _signals.signal("posting-started")

#: sent with ``agent=<Agent>`` when the agent passes a module or a module's short check
learning_progressed = _signals.signal("learning-progressed")
