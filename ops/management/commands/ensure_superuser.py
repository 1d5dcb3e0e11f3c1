from __future__ import annotations

import os
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create the admin user from DJANGO_SUPERUSER_USERNAME/PASSWORD/EMAIL if it does not exist."

    def handle(self, *args: Any, **options: Any) -> None:
        username = os.environ["DJANGO_SUPERUSER_USERNAME"]
        user_model = get_user_model()
        if user_model.objects.filter(username=username).exists():
            self.stdout.write(f"admin user {username!r} exists")
            return
        user_model.objects.create_superuser(
            username=username,
            email=os.environ.get("DJANGO_SUPERUSER_EMAIL", ""),
            password=os.environ["DJANGO_SUPERUSER_PASSWORD"],
        )
        self.stdout.write(f"admin user {username!r} created")
