"""What a roster's ``achievement`` column can name: catalogue badges and pathways."""

from __future__ import annotations

from nbcred.bulk.signing import AchievementPlan
from nbcred.catalogue import Catalogue
from nbcred.issuance import badges
from nbcred.issuance.issuer import CredentialIssuer
from nbcred.issuance.pathways import PATHWAY_VERSION, to_pathway


def achievement_plans(issuer: CredentialIssuer, catalogue: Catalogue) -> dict[str, AchievementPlan]:
    """Every issuable achievement by its roster id: assessments with a badge, and pathways."""
    plans: dict[str, AchievementPlan] = {}
    for assessment_id, assessment in sorted(catalogue.assessments.items()):
        badge = assessment.spec.badge
        if badge is None:
            continue
        plans[assessment_id] = AchievementPlan(
            key=assessment_id, kind="badge", spec=badges.achievement_spec(issuer.settings, assessment),
            version=assessment.spec.version, expires_after_days=badge.expires_after_days,
        )
    for spec in catalogue.pathways:
        pathway = to_pathway(issuer, catalogue, spec)
        plans[spec.id] = AchievementPlan(
            key=spec.id, kind="pathway", spec=pathway.achievement(creator=issuer.identity.profile),
            version=PATHWAY_VERSION,
        )
    return plans


def unknown_reason(catalogue: Catalogue, achievement: str) -> str:
    """Why ``achievement`` cannot be issued, and what can."""
    if achievement in catalogue.assessments:
        return (f"assessment {achievement!r} has no badge to issue; add a badge section to its "
                "assessment.yaml")
    choices = sorted([a for a, x in catalogue.assessments.items() if x.spec.badge is not None]
                     + [p.id for p in catalogue.pathways])
    return f"unknown achievement {achievement!r}; use an assessment id or a pathway id: {', '.join(choices)}"
