"""Contract use cases, one module per family; the public names are re-exported here.

Every use case is one transaction. It locks the contract, then the milestone (states.lock),
checks the transition table, moves money through the ledger under those locks and appends the
event; a retry or a racing second request finds the new state and is refused with a message, so
money moves once. Shared endings (release, refunds, the kill fee, the contract following its
milestones) live in `settlement`.
"""

from ishibashi.contracts.events import (
    GENESIS_HASH,
    canonical_json,
    event_append,
    event_hash,
    events_verify,
)
from ishibashi.contracts.services.cancellation import (
    contract_cancel,
    contract_termination_accept_early,
    contracts_terminate_due,
    milestone_cancellation_accept,
)
from ishibashi.contracts.services.changes import (
    CONTRACT_MILESTONES_MAX,
    PRICE_CUT_STATES,
    PRICE_FREE_STATES,
    REMOVABLE_STATES,
    MilestoneAddition,
    MilestoneEdit,
    change_accept,
    change_decline,
    change_propose,
    change_withdraw,
    changes_expire_due,
)
from ishibashi.contracts.services.delivery import (
    REPORT_KINDS,
    DeliveryUpload,
    delivery_create,
)
from ishibashi.contracts.services.disputes import (
    milestone_dispute,
    milestone_dispute_freeze,
    milestone_dispute_resolve,
)
from ishibashi.contracts.services.funding import (
    milestone_fund,
    milestone_request_funding,
    milestone_start,
)
from ishibashi.contracts.services.hiring import (
    contract_create_from_proposal,
    proposal_hire,
)
from ishibashi.contracts.services.inspection import (
    delivery_approve,
    delivery_request_revision,
)
from ishibashi.contracts.services.messages import (
    contract_flag,
    contract_message_post,
)
from ishibashi.contracts.services.retainer import (
    monthly_periods_open,
)
from ishibashi.contracts.services.settlement import (
    kill_fee_split,
)
from ishibashi.contracts.services.sweeps import (
    SWEEP_LEASE,
    milestone_act_on_due,
    milestones_claim_due,
    milestones_sweep_due,
)
from ishibashi.contracts.services.terms import (
    PAYMENT_DAYS_AFTER_DELIVERY_MAX,
    terms_snapshot,
    terms_version_create,
    withholding_applies,
)

__all__ = [
    "CONTRACT_MILESTONES_MAX",
    "GENESIS_HASH",
    "PAYMENT_DAYS_AFTER_DELIVERY_MAX",
    "PRICE_CUT_STATES",
    "PRICE_FREE_STATES",
    "REMOVABLE_STATES",
    "REPORT_KINDS",
    "SWEEP_LEASE",
    "DeliveryUpload",
    "MilestoneAddition",
    "MilestoneEdit",
    "canonical_json",
    "change_accept",
    "change_decline",
    "change_propose",
    "change_withdraw",
    "changes_expire_due",
    "contract_cancel",
    "contract_create_from_proposal",
    "contract_flag",
    "contract_message_post",
    "contract_termination_accept_early",
    "contracts_terminate_due",
    "delivery_approve",
    "delivery_create",
    "delivery_request_revision",
    "event_append",
    "event_hash",
    "events_verify",
    "kill_fee_split",
    "milestone_act_on_due",
    "milestone_cancellation_accept",
    "milestone_dispute",
    "milestone_dispute_freeze",
    "milestone_dispute_resolve",
    "milestone_fund",
    "milestone_request_funding",
    "milestone_start",
    "milestones_claim_due",
    "milestones_sweep_due",
    "monthly_periods_open",
    "proposal_hire",
    "terms_snapshot",
    "terms_version_create",
    "withholding_applies",
]
