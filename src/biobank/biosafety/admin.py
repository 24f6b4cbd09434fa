"""The shared agent catalogue is reference data: platform administrators edit it here."""

from django.contrib import admin

from biobank.biosafety.models import Agent


@admin.register(Agent)
class AgentAdmin(admin.ModelAdmin[Agent]):
    list_display = ("code", "name", "risk_group", "zoonotic", "controlled", "organization")
    list_filter = ("risk_group", "kind", "controlled", "designated_animal_disease")
    search_fields = ("code", "name", "name_zh")
