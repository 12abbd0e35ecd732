"""/alignment/: the checklist, the weekly meeting, what converts, the KPI definitions and
their reviews, improvement proposals."""

from django.urls import path

from alignment import views

app_name = "alignment"

urlpatterns = [
    path("checklist/", views.checklist, name="checklist"),
    path("checklist/answer/", views.answer, name="answer"),
    path("meeting/", views.meeting, name="meeting"),
    path("meeting/actions/", views.add_action, name="add_action"),
    path("meeting/actions/<int:item_id>/done/", views.close_action, name="close_action"),
    path("meeting/record/", views.record_meeting, name="record_meeting"),
    path("what-converts/", views.patterns, name="patterns"),
    path("why-not/", views.why_not, name="why_not"),
    path("why-not/persons.csv", views.why_not_persons, name="why_not_persons"),
    path("why-not/persons/", views.why_not_persons, name="why_not_person_list"),
    path("definitions/", views.definitions, name="definitions"),
    path("definitions/review/", views.review, name="review"),
    path("proposals/", views.proposals, name="proposals"),
    path("proposals/new/", views.propose, name="propose"),
    path("proposals/<int:proposal_id>/comment/", views.comment, name="comment"),
    path("proposals/<int:proposal_id>/decide/", views.decide, name="decide"),
]
