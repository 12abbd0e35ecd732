"""Request middleware: a user's remembered language (the browser's is the fallback), and
NUL characters refused before any view."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.utils import translation

from accounts.models import UserPreference


class UserLanguageMiddleware:
    """After LocaleMiddleware: a saved preference beats Accept-Language and the cookie."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            language = (
                UserPreference.objects.filter(user=request.user)
                .values_list("language", flat=True)
                .first()
            )
            if language:
                translation.activate(language)
                request.LANGUAGE_CODE = language
        return self.get_response(request)


class RejectNulMiddleware:
    """A NUL character in a query or form value is refused with a 400 before any view runs:
    no database stores it in text (PostgreSQL refuses the query), and no page means it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        sent = [request.GET, request.POST] if request.method == "POST" else [request.GET]
        for params in sent:
            for name, values in params.lists():
                if "\x00" in name or any("\x00" in value for value in values):
                    shown = name.replace("\x00", "\\x00")
                    return HttpResponseBadRequest(
                        f"The parameter '{shown}' contains a NUL character (%00).",
                        content_type="text/plain; charset=utf-8",
                    )
        return self.get_response(request)
