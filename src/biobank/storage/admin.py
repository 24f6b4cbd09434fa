"""Django admin: container types are reference data a biobank edits."""

from __future__ import annotations

from django.contrib import admin

from biobank.storage.models import ContainerType


@admin.register(ContainerType)
class ContainerTypeAdmin(admin.ModelAdmin[ContainerType]):
    list_display = ["code", "name", "kind", "rows", "columns", "scheme", "order", "organization"]
    list_filter = ["kind"]
    search_fields = ["code", "name"]
