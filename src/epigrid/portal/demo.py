"""What the demo tells whoever tries it about the portal: which phone numbers sign in with a code."""

from __future__ import annotations

from epigrid.core.models import User
from epigrid.core.roles import Role

DEMO_RESIDENTS = [f"resident{i}" for i in range(1, 6)]


def sign_in_numbers() -> list[tuple[str, str]]:
    """(username, mobile number) of the demo's resident accounts that have one, in account order. The
    demo's console SMS backend shows the code on the sign-in page itself."""
    users = (
        User.objects.filter(username__in=DEMO_RESIDENTS, role=Role.RESIDENT, person__isnull=False)
        .select_related("person")
        .order_by("username")
    )
    return [(user.username, user.person.phone) for user in users if user.person.phone]
