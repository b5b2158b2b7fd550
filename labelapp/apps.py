from django.apps import AppConfig


class LabelappConfig(AppConfig):
    name = "labelapp"
    verbose_name = "Labelling"

    def ready(self) -> None:
        # Register the job tasks in every process, web ones included: services queue them by name
        # (services.jobs.job_enqueue) and never import them.
        from labelapp import tasks  # noqa: F401
