"""Object-level permissions: may this user (or CI key) act on this registered model? Services call
`model_action_require`; pages call the same rules to hide the buttons a user cannot use.

The rule set (docs/architecture.md, "Roles and permissions"):

- **admin** (the group) and **superusers** may do everything.
- **Model owners** act only on models they steward: they must be Responsible or Accountable for the model in
  its RACI to create, submit or withdraw approval requests, retire, promote, edit the RACI, edit the
  intended-use profile, propose a tier override, upload evidence or give the owner sign-off.
- **Bootstrap**: while a model has nobody Responsible or Accountable, any model owner may edit its RACI,
  which is how a model is claimed. Nothing else is open on an unclaimed model.
- **Compliance officers** edit the intended use and propose tier overrides of any model (that is their job).
- **Reviewers** (validator, compliance officer, committee member) review, sign off, decide and upload
  evidence on any model's requests: they are independent of the model; separation of duties still applies.
- **Viewers** only read. Reading the inventory, lineage and decisions is open to every signed-in user.
- **CI API keys** with a `project` act only on models whose governance team is that project; an empty
  project is organisation-wide.

Refusals are `PermissionRefused` (HTTP 403): `ROLE_REQUIRED` when no role allows the action at all,
`NOT_MODEL_STEWARD` when the role is right but the model is not the user's, `API_KEY_PROJECT_MISMATCH`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.contrib.auth.models import AnonymousUser, Group, User
from django.db.models import Count, Q

from config.errors import ServiceError
from governance import roles
from governance.models import ApiKey, RaciAssignment, RaciRole
from registry_sync.models import RegisteredModel

STEWARD_RACI_ROLES = (RaciRole.RESPONSIBLE, RaciRole.ACCOUNTABLE)
REVIEWER_ROLES = frozenset({roles.VALIDATOR, roles.COMPLIANCE_OFFICER, roles.COMMITTEE_MEMBER})
NOT_MODEL_STEWARD = "NOT_MODEL_STEWARD"
ROLE_REQUIRED = "ROLE_REQUIRED"
API_KEY_PROJECT_MISMATCH = "API_KEY_PROJECT_MISMATCH"


class PermissionRefused(ServiceError):
    """The actor may not do this (to this model): always a 403 with a stable code."""

    def __init__(self, code: str, message: str, *, details: Any = None) -> None:
        super().__init__(message, code=code, status=403, details=details)


class ModelAction(StrEnum):
    CREATE_APPROVAL = "create_approval"
    SUBMIT_APPROVAL = "submit_approval"
    WITHDRAW_APPROVAL = "withdraw_approval"
    RETIRE = "retire"
    PROMOTE = "promote"
    EDIT_RACI = "edit_raci"
    EDIT_INTENDED_USE = "edit_intended_use"
    REQUEST_TIER_OVERRIDE = "request_tier_override"
    UPLOAD_EVIDENCE = "upload_evidence"
    OWNER_SIGNOFF = "owner_signoff"


@dataclass(frozen=True)
class ActionRule:
    verb: str  # completes "To ... you need"
    any_model: frozenset[str]  # roles that may do it on any model
    stewarded: frozenset[str] = frozenset({roles.MODEL_OWNER})  # roles that may do it on models they steward
    claimable: bool = False  # `stewarded` roles may also do it while nobody stewards the model


_ADMIN = frozenset({roles.ADMIN})
ACTION_RULES: dict[ModelAction, ActionRule] = {
    ModelAction.CREATE_APPROVAL: ActionRule("request an approval", _ADMIN),
    ModelAction.SUBMIT_APPROVAL: ActionRule("submit", _ADMIN),
    ModelAction.WITHDRAW_APPROVAL: ActionRule("withdraw", _ADMIN),
    ModelAction.RETIRE: ActionRule("retire", _ADMIN | {roles.COMMITTEE_MEMBER}),
    ModelAction.PROMOTE: ActionRule("promote", _ADMIN),
    ModelAction.EDIT_RACI: ActionRule("assign RACI roles", _ADMIN, claimable=True),
    ModelAction.EDIT_INTENDED_USE: ActionRule("edit the intended use", _ADMIN | {roles.COMPLIANCE_OFFICER}),
    ModelAction.REQUEST_TIER_OVERRIDE: ActionRule(
        "propose a tier override", _ADMIN | {roles.COMPLIANCE_OFFICER}
    ),
    ModelAction.UPLOAD_EVIDENCE: ActionRule("upload evidence", _ADMIN | REVIEWER_ROLES),
    ModelAction.OWNER_SIGNOFF: ActionRule("give the owner sign-off", _ADMIN),
}


@dataclass(frozen=True)
class Stewardship:
    """The user's standing on one model: Responsible or Accountable for it, and whether anyone is."""

    is_steward: bool
    claimed: bool


@dataclass(frozen=True)
class Refusal:
    code: str
    message: str


def user_role_names(*, user: User | AnonymousUser) -> frozenset[str]:
    """The roles (Django groups) the user holds; a superuser holds them all."""
    if not user.is_authenticated:
        return frozenset()
    if user.is_superuser:
        return frozenset(roles.ALL_ROLES)
    return frozenset(Group.objects.filter(user__pk=user.pk).values_list("name", flat=True))


def user_is_read_only(*, user: User | AnonymousUser) -> bool:
    """Viewers only read: someone whose one role is viewer changes nothing (people without any role are
    not viewers: team self-assessments stay open to them)."""
    return user_role_names(user=user) == frozenset({roles.VIEWER})


def model_stewardship(*, user: User | AnonymousUser, registered_model_id: int) -> Stewardship:
    """One query: is the user Responsible or Accountable for the model (by name or through a group), and is
    anyone."""
    if user.pk is None:
        mine = Q(pk=None)  # matches no row: user_id=None would match every group entry
    else:
        mine = Q(user_id=user.pk) | Q(group_id__in=Group.objects.filter(user__pk=user.pk).values("pk"))
    counts = RaciAssignment.objects.filter(
        registered_model_id=registered_model_id, role__in=STEWARD_RACI_ROLES
    ).aggregate(assigned=Count("pk"), mine=Count("pk", filter=mine))
    return Stewardship(is_steward=counts["mine"] > 0, claimed=counts["assigned"] > 0)


def stewardship_from_assignments(
    *, assignments: Iterable[RaciAssignment], user: User | AnonymousUser, group_names: frozenset[str]
) -> Stewardship:
    """The same answer from a model's already-loaded RACI (e.g. prefetched for its page, with the groups)
    and the names of the user's groups (`user_role_names`): no query."""
    stewards = [a for a in assignments if a.role in STEWARD_RACI_ROLES]
    is_steward = user.pk is not None and any(
        (a.user_id is not None and a.user_id == user.pk)
        or (a.group is not None and a.group.name in group_names)
        for a in stewards
    )
    return Stewardship(is_steward=is_steward, claimed=bool(stewards))


def needs_stewardship(*, action: ModelAction, role_names: frozenset[str]) -> bool:
    """Whether the decision depends on the user's RACI standing (so callers can skip that query)."""
    rule = ACTION_RULES[action]
    return not (role_names & rule.any_model) and bool(role_names & rule.stewarded)


def model_stewardship_for_roles(
    *, user: User | AnonymousUser, role_names: frozenset[str], registered_model_id: int
) -> Stewardship | None:
    """The user's stewardship of the model when any action's decision depends on it, else None (no query:
    admins and people without the model owner role are decided by role alone)."""
    if not any(needs_stewardship(action=action, role_names=role_names) for action in ModelAction):
        return None
    return model_stewardship(user=user, registered_model_id=registered_model_id)


def model_action_refusal(
    *, action: ModelAction, role_names: frozenset[str], stewardship: Stewardship | None, model_name: str
) -> Refusal | None:
    """The pure rule: None when allowed, else why not. `stewardship` may be None when
    `needs_stewardship` is false."""
    rule = ACTION_RULES[action]
    if role_names & rule.any_model:
        return None
    if not role_names & rule.stewarded:
        allowed = ", ".join(sorted(rule.any_model | rule.stewarded))
        return Refusal(ROLE_REQUIRED, f"To {rule.verb} you need one of the roles: {allowed}.")
    assert stewardship is not None, "needs_stewardship() is true here"
    if stewardship.is_steward or (rule.claimable and not stewardship.claimed):
        return None
    if not stewardship.claimed:
        return Refusal(
            NOT_MODEL_STEWARD,
            f"Nobody is Responsible or Accountable for model {model_name} yet: a model owner claims it by "
            f"assigning someone in its RACI before they {rule.verb}.",
        )
    return Refusal(
        NOT_MODEL_STEWARD,
        f"You are not Responsible or Accountable for model {model_name}, so you cannot {rule.verb} for it.",
    )


def model_action_allowed(
    *,
    action: ModelAction,
    role_names: frozenset[str],
    stewardship: Stewardship | None,
) -> bool:
    return (
        model_action_refusal(action=action, role_names=role_names, stewardship=stewardship, model_name="")
        is None
    )


def model_action_require(*, user: User, action: ModelAction, registered_model: RegisteredModel) -> None:
    """Raise PermissionRefused unless `user` may do `action` on the model; at most two queries."""
    role_names = user_role_names(user=user)
    stewardship = (
        model_stewardship(user=user, registered_model_id=registered_model.pk)
        if needs_stewardship(action=action, role_names=role_names)
        else None
    )
    refusal = model_action_refusal(
        action=action, role_names=role_names, stewardship=stewardship, model_name=registered_model.name
    )
    if refusal is not None:
        raise PermissionRefused(
            refusal.code, refusal.message, details={"model": registered_model.name, "action": str(action)}
        )


# ------------------------------------------------------------------------------------------------ API keys


def registered_model_team(*, registered_model: RegisteredModel) -> str:
    """The model's governance team, else its MLflow `team` tag (as the approval queue derives it)."""
    governance = getattr(registered_model, "governance", None)
    if governance is not None and governance.team:
        return str(governance.team)
    tag = (registered_model.tags or {}).get("team")
    return str(tag) if tag else ""


def api_key_may_act_on(key: ApiKey, team: str) -> bool:
    """A key with a project acts only on that team's models; an empty project is organisation-wide."""
    return not key.project or key.project == team


def api_key_project_require(*, key: ApiKey | None, registered_model: RegisteredModel) -> None:
    """Raise PermissionRefused when a project-scoped key reaches for another team's model."""
    if key is None:
        return
    team = registered_model_team(registered_model=registered_model)
    if not api_key_may_act_on(key, team):
        raise PermissionRefused(
            API_KEY_PROJECT_MISMATCH,
            f"This API key is for project {key.project!r}; model {registered_model.name} belongs to "
            f"{f'team {team!r}' if team else 'no team'}.",
            details={"project": key.project, "team": team, "model": registered_model.name},
        )
