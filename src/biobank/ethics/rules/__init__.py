"""Research-ethics rules as pure functions: the MOHW audit of IRBs (EC-02 … EC-09) in
``audit``, and the committee's composition and quorum (HR-02) in ``committee``."""

from biobank.ethics.rules.audit import (
    BASIC,
    COMPLIANT,
    CRITERIA_COLUMNS,
    CRITERIA_FILE,
    EXCELLENT,
    KINDS,
    MANDATORY,
    NA,
    NON_COMPLIANT,
    OPTIONAL,
    OPTIONAL_IF_NOT_PASSED,
    PASS_THRESHOLD,
    PASSING_RATINGS,
    RATINGS,
    AuditScore,
    Criterion,
    RatingError,
    audit_validity,
    load_criteria,
    number_key,
    review_notice_due,
    score_audit,
    what_would_pass,
)
from biobank.ethics.rules.committee import Check, Member, composition_check, quorum_check

__all__ = [
    "BASIC", "COMPLIANT", "CRITERIA_COLUMNS", "CRITERIA_FILE", "EXCELLENT", "KINDS", "MANDATORY",
    "NA", "NON_COMPLIANT", "OPTIONAL", "OPTIONAL_IF_NOT_PASSED", "PASSING_RATINGS",
    "PASS_THRESHOLD", "RATINGS", "AuditScore", "Check", "Criterion", "Member", "RatingError",
    "audit_validity", "composition_check", "load_criteria", "number_key", "quorum_check",
    "review_notice_due", "score_audit", "what_would_pass",
]  # fmt: skip
