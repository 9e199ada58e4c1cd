"""Top-level URL routing: UI, REST API (v1), OpenAPI schema and docs, health probes."""

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from config import health
from config.login import RateLimitedLoginView
from config.observability import metrics_view

handler400 = "config.errors.bad_request"
handler404 = "config.errors.page_not_found"

urlpatterns = [
    path("", include("governance.urls")),
    path("assessments/", include("assessments.urls")),
    path("reports/", include("reports.urls")),
    path("accounts/login/", RateLimitedLoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("governance.api_urls")),
    path("api/v1/registry/", include("registry_sync.urls")),
    path("api/v1/assessments/", include("assessments.api_urls")),
    path("api/v1/", include("reports.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("healthz", health.liveness, name="healthz"),
    path("readyz", health.readiness, name="readyz"),
    path("metrics", metrics_view, name="metrics"),
]

if settings.OIDC_ENABLED:
    urlpatterns.append(path("oidc/", include("mozilla_django_oidc.urls")))
