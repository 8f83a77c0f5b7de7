"""URL map: pages, the API under /api/v1/, the operator admin and the health check."""

from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic.base import RedirectView

from ishibashi.accounts import views as accounts_views
from ishibashi.config.api import api
from ishibashi.core import views as core_views

urlpatterns = [
    path("", core_views.home_view, name="home"),
    path("healthz", core_views.healthz_view, name="healthz"),
    # Browsers ask for /favicon.ico whatever the page links; send them to the SVG one.
    path("favicon.ico", RedirectView.as_view(url=static("ishibashi/favicon.svg"), permanent=True)),
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
    # Django's set_language, which also remembers a signed-in user's choice on the account.
    path("i18n/setlang/", accounts_views.language_switch_view, name="set_language"),
    path("operator/admin/", admin.site.urls),
]

# A body too large or unreadable: 413/400 in the API's shape or a short page (core/bad_requests).
handler400 = "ishibashi.core.bad_requests.bad_request"
# An unreachable database outside a view (say, saving the session) answers 503, not 500.
handler500 = "ishibashi.core.middleware.database_unavailable_or_500"
