"""/reports/...: the quarterly executive report (HTML, PDF, Excel) and its commentary."""

from django.urls import path

from reports import views as reports

app_name = "reports"

urlpatterns = [
    path("quarterly/", reports.quarterly_latest, name="quarterly-latest"),
    path("quarterly/<str:period>/", reports.quarterly, name="quarterly"),
    path("quarterly/<str:period>/report.pdf", reports.quarterly_pdf, name="quarterly-pdf"),
    path("quarterly/<str:period>/report.xlsx", reports.quarterly_xlsx, name="quarterly-xlsx"),
    path(
        "quarterly/<str:period>/commentary/<str:department>/",
        reports.save_commentary,
        name="commentary",
    ),
]
