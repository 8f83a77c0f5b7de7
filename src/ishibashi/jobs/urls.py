"""Job and proposal pages."""

from django.urls import path

from ishibashi.jobs import views

app_name = "jobs"
urlpatterns = [
    path("", views.job_list_view, name="list"),
    path("new/", views.job_create_view, name="create"),
    path("mine/", views.my_jobs_view, name="mine"),
    path("<int:job_id>/", views.job_detail_view, name="detail"),
    path("<int:job_id>/edit/", views.job_edit_view, name="edit"),
    path("<int:job_id>/publish/", views.job_publish_view, name="publish"),
    path("<int:job_id>/close/", views.job_close_view, name="close"),
    path("<int:job_id>/propose/", views.proposal_create_view, name="propose"),
    path("proposals/<int:proposal_id>/", views.proposal_detail_view, name="proposal_detail"),
    path("proposals/<int:proposal_id>/revise/", views.proposal_revise_view, name="proposal_revise"),
    path(
        "proposals/<int:proposal_id>/withdraw/",
        views.proposal_withdraw_view,
        name="proposal_withdraw",
    ),
    path(
        "proposals/<int:proposal_id>/decline/", views.proposal_decline_view, name="proposal_decline"
    ),
    path(
        "proposals/<int:proposal_id>/messages/",
        views.proposal_message_view,
        name="proposal_message",
    ),
]
