"""The hire's page URL, under /jobs/ beside the proposal it hires (contracts owns the hire)."""

from django.urls import path

from ishibashi.contracts.views import hiring

app_name = "hiring"

urlpatterns = [
    path("proposals/<int:proposal_id>/hire/", hiring.proposal_hire_view, name="proposal_hire"),
]
