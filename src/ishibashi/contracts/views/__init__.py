"""Contract pages: the viewer's contracts, and one contract with everything either party does.

Only the two parties and operators see a contract; anybody else gets the same 404 as for a
contract that does not exist (contracts.selectors decides). The buttons on the page come from
`milestone_actions`, `contract_actions` and `change_actions` only, so the page never offers what
the service would refuse. Every POST view parses a form, calls one service and redirects on
success; a refusal comes back next to the form it concerns (or as a message), in the
request's language, never as a server error."""

from ishibashi.contracts.views.base import (
    LOCKED_REASON,
    PAGER_PAGES_BEFORE,
    PAGES_MAX,
    REPORT_KINDS,
    page_number,
    refusal_page,
    request_user,
    show_error,
    to_contract,
    yen,
)
from ishibashi.contracts.views.cancellation import (
    contract_cancel_view,
    contract_termination_accept_view,
    milestone_cancellation_accept_view,
)
from ishibashi.contracts.views.cards import (
    Bound,
    ChangeRow,
    DeliveryRow,
    FileRow,
    MilestoneCard,
    Outcome,
    TermsRow,
    bound_form,
    cancellation_outcomes,
    change_form,
    change_rows,
    milestone_card,
)
from ishibashi.contracts.views.changes import (
    CHANGE_FIELD,
    change_accept_view,
    change_decline_view,
    change_propose_view,
    change_withdraw_view,
)
from ishibashi.contracts.views.delivery import (
    delivery_file_view,
    milestone_deliver_view,
)
from ishibashi.contracts.views.disputes import (
    milestone_dispute_freeze_view,
    milestone_dispute_resolve_view,
    milestone_dispute_view,
)
from ishibashi.contracts.views.funding import (
    milestone_fund_view,
    milestone_request_funding_view,
    milestone_start_view,
)
from ishibashi.contracts.views.hiring import proposal_hire_view
from ishibashi.contracts.views.inspection import (
    delivery_approve_view,
    delivery_revision_view,
)
from ishibashi.contracts.views.messages import (
    contract_flag_view,
    contract_message_view,
)
from ishibashi.contracts.views.page import (
    act,
    contract_detail_view,
    contract_list_view,
    contract_page,
    submit,
)
from ishibashi.contracts.views.timeline import (
    CLOCK_HINTS,
    EVENT_LABELS,
    SYSTEM_REASONS,
    EventRow,
    clock_in_words,
    event_rows,
)

__all__ = [
    "CHANGE_FIELD",
    "CLOCK_HINTS",
    "EVENT_LABELS",
    "LOCKED_REASON",
    "PAGER_PAGES_BEFORE",
    "PAGES_MAX",
    "REPORT_KINDS",
    "SYSTEM_REASONS",
    "Bound",
    "ChangeRow",
    "DeliveryRow",
    "EventRow",
    "FileRow",
    "MilestoneCard",
    "Outcome",
    "TermsRow",
    "act",
    "bound_form",
    "cancellation_outcomes",
    "change_accept_view",
    "change_decline_view",
    "change_form",
    "change_propose_view",
    "change_rows",
    "change_withdraw_view",
    "clock_in_words",
    "contract_cancel_view",
    "contract_detail_view",
    "contract_flag_view",
    "contract_list_view",
    "contract_message_view",
    "contract_page",
    "contract_termination_accept_view",
    "delivery_approve_view",
    "delivery_file_view",
    "delivery_revision_view",
    "event_rows",
    "milestone_cancellation_accept_view",
    "milestone_card",
    "milestone_deliver_view",
    "milestone_dispute_freeze_view",
    "milestone_dispute_resolve_view",
    "milestone_dispute_view",
    "milestone_fund_view",
    "milestone_request_funding_view",
    "milestone_start_view",
    "page_number",
    "proposal_hire_view",
    "refusal_page",
    "request_user",
    "show_error",
    "submit",
    "to_contract",
    "yen",
]
