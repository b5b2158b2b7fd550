from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from labelapp.errors import ApplicationError
from labelapp.models import GenerationJob, GenerationStrategy, Generator, JobStatus
from labelapp.selectors.campaigns import campaign_get
from labelapp.services.demo import EMBEDDED_GENERATOR, embedded_generator_get_or_create
from labelapp.services.generation import generation_job_run, generation_jobs_create, sampling_params_sweep
from labelapp.services.jobs import job_enqueue, job_requeue, job_run_inline


class Command(BaseCommand):
    help = (
        "Generate N candidates per prompt of a campaign, inline with a progress bar (default) or on a Celery "
        "worker (--enqueue). Several --temperature values make one job per temperature (a sweep)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--campaign")
        parser.add_argument(
            "--generator", default=EMBEDDED_GENERATOR, help=f"Generator name (default {EMBEDDED_GENERATOR})."
        )
        parser.add_argument("--n", type=int, default=None, help="Samples per prompt.")
        parser.add_argument("--temperature", type=float, nargs="+", default=[], help="One job per value.")
        parser.add_argument("--top-p", type=float)
        parser.add_argument("--top-k", type=int)
        parser.add_argument("--max-new-tokens", type=int)
        parser.add_argument("--stop", action="append", help="A stop sequence (repeat for several).")
        parser.add_argument(
            "--seed", type=int, help="Seed of the job (random if not given; always recorded)."
        )
        parser.add_argument(
            "--strategy", choices=GenerationStrategy.values, default=GenerationStrategy.SAMPLE
        )
        parser.add_argument(
            "--select",
            default="",
            metavar="METHOD",
            help="best-of-n: how the best of the n answers is selected: logprob (highest mean token logprob), "
            "reward-model:PATH (a local transformers sequence-classification folder, num_labels=1) or "
            "judge:GENERATOR (that generator picks the best).",
        )
        parser.add_argument(
            "--enqueue", action="store_true", help="Queue the jobs for a worker on queue 'inference'."
        )
        parser.add_argument(
            "--resume",
            type=int,
            metavar="JOB",
            help="Run a failed or interrupted job again, or the failed prompts of a partly completed one.",
        )

    def handle(self, *args: object, **options: object) -> None:
        try:
            jobs = self._jobs(options)
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        for job in jobs:
            if options["enqueue"]:
                job_enqueue(job=job)
                self.stdout.write(
                    f"Queued generation job {job.pk}; a worker on queue 'inference' will run it."
                )
            else:
                self._run_inline(job)

    def _jobs(self, options: dict) -> list[GenerationJob]:
        if options["resume"]:
            # The user resumes a job they know nobody runs (its command was killed), or retries a failed one.
            return [job_requeue(model=GenerationJob, job_id=options["resume"], stuck=True)]
        if not options["campaign"]:
            raise ApplicationError("--campaign is required (or --resume JOB).")
        generator = self._generator(str(options["generator"]))
        overrides = {key: options[key] for key in ("n", "top_p", "top_k", "max_new_tokens", "seed", "stop")}
        params_list = sampling_params_sweep(
            generator=generator, overrides=overrides, temperatures=options["temperature"]
        )
        return generation_jobs_create(
            campaign=campaign_get(name=str(options["campaign"])),
            generator=generator,
            params_list=params_list,
            strategy=options["strategy"],
            selection=str(options["select"]),
        )

    def _generator(self, name: str) -> Generator:
        if name == EMBEDDED_GENERATOR:
            return embedded_generator_get_or_create()
        generator = Generator.objects.filter(name=name).first()
        if generator is None:
            known = ", ".join(Generator.objects.values_list("name", flat=True)) or "none"
            raise ApplicationError(f"Generator '{name}' does not exist (known: {known}).")
        return generator

    def _run_inline(self, job: GenerationJob) -> None:
        label = f"job {job.pk} (T={job.params['temperature']})"
        with tqdm(total=job.progress_total, unit="prompt", desc=label) as bar:

            def show(progress: GenerationJob) -> None:
                bar.update(progress.progress_done - bar.n)
                if progress.tokens_per_second:
                    bar.set_postfix(tokens_per_s=f"{progress.tokens_per_second:.1f}")

            try:
                job = job_run_inline(job=job, run=generation_job_run, on_progress=show)
            except Exception as exc:
                raise CommandError(f"Generation job {job.pk} failed: {exc}") from exc
        summary = (
            f"Job {job.pk}: {job.candidates.count()} candidates for {job.progress_total} prompts × "
            f"{job.params['n']}, {job.tokens_generated} tokens, {job.tokens_per_second or 0:.1f} tokens/s."
        )
        if job.selection:
            selected = job.candidates.filter(selection__selected=True).count()
            summary += f" Best of {job.params['n']} selected by {job.selection} for {selected} prompts."
        if job.status != JobStatus.PARTIAL:
            self.stdout.write(self.style.SUCCESS(summary))
            return
        self.stdout.write(summary)
        self.stderr.write(self.style.WARNING(f"Job {job.pk} {job.outcome}:"))
        for failure in job.prompt_failures:
            self.stderr.write(f"  prompt {failure['prompt']}: {failure['message']}")
        self.stderr.write(f"Run them again with: manage.py generate_candidates --resume {job.pk}")
