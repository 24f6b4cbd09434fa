"""Forms for participants and consent. They parse input; services decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from biobank.participants.models import Consent, ConsentForm, DuoTerm, Participant


class ParticipantForm(forms.Form):
    code = forms.CharField(
        label=_("Participant code"),
        max_length=40,
        required=False,
        help_text=_("Leave empty to generate the next code (P000001 …)."),
    )
    sex = forms.ChoiceField(label=_("Sex"), choices=Participant.Sex.choices, initial="U")
    name = forms.CharField(label=_("Name"), max_length=120, required=False)
    national_id = forms.CharField(
        label=_("National ID or resident certificate number"), max_length=12, required=False
    )
    birth_date = forms.DateField(
        label=_("Birth date"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False)
    email = forms.EmailField(label=_("E-mail"), required=False)
    address = forms.CharField(label=_("Address"), max_length=300, required=False)


class DuoChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.shorthand} · {obj.label}"


class ConsentFormForm(forms.Form):
    code = forms.CharField(label=_("Form code"), max_length=40)
    version = forms.CharField(label=_("Version"), max_length=20)
    title = forms.CharField(label=_("Title"), max_length=200)
    committee_reference = forms.CharField(label=_("Ethics committee approval"), max_length=100)
    approved_on = forms.DateField(
        label=_("Approved on"), widget=forms.DateInput(attrs={"type": "date"})
    )
    permissions = DuoChoiceField(
        label=_("Data uses offered"),
        queryset=DuoTerm.objects.filter(kind="permission").exclude(shorthand=""),
        widget=forms.CheckboxSelectMultiple,
    )
    modifiers = DuoChoiceField(
        label=_("Conditions always applied"),
        queryset=DuoTerm.objects.filter(kind="modifier").exclude(shorthand=""),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    offers_commercial_use = forms.BooleanField(label=_("Offers commercial use"), required=False)
    offers_nhi_linkage = forms.BooleanField(
        label=_("Offers linkage with health-insurance data"), required=False
    )
    offers_after_death = forms.BooleanField(
        label=_("Offers use after death or loss of capacity"), required=False
    )
    offers_recontact = forms.BooleanField(label=_("Offers re-contact"), required=False)
    duration_years = forms.IntegerField(
        label=_("Duration of use (years)"), min_value=1, max_value=100
    )


class ConsentEntryForm(forms.Form):
    form = forms.ModelChoiceField(
        label=_("Consent form version"), queryset=ConsentForm.objects.none()
    )
    signed_on = forms.DateField(
        label=_("Signed on"), widget=forms.DateInput(attrs={"type": "date"})
    )
    capacity = forms.ChoiceField(label=_("Capacity"), choices=Consent.Capacity.choices)
    signed_by = forms.ChoiceField(label=_("Signed by"), choices=Consent.SignedBy.choices)
    representative_relation = forms.CharField(
        label=_("Representative's relation"), max_length=60, required=False
    )
    permissions = DuoChoiceField(
        label=_("Data uses agreed"),
        queryset=DuoTerm.objects.filter(kind="permission").exclude(shorthand=""),
        widget=forms.CheckboxSelectMultiple,
    )
    modifiers = DuoChoiceField(
        label=_("Further conditions"),
        queryset=DuoTerm.objects.filter(kind="modifier").exclude(shorthand=""),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    diseases = forms.CharField(
        label=_("Diseases (disease-specific use)"),
        required=False,
        help_text=_("Codes or names, separated by commas (e.g. ICD-10 E11)."),
    )
    commercial_use = forms.BooleanField(label=_("Commercial use"), required=False)
    nhi_linkage = forms.BooleanField(label=_("Linkage with health-insurance data"), required=False)
    after_death = forms.BooleanField(label=_("Use after death or loss of capacity"), required=False)
    recontact = forms.BooleanField(label=_("Re-contact"), required=False)
    document = forms.FileField(label=_("Scanned signed form (PDF or image)"), required=False)

    def __init__(self, *args: Any, forms_queryset: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["form"].queryset = forms_queryset  # type: ignore[attr-defined]


class WithdrawalForm(forms.Form):
    on = forms.DateField(
        label=_("Date of withdrawal"), widget=forms.DateInput(attrs={"type": "date"})
    )
    kept_by_agreement = forms.CharField(
        label=_("Kept by the participant's written agreement"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("One specimen barcode per line."),
    )
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def kept(self) -> list[str]:
        return [
            line.strip()
            for line in self.cleaned_data["kept_by_agreement"].splitlines()
            if line.strip()
        ]


class NarrowingForm(forms.Form):
    on = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    permissions = DuoChoiceField(
        label=_("Data uses that remain"),
        queryset=DuoTerm.objects.none(),
        widget=forms.CheckboxSelectMultiple,
    )
    commercial_use = forms.BooleanField(label=_("Commercial use"), required=False)
    nhi_linkage = forms.BooleanField(label=_("Linkage with health-insurance data"), required=False)
    after_death = forms.BooleanField(label=_("Use after death or loss of capacity"), required=False)
    note = forms.CharField(label=_("Note"), required=False)

    def __init__(self, *args: Any, consent: Consent, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["permissions"].queryset = consent.permissions.all()  # type: ignore[attr-defined]


class ReidentificationForm(forms.Form):
    reason = forms.CharField(
        label=_("Why the identity is needed"), widget=forms.Textarea(attrs={"rows": 3})
    )
    hours = forms.IntegerField(label=_("Hours of access"), min_value=1, max_value=72, initial=24)


class DecisionForm(forms.Form):
    note = forms.CharField(label=_("Note"), required=False)
