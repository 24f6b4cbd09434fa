"""Reference data: the rule registry and the calendar's local overrides."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


class Rule(models.Model):
    """A rule of ``RULES.md`` (``BS-11``), loaded from ``core/data/rules.json`` by migration."""

    id = models.CharField(primary_key=True, max_length=10)
    title_zh = models.CharField(max_length=200)
    title_en = models.CharField(max_length=200)
    source = models.CharField(_("source document"), max_length=200)
    article = models.CharField(_("article"), max_length=100, blank=True)
    area = models.CharField(max_length=100)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.id} {self.title}"

    @property
    def title(self) -> str:
        language = get_language() or "zh-hant"
        return self.title_en if language.startswith("en") else self.title_zh


class CalendarOverride(models.Model):
    """A local exception to the Taiwan calendar: a typhoon day off, an extra make-up workday."""

    date = models.DateField(_("date"), unique=True)
    is_working_day = models.BooleanField(_("working day"))
    reason = models.CharField(_("reason"), max_length=200)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-date"]

    def __str__(self) -> str:
        return f"{self.date} {self.reason}"
