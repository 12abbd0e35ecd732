from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from accounts import views as accounts
from dashboard import api
from dashboard import views as dashboard

urlpatterns = [
    path("", dashboard.home, name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/setlang/", accounts.set_language, name="set_language"),
    path("admin/", admin.site.urls),
    path("reports/", include("reports.urls")),
    path("records/", include("records.urls")),
    path("connections/", include("integrations.urls")),
    path("feedback/", include("feedback.urls")),
    path("agreement/", include("qualification.urls")),
    path("alignment/", include("alignment.urls")),
    path("api/v1/kpis/", api.KpiView.as_view(), name="api-kpis"),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="api-schema"),
]
