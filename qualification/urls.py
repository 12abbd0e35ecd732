"""/agreement/: the MQL/SQL criteria both teams agree on."""

from django.urls import path

from qualification import views

app_name = "qualification"

urlpatterns = [
    path("", views.agreement, name="agreement"),
    path("<int:version_id>/decide/", views.decide, name="decide"),
]
