from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from labelapp.errors import ApplicationError
from labelapp.models import GenerationJob, Generator
from labelapp.selectors.campaigns import campaign_get
from labelapp.services.demo import EMBEDDED_GENERATOR, embedded_generator_get_or_create
from labelapp.services.generation import (
    generation_job_create,
    generation_job_enqueue,
    generation_job_fail,
    generation_job_run,
    sampling_params_for,
)


class Command(BaseCommand):
    help = "Generate N candidates per prompt of a campaign, inline (default, with progress) or on a Celery worker."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--campaign", required=True)
        parser.add_argument(
            "--generator", default=EMBEDDED_GENERATOR, help=f"Generator name (default {EMBEDDED_GENERATOR})."
        )
        parser.add_argument("--n", type=int, default=None, help="Samples per prompt.")
        parser.add_argument("--temperature", type=float)
        parser.add_argument("--top-p", type=float)
        parser.add_argument("--max-new-tokens", type=int)
        parser.add_argument("--seed", type=int)
        parser.add_argument(
            "--enqueue", action="store_true", help="Queue the job for a worker instead of running it here."
        )

    def handle(self, *args: object, **options: object) -> None:
        try:
            campaign = campaign_get(name=str(options["campaign"]))
            generator = self._generator(str(options["generator"]))
            overrides = {key: options[key] for key in ("n", "temperature", "top_p", "max_new_tokens", "seed")}
            params = sampling_params_for(generator=generator, overrides=overrides)
            job = generation_job_create(campaign=campaign, generator=generator, params=params)
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        if options["enqueue"]:
            generation_job_enqueue(job=job)
            self.stdout.write(f"Queued generation job {job.pk}; a worker on queue 'inference' will run it.")
            return
        self._run_inline(job, params.n)

    def _generator(self, name: str) -> Generator:
        if name == EMBEDDED_GENERATOR:
            return embedded_generator_get_or_create()
        generator = Generator.objects.filter(name=name).first()
        if generator is None:
            known = ", ".join(Generator.objects.values_list("name", flat=True)) or "none"
            raise ApplicationError(f"Generator '{name}' does not exist (known: {known}).")
        return generator

    def _run_inline(self, job: GenerationJob, n: int) -> None:
        with tqdm(total=job.prompts_total, unit="prompt", desc=f"job {job.pk}") as bar:

            def show(progress: GenerationJob) -> None:
                bar.update(progress.prompts_done - bar.n)
                if progress.tokens_per_second:
                    bar.set_postfix(tokens_per_s=f"{progress.tokens_per_second:.1f}")

            try:
                job = generation_job_run(job_id=job.pk, on_progress=show)
            except Exception as exc:
                generation_job_fail(job_id=job.pk, error=f"{type(exc).__name__}: {exc}")
                raise CommandError(f"Generation job {job.pk} failed: {exc}") from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Job {job.pk}: {job.candidates.count()} candidates ({job.prompts_total} prompts × {n}), "
                f"{job.tokens_generated} tokens, {job.tokens_per_second or 0:.1f} tokens/s."
            )
        )
