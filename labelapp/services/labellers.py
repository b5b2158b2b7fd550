from django.contrib.auth.models import Group, User
from django.db import transaction

from labelapp.models import LABELLERS_GROUP


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
