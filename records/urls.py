"""Record pages under /records/ (the paths the dashboard links every number to)."""

from django.urls import path

from records import views as records

app_name = "records"

urlpatterns = [
    path("persons/", records.person_list, name="persons"),
    path("persons/<int:person_id>/", records.person_detail, name="person"),
    path("opportunities/", records.opportunity_list, name="opportunities"),
    path("opportunities/<int:opportunity_id>/", records.opportunity_detail, name="opportunity"),
]
