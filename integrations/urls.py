"""/connections/: the sync state of every connection, and starting a sync."""

from django.urls import path

from integrations import views

app_name = "integrations"

urlpatterns = [
    path("", views.connections, name="connections"),
    path("<int:connection_id>/sync/", views.sync_now, name="sync"),
]
