from pathlib import Path

from django.conf import settings

from labelapp.errors import ApplicationError, NotFoundError
from labelapp.models import Export, JobStatus


def export_get(*, export_id: int) -> Export:
    export = Export.objects.select_related("campaign").filter(pk=export_id).first()
    if export is None:
        raise NotFoundError(f"Export {export_id} does not exist.", {"field": "export"})
    return export


def export_download_path(*, export: Export, part: str = "data") -> Path:
    """The file a download serves: the data (one file, or a .zip of several) or the dataset card ("card").

    Only exports run by a worker have one, and only inside LABELAPP_EXPORT_DIR: a path written by the
    command line elsewhere is never served.
    """
    if export.status != JobStatus.SUCCEEDED:
        raise ApplicationError(
            f"Export {export.pk} is {export.status}; download it once it has succeeded.", {"field": "export"}
        )
    if part == "card":
        chosen = next((p for p in export.files if p.endswith("README.md")), "")
    elif part == "data":
        chosen = export.download_path
    else:
        raise ApplicationError("Field 'file' must be 'data' or 'card'.", {"field": "file"})
    folder = Path(settings.LABELAPP_EXPORT_DIR).resolve()
    path = Path(chosen).resolve() if chosen else None
    if path is None or not path.is_relative_to(folder):
        raise NotFoundError(
            f"Export {export.pk} was written by the command line to {export.path}; only exports started from the "
            "app can be downloaded.",
            {"field": "export"},
        )
    if not path.is_file():
        raise NotFoundError(f"The file of export {export.pk} is gone from the server.", {"field": "export"})
    return path
