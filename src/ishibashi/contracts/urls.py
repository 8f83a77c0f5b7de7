"""Contract pages."""

from django.urls import path

from ishibashi.contracts import views

app_name = "contracts"
urlpatterns = [
    path("", views.contract_list_view, name="list"),
    path("<int:contract_id>/", views.contract_detail_view, name="detail"),
]
