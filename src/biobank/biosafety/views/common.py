"""What the biosafety pages share."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest


def form_error(request: HttpRequest, form: Any) -> None:
    messages.error(request, "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()))
