import os
import secrets

from django.core.management.base import BaseCommand, CommandParser

from labelapp.services.demo import DEMO_KIND_CAMPAIGNS, DEMO_LABELLERS, demo_seed


class Command(BaseCommand):
    help = (
        "Create (idempotently) the demo campaign with prompts, real candidates from the embedded model (through "
        "its chat template and through a raw Q/A template, as two generators) and items, one campaign of each "
        "other task kind judging the same candidates, plus users admin, "
        "labeller1..3 with the password in DEMO_PASSWORD (generated if unset)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--samples-per-prompt", type=int, default=3, help="Answers per prompt from each demo generator."
        )
        parser.add_argument("--max-new-tokens", type=int, default=96)
        parser.add_argument(
            "--url", default="http://127.0.0.1:8000", help="Where the app is served, for the printed links."
        )

    def handle(
        self, *args: object, samples_per_prompt: int, max_new_tokens: int, url: str, **options: object
    ) -> None:
        password = os.environ.get("DEMO_PASSWORD") or secrets.token_urlsafe(9)
        seeded = demo_seed(
            password=password, samples_per_prompt=samples_per_prompt, max_new_tokens=max_new_tokens
        )
        self.stdout.write(
            f"Demo campaign '{seeded.campaign.name}': {seeded.prompts_imported} prompts imported, "
            f"{seeded.candidates_generated} candidates generated, {seeded.items_created} items built in the demo "
            f"campaigns ({', '.join(['demo', *(demo.name for demo in DEMO_KIND_CAMPAIGNS)])}) this run."
        )
        self.stdout.write(self.style.SUCCESS(f"Logins (password for all: {password})"))
        self.stdout.write(f"  admin      (staff)      {url}/manage/demo/")
        for username in DEMO_LABELLERS:
            self.stdout.write(f"  {username:<10} (labeller)   {url}/  (every demo campaign)")
