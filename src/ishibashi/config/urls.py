"""URL map: pages, the API under /api/v1/, the operator admin and the health check."""

from django.contrib import admin
from django.urls import include, path

from ishibashi.config.api import api
from ishibashi.core import views as core_views

urlpatterns = [
    path("", core_views.home_view, name="home"),
    path("healthz", core_views.healthz_view, name="healthz"),
    path("accounts/", include("ishibashi.accounts.urls")),
    path("wallet/", include("ishibashi.payments.urls")),
    path("jobs/", include("ishibashi.jobs.urls")),
    path("jobs/", include("ishibashi.contracts.hiring_urls")),
    path("contracts/", include("ishibashi.contracts.urls")),
    path("", include("ishibashi.reviews.urls")),
    path("operations/", include("ishibashi.operations.urls")),
    path("help/", include("ishibashi.reputation.urls")),
    path("notifications/", include("ishibashi.notifications.urls")),
    path("api/v1/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("operator/admin/", admin.site.urls),
]

# A body too large or unreadable: 413/400 in the API's shape or a short page (core/bad_requests).
handler400 = "ishibashi.core.bad_requests.bad_request"
# An unreachable database outside a view (say, saving the session) answers 503, not 500.
handler500 = "ishibashi.core.middleware.database_unavailable_or_500"
