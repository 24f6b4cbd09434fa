from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from biobank.core.models import ApiToken, User
from biobank.core.services import token_create, token_revoke


class Command(BaseCommand):
    help = "Personal API tokens: 'create USERNAME' prints one; 'list USERNAME'; 'revoke PREFIX'."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create a token and print it once")
        create.add_argument("username")
        create.add_argument("--name", default="", help="what the token is for")
        listing = sub.add_parser("list", help="list a user's tokens")
        listing.add_argument("username")
        revoke = sub.add_parser("revoke", help="revoke a token by its prefix")
        revoke.add_argument("prefix")

    def _user(self, username: str) -> User:
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user {username!r}")
        return user

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "create":
            _, plain = token_create(user=self._user(options["username"]), name=options["name"])
            self.stdout.write(plain)
        elif action == "list":
            for token in ApiToken.objects.filter(user=self._user(options["username"])):
                state = f"revoked {token.revoked_at:%Y-%m-%d}" if token.revoked_at else "active"
                self.stdout.write(
                    f"{token.prefix}  {token.created_at:%Y-%m-%d}  {state}  {token.name}"
                )
        else:
            found = ApiToken.objects.filter(prefix=options["prefix"]).first()
            if found is None:
                raise CommandError(f"no token with prefix {options['prefix']!r}")
            token_revoke(actor=None, token=found)
            self.stdout.write(f"revoked {found.prefix}")
