"""Contract pages: one URL per action, under the contract it belongs to."""

from django.urls import path

from ishibashi.contracts import views

app_name = "contracts"

MILESTONE = "<int:contract_id>/milestones/<int:milestone_id>"
DELIVERY = "<int:contract_id>/deliveries/<int:delivery_id>"
CHANGE = "<int:contract_id>/changes/<int:change_id>"

urlpatterns = [
    path("", views.contract_list_view, name="list"),
    path("<int:contract_id>/", views.contract_detail_view, name="detail"),
    path("files/<int:file_id>/", views.delivery_file_view, name="file"),
    # Milestones: escrow, work, delivery, disputes.
    path(
        f"{MILESTONE}/request-funding/",
        views.milestone_request_funding_view,
        name="milestone_request_funding",
    ),
    path(f"{MILESTONE}/fund/", views.milestone_fund_view, name="milestone_fund"),
    path(f"{MILESTONE}/start/", views.milestone_start_view, name="milestone_start"),
    path(f"{MILESTONE}/deliver/", views.milestone_deliver_view, name="milestone_deliver"),
    path(f"{MILESTONE}/dispute/", views.milestone_dispute_view, name="milestone_dispute"),
    path(
        f"{MILESTONE}/accept-cancellation/",
        views.milestone_cancellation_accept_view,
        name="milestone_cancellation_accept",
    ),
    path(
        f"{MILESTONE}/freeze-dispute/",
        views.milestone_dispute_freeze_view,
        name="milestone_dispute_freeze",
    ),
    path(
        f"{MILESTONE}/resolve-dispute/",
        views.milestone_dispute_resolve_view,
        name="milestone_dispute_resolve",
    ),
    # Inspection of one delivery.
    path(f"{DELIVERY}/approve/", views.delivery_approve_view, name="delivery_approve"),
    path(f"{DELIVERY}/revision/", views.delivery_revision_view, name="delivery_revision"),
    # The contract as a whole.
    path("<int:contract_id>/cancel/", views.contract_cancel_view, name="cancel"),
    path(
        "<int:contract_id>/accept-early-termination/",
        views.contract_termination_accept_view,
        name="termination_accept",
    ),
    path("<int:contract_id>/flag/", views.contract_flag_view, name="flag"),
    path("<int:contract_id>/messages/", views.contract_message_view, name="message"),
    path("<int:contract_id>/changes/", views.change_propose_view, name="change_propose"),
    path(f"{CHANGE}/accept/", views.change_accept_view, name="change_accept"),
    path(f"{CHANGE}/decline/", views.change_decline_view, name="change_decline"),
    path(f"{CHANGE}/withdraw/", views.change_withdraw_view, name="change_withdraw"),
]
