"""``epigrid manage signing_keys [--rotate | --retire KID]``: list, rotate and retire code-signing keys.

Rotation makes a new key sign from now on while earlier codes keep verifying; retirement refuses every code
a key signed (after its grace period, or at once when it leaked).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from epigrid.core import services
from epigrid.core.errors import DomainError
from epigrid.core.models import SigningKey


class Command(BaseCommand):
    help = "List, rotate or retire the keys that sign venue and personal codes."

    def add_arguments(self, parser) -> None:
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--rotate", action="store_true", help="make a new key the signing key")
        group.add_argument("--retire", metavar="KID", help="refuse every code signed by this key")

    def handle(self, *args, rotate: bool = False, retire: str | None = None, **options) -> None:
        try:
            if rotate:
                key = services.signing_key_rotate(actor=None)
                self.stdout.write(f"new signing key {key.kid}")
            elif retire:
                key = SigningKey.objects.filter(kid=retire).first()
                if key is None:
                    raise CommandError(f"no key {retire}")
                services.signing_key_retire(actor=None, key=key)
                self.stdout.write(f"retired {key.kid}")
        except DomainError as err:
            raise CommandError(err.message) from None
        for key in SigningKey.objects.order_by("created_at"):
            self.stdout.write(f"{key.kid}\t{key.status}\t{key.created_at:%Y-%m-%d %H:%M}")
