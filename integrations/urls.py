"""/connections/: the sync state of every connection, and starting a sync."""

from django.urls import path

from integrations import views

app_name = "integrations"

urlpatterns = [
    path("", views.connections, name="connections"),
    path("<int:connection_id>/sync/", views.sync_now, name="sync"),
    path("upload/", views.upload, name="upload"),
    path("upload/<str:token>/", views.upload_preview, name="upload_preview"),
    path("upload/<str:token>/import/", views.upload_confirm, name="upload_confirm"),
    path("upload/<str:token>/problems.csv", views.upload_problems, name="upload_problems"),
    path("runs/<int:run_id>/", views.run_detail, name="run"),
    path("runs/<int:run_id>/problems.csv", views.run_problems, name="run_problems"),
]
