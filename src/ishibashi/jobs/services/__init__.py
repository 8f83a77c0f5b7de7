"""Every write on jobs and proposals: post, publish, edit, close, expire, propose, revise.

The hire that turns a proposal into a contract is contracts.services.hiring: jobs knows no contract.

Each public function is one use case in one transaction. Rules are checked here, never in a view
or an API handler; a refusal raises an ApplicationError before anything is written."""

from ishibashi.jobs.services.inputs import (
    SPLIT_PAY_TEMPLATE,
    JobInput,
    MilestoneInput,
    ProposalInput,
    checked_choice,
    checked_job,
    checked_yen,
    split_pay_plan,
    today,
)
from ishibashi.jobs.services.posting import (
    job_close,
    job_create,
    job_for_client,
    job_is_editable,
    job_is_recruiting,
    job_publish,
    job_update,
    jobs_expire_overdue,
    open_proposals_decline,
)
from ishibashi.jobs.services.proposals import (
    checked_milestones,
    proposal_create,
    proposal_decline,
    proposal_for_party,
    proposal_is_revisable,
    proposal_message_post,
    proposal_revise,
    proposal_thread_is_open,
    proposal_withdraw,
)
from ishibashi.jobs.services.search import job_search_throttled
from ishibashi.jobs.services.stats import (
    client_job_stats_bump,
    client_job_stats_rebuild,
)

__all__ = [
    "SPLIT_PAY_TEMPLATE",
    "JobInput",
    "MilestoneInput",
    "ProposalInput",
    "checked_choice",
    "checked_job",
    "checked_milestones",
    "checked_yen",
    "client_job_stats_bump",
    "client_job_stats_rebuild",
    "job_close",
    "job_create",
    "job_for_client",
    "job_is_editable",
    "job_is_recruiting",
    "job_publish",
    "job_search_throttled",
    "job_update",
    "jobs_expire_overdue",
    "open_proposals_decline",
    "proposal_create",
    "proposal_decline",
    "proposal_for_party",
    "proposal_is_revisable",
    "proposal_message_post",
    "proposal_revise",
    "proposal_thread_is_open",
    "proposal_withdraw",
    "split_pay_plan",
    "today",
]
