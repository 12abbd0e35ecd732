"""/feedback/: the MQL inbox, and sales' decisions from it."""

from django.urls import path

from feedback import views

app_name = "feedback"

urlpatterns = [
    path("", views.summary, name="summary"),
    path("inbox/", views.inbox, name="inbox"),
    path("decide/", views.decide, name="decide"),
    path("decisions/", views.decisions, name="decisions"),
]
