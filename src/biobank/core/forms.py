"""Forms for the core pages. They parse input; services decide and write."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from biobank.core.models import AuditEvent, Organization, Site, User
from biobank.core.roles import Role

REASON_HELP = _("Why the change is made; kept in the record's history.")


class OrganizationForm(forms.ModelForm[Organization]):
    reason = forms.CharField(
        label=_("Reason for the change"), required=False, help_text=REASON_HELP
    )

    class Meta:
        model = Organization
        fields = ["name_zh", "name_en", "kind", "staff_count"]


class OrganizationCreateForm(forms.ModelForm[Organization]):
    class Meta:
        model = Organization
        fields = ["code", "name_zh", "name_en", "kind", "staff_count"]


class SiteForm(forms.ModelForm[Site]):
    reason = forms.CharField(
        label=_("Reason for the change"), required=False, help_text=REASON_HELP
    )

    class Meta:
        model = Site
        fields = [
            "code",
            "name",
            "kind",
            "containment",
            "location",
            "person_in_charge",
            "manager_name",
            "phone",
            "emergency_contact",
            "emergency_measures",
            "access_controlled",
        ]
        widgets = {"emergency_measures": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["person_in_charge"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = User.objects.filter(
            memberships__organization=organization, memberships__ended_at__isnull=True
        ).distinct()


class MembershipForm(forms.Form):
    username = forms.CharField(label=_("User name"), max_length=150)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
    new_user = forms.BooleanField(
        label=_("This is a new person: create the account"), required=False
    )
    display_name = forms.CharField(label=_("Display name"), max_length=120, required=False)
    email = forms.EmailField(label=_("E-mail"), required=False)
    password = forms.CharField(
        label=_("Initial password"), required=False, widget=forms.PasswordInput
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        username = data.get("username")
        if (
            not data.get("new_user")
            and username
            and not User.objects.filter(username=username).exists()
        ):
            self.add_error(
                "username", _("No such user. Tick “This is a new person” to create the account.")
            )
        return data


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=500)


class EvidenceForm(forms.Form):
    evidence = forms.CharField(
        label=_("Evidence"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000
    )


class AuditSearchForm(forms.Form):
    actor = forms.CharField(label=_("Person"), required=False)
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    object_type = forms.ChoiceField(label=_("Record type"), required=False)
    action = forms.ChoiceField(
        label=_("Action"), required=False, choices=[("", "—"), *AuditEvent.Action.choices]
    )

    def __init__(self, *args: Any, object_types: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["object_type"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", "—"), *((name, name) for name in object_types)]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", _("The end date is before the start date."))
        return data


class CalendarOverrideForm(forms.Form):
    day = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    is_working_day = forms.TypedChoiceField(
        label=_("This day is"),
        choices=[("0", _("a day off (e.g. typhoon)")), ("1", _("a working day"))],
        coerce=lambda value: value == "1",
    )
    reason = forms.CharField(label=_("Reason"), max_length=200)
    organization = forms.ModelChoiceField(
        label=_("Declared for"), queryset=Organization.objects.none()
    )


class WorkingDayForm(forms.Form):
    start = forms.DateField(label=_("Start"), widget=forms.DateInput(attrs={"type": "date"}))
    days = forms.IntegerField(label=_("Days"), min_value=0, max_value=3650)
