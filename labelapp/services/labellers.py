from django.contrib.auth.models import Group, User
from django.db import transaction

from labelapp.models import LABELLERS_GROUP, LabellerProfile, Lease


@transaction.atomic
def user_upsert(*, username: str, password: str, staff: bool = False) -> User:
    """Create the user or reset its password; labellers join the labellers group, staff become superusers."""
    user, _ = User.objects.get_or_create(username=username)
    user.set_password(password)
    user.is_staff = user.is_superuser = staff
    user.full_clean()
    user.save()
    if not staff:
        group, _ = Group.objects.get_or_create(name=LABELLERS_GROUP)
        user.groups.add(group)
    return user


@transaction.atomic
def labeller_suspend(*, user: User, reason: str) -> LabellerProfile:
    """Stop a labeller receiving items (their leases go back to the pool); the reason is shown to them."""
    profile, _ = LabellerProfile.objects.get_or_create(user=user)
    profile.suspended, profile.suspended_reason = True, reason
    profile.save(update_fields=["suspended", "suspended_reason"])
    Lease.objects.filter(labeller=user).delete()
    return profile


@transaction.atomic
def labeller_unsuspend(*, user: User) -> LabellerProfile:
    profile, _ = LabellerProfile.objects.get_or_create(user=user)
    profile.suspended, profile.suspended_reason = False, ""
    profile.save(update_fields=["suspended", "suspended_reason"])
    return profile
