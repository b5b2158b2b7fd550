"""REST API, one APIView per operation (DRF). Errors are {"message": ..., "extra": ...}."""

import dataclasses
import logging
import math
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import FileResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.negotiation import BaseContentNegotiation, DefaultContentNegotiation
from rest_framework.parsers import BaseParser, MultiPartParser
from rest_framework.permissions import BasePermission, IsAdminUser, IsAuthenticated
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView, exception_handler

from labelapp.errors import (
    DATABASE_UNAVAILABLE,
    ApplicationError,
    BusyError,
    DatabaseUnavailableError,
    TooLargeError,
)
from labelapp.exporters import FORMATS
from labelapp.exporters.options import CHOICE, NAMES, NUMBER, OPTIONS, SWITCH, Option
from labelapp.importers import FORMATS as IMPORT_FORMATS
from labelapp.importers.records import record_file_upload
from labelapp.kinds import KINDS, kind_get, reference_answer_shown
from labelapp.kinds.base import BuildOptions
from labelapp.kinds.pairwise import Pairing
from labelapp.models import (
    CampaignKind,
    CampaignSelection,
    GenerationJob,
    GenerationStrategy,
    GeneratorBackend,
    Item,
    Label,
    PromptFormat,
)
from labelapp.reports.registry import ReportOptions, report_data, report_kind_get
from labelapp.selectors.campaigns import (
    campaign_get,
    campaign_get_for_user,
    campaign_progress,
    campaigns_for_user,
)
from labelapp.selectors.dashboard import campaign_dashboard
from labelapp.selectors.exports import export_download_path, export_get
from labelapp.selectors.generators import generator_get, generators_list
from labelapp.selectors.items import item_text
from labelapp.selectors.jobs import job_get
from labelapp.selectors.labellers import labeller_standing_remember, user_for_api_token
from labelapp.services.campaigns import campaign_create
from labelapp.services.exports import export_download_record, export_job_create
from labelapp.services.generation import generation_jobs_create, sampling_params_sweep
from labelapp.services.generators import generator_create
from labelapp.services.imports import SOURCE_MAX_CHARS, dataset_file_import, dataset_upload_size_check
from labelapp.services.items import items_build
from labelapp.services.jobs import job_enqueue
from labelapp.services.labels import label_submit
from labelapp.services.leases import item_skip, lease_next
from labelapp.user_text import TOO_DEEP, json_check

logger = logging.getLogger(__name__)


class SignedInRequest(Request):
    """A request as the views here get it, past their IsAuthenticated permission."""

    user: User


def application_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DATABASE_UNAVAILABLE):
        logger.warning("Database unavailable: %s", exc)
        exc = DatabaseUnavailableError()
    elif isinstance(exc, RequestDataTooBig):
        exc = TooLargeError(
            f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes.",
            {"max_bytes": settings.DATA_UPLOAD_MAX_MEMORY_SIZE},
        )
    elif isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
        exc = ApplicationError(str(exc))
    if isinstance(exc, ApplicationError):
        refused = Response({"message": exc.message, "extra": exc.extra}, status=exc.status_code)
        if isinstance(exc, BusyError):
            refused["Retry-After"] = str(exc.extra.get("retry_after", 1))
        return refused
    response = exception_handler(exc, context)
    if response is not None and isinstance(response.data, dict) and "detail" in response.data:
        response.data = {"message": str(response.data["detail"]), "extra": {}}
    elif response is not None:
        response.data = {"message": "Invalid input.", "extra": {"fields": response.data}}
    return response


class JsonValueField(serializers.JSONField):
    """A JSON value, held to the same rules as a JSON body when a form sends it as text."""

    def to_internal_value(self, data: Any) -> Any:
        name = self.field_name or "value"
        try:
            value = super().to_internal_value(data)
        except RecursionError:
            raise ApplicationError(f"Field '{name}' {TOO_DEEP}.", {"field": name}) from None
        return json_check(value, at=name)


class TokenWithStandingAuthentication(TokenAuthentication):
    """DRF's token authentication, reading the labeller's group and profile in the same query."""

    def authenticate_credentials(self, key: str) -> tuple[Any, str]:
        user = user_for_api_token(key=key)
        if user is None:
            raise AuthenticationFailed("Invalid token.")
        if not user.is_active:
            raise AuthenticationFailed("User inactive or deleted.")
        return user, key


class IsLabellerOrStaff(BasePermission):
    message = "Only labellers and staff can use this endpoint."

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        # The standing read here serves the rest of the request (campaign routing, lease refusals).
        return bool(
            user.is_staff or (user.is_authenticated and labeller_standing_remember(user=user).in_group)
        )


class JsonOnly(BaseContentNegotiation):
    """The labelling loop answers programs: JSON whatever the Accept header, without parsing it."""

    def select_parser(self, request: Request, parsers: Iterable[BaseParser]) -> Any:
        return DefaultContentNegotiation().select_parser(request, parsers)

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> Any:
        renderer = next(iter(renderers))
        return renderer, renderer.media_type


# Token first: an anonymous request is then a 401 with WWW-Authenticate, as DRF answers when token comes first.
API_AUTHENTICATION = [TokenWithStandingAuthentication, SessionAuthentication]


class LabellerApi(APIView):
    authentication_classes = API_AUTHENTICATION
    renderer_classes = [JSONRenderer]
    content_negotiation_class = JsonOnly
    permission_classes = [IsAuthenticated, IsLabellerOrStaff]


class CandidateShownSerializer(serializers.Serializer):
    position = serializers.CharField()
    text = serializers.CharField()


class ItemOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    prompt = serializers.CharField()
    prompt_messages = serializers.JSONField(allow_null=True)
    reference_answer = serializers.CharField(
        allow_null=True, help_text="The prompt's reference answer, where the campaign shows it."
    )
    candidates = CandidateShownSerializer(many=True)


def _item_output(item: Item, labeller: User) -> dict[str, Any]:
    position_names = kind_get(item.kind).POSITION_NAMES
    text = item_text(item=item, labeller=labeller)
    return {
        "id": item.pk,
        "kind": item.kind,
        "prompt": text.prompt,
        "prompt_messages": text.prompt_messages,
        "reference_answer": text.reference_answer if reference_answer_shown(campaign=item.campaign) else None,
        "candidates": [
            {"position": position_names[position], "text": candidate}
            for position, candidate in text.candidates
        ],
    }


def _next_item_output(item: Item | None, campaign_name: str, labeller: User) -> dict[str, Any]:
    if item is None:
        return {"item": None, "message": f"No item is left for you in campaign '{campaign_name}'."}
    return {"item": _item_output(item, labeller), "message": "Item leased to you."}


class NextItemApi(LabellerApi):
    class OutputSerializer(serializers.Serializer):
        item = ItemOutputSerializer(allow_null=True)
        message = serializers.CharField()

        class Meta:
            ref_name = "NextItem"

    @extend_schema(request=None, responses=OutputSerializer, operation_id="campaign_next_item")
    def post(self, request: SignedInRequest, campaign: str) -> Response:
        """Lease the next item of the campaign to me (or give back my live lease).

        503 with Retry-After when the items left stay locked by other labellers being served: ask again.
        """
        found = campaign_get_for_user(user=request.user, name=campaign)
        following = lease_next(labeller=request.user, campaign=found)
        return Response(_next_item_output(following, found.name, request.user))


class LabelSubmitApi(LabellerApi):
    class InputSerializer(serializers.Serializer):
        value = JsonValueField(
            help_text="By the item's kind. "
            + " ".join(f"{name}: {kind.VALUE_HELP}" for name, kind in KINDS.items())
        )
        idempotency_key = serializers.CharField(max_length=64)

        class Meta:
            ref_name = "LabelSubmitInput"

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        item = serializers.IntegerField(source="item_id")
        value = serializers.JSONField()
        seconds_spent = serializers.FloatField()
        created_at = serializers.DateTimeField()

        class Meta:
            ref_name = "Label"

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer, 200: OutputSerializer})
    def post(self, request: SignedInRequest, item_id: int) -> Response:
        """Submit my label for an item leased to me; the same idempotency key twice stores one label."""
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        done = label_submit(
            labeller=request.user, campaign=None, item_id=item_id, lease_next=False, **payload.validated_data
        )
        return Response(
            _label_output(done.label), status=status.HTTP_201_CREATED if done.created else status.HTTP_200_OK
        )


def _label_output(label: Label) -> dict[str, Any]:
    """LabelSubmitApi.OutputSerializer's fields, without building a serializer for every label."""
    return {
        "id": label.pk,
        "item": label.item_id,
        "value": label.value,
        "seconds_spent": label.seconds_spent,
        "created_at": _DATETIME.to_representation(label.created_at),
    }


_DATETIME = serializers.DateTimeField()


class LabelAndNextApi(LabellerApi):
    class OutputSerializer(serializers.Serializer):
        label = LabelSubmitApi.OutputSerializer()  # type: ignore[assignment]  # a field, not Field.label
        next = NextItemApi.OutputSerializer(
            allow_null=True, help_text="My next item, leased to me: only with ?next=1, else null."
        )

        class Meta:
            ref_name = "LabelAndNext"

    @extend_schema(
        request=LabelSubmitApi.InputSerializer,
        parameters=[
            OpenApiParameter(
                "next",
                OpenApiTypes.BOOL,
                description="1: also lease my next item of the campaign and answer it, in the same request.",
            )
        ],
        responses={201: OutputSerializer, 200: OutputSerializer},
        operation_id="campaign_item_label",
    )
    def post(self, request: SignedInRequest, campaign: str, item_id: int) -> Response:
        """Submit my label for an item of the campaign leased to me and, with ?next=1, get my next item.

        One request per label. The label is stored whatever happens to the next item: when none can be
        leased (nothing left, a refusal, busy), `next.item` is null and `next.message` says why.
        """
        payload = LabelSubmitApi.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        wants_next = request.query_params.get("next", "").lower() in {"1", "true", "yes"}
        done = label_submit(
            labeller=request.user,
            campaign=campaign,
            item_id=item_id,
            lease_next=wants_next,
            **payload.validated_data,
        )
        following = None
        if done.refusal is not None:
            following = {"item": None, "message": done.refusal.message}
        elif wants_next:
            following = _next_item_output(done.next_item, campaign, request.user)
        return Response(
            {"label": _label_output(done.label), "next": following},
            status=status.HTTP_201_CREATED if done.created else status.HTTP_200_OK,
        )


class ItemSkipApi(LabellerApi):
    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(required=False, allow_blank=True, max_length=500)

        class Meta:
            ref_name = "ItemSkipInput"

    @extend_schema(request=InputSerializer, responses={204: None})
    def post(self, request: SignedInRequest, item_id: int) -> Response:
        """Pass on an item leased to me: it goes back to the pool and never returns to me."""
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        item_skip(
            labeller=request.user,
            campaign=None,
            item_id=item_id,
            reason=payload.validated_data.get("reason", ""),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class CampaignProgressApi(LabellerApi):
    class OutputSerializer(serializers.Serializer):
        items_total = serializers.IntegerField()
        items_complete = serializers.IntegerField()
        items_in_progress = serializers.IntegerField()
        items_untouched = serializers.IntegerField()
        labels_total = serializers.IntegerField()
        labels_wanted = serializers.IntegerField(help_text="The labels the items ask for now.")
        labels_saved = serializers.IntegerField(
            help_text="Adaptive overlap: labels a fixed labels_per_item would have asked for beyond those."
        )
        my_labels = serializers.IntegerField()

        class Meta:
            ref_name = "CampaignProgress"

    @extend_schema(responses=OutputSerializer)
    def get(self, request: SignedInRequest, campaign: str) -> Response:
        found = campaign_get_for_user(user=request.user, name=campaign)
        return Response(self.OutputSerializer(campaign_progress(campaign=found, user=request.user)).data)


class StaffApi(APIView):
    authentication_classes = API_AUTHENTICATION
    permission_classes = [IsAuthenticated, IsAdminUser]


class AgreementOutputSerializer(serializers.Serializer):
    alpha = serializers.FloatField(
        allow_null=True,
        help_text="Krippendorff's alpha; null when undefined (too few items, or no variation).",
    )
    items = serializers.IntegerField(help_text="Items with at least two labels: the only ones alpha uses.")
    labels = serializers.IntegerField()


class HourBucketOutputSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    labels = serializers.IntegerField()


class LabellerRowOutputSerializer(serializers.Serializer):
    labeller_id = serializers.IntegerField()
    username = serializers.CharField()
    labels = serializers.IntegerField()
    median_seconds = serializers.FloatField(allow_null=True)
    gold_labels = serializers.IntegerField()
    gold_accuracy = serializers.FloatField(allow_null=True)
    majority_labels = serializers.IntegerField()
    majority_agreement = serializers.FloatField(allow_null=True)
    disagreement = serializers.FloatField(
        allow_null=True,
        help_text="Share of majority_labels differing from the adjudication, else the majority.",
    )
    skips = serializers.IntegerField()
    suspended = serializers.BooleanField()
    blocked_reason = serializers.CharField(allow_null=True)


class PairRowOutputSerializer(serializers.Serializer):
    first = serializers.CharField()
    second = serializers.CharField()
    shared_items = serializers.IntegerField()
    disagreement = serializers.FloatField(help_text="Share of the shared items where their labels differ.")
    too_few = serializers.BooleanField(help_text="Too few shared items to read much into the share.")


class FieldAgreementOutputSerializer(serializers.Serializer):
    field = serializers.CharField(
        help_text="The label value's key, e.g. choice, strength, verdict, diversity."
    )
    level = serializers.ChoiceField(choices=["nominal", "ordinal"])
    result = AgreementOutputSerializer()


class CampaignDashboardApi(StaffApi):
    class OutputSerializer(serializers.Serializer):
        generated_at = serializers.DateTimeField()
        items_total = serializers.IntegerField()
        items_complete = serializers.IntegerField()
        items_in_progress = serializers.IntegerField()
        items_untouched = serializers.IntegerField()
        gold_items = serializers.IntegerField()
        labels_total = serializers.IntegerField()
        labels_wanted = serializers.IntegerField(help_text="The labels the items ask for now.")
        labels_saved = serializers.IntegerField(
            help_text="Adaptive overlap: labels a fixed labels_per_item would have asked for beyond those."
        )
        gold_labels = serializers.IntegerField()
        labels_per_hour = HourBucketOutputSerializer(many=True)
        median_seconds = serializers.FloatField(allow_null=True)
        agreements = FieldAgreementOutputSerializer(many=True)
        labellers = LabellerRowOutputSerializer(many=True)
        adjudicated_items = serializers.IntegerField()
        pairs = PairRowOutputSerializer(many=True)

        class Meta:
            ref_name = "CampaignDashboard"  # not "Output", which the other APIs' serializers also claim

    @extend_schema(responses=OutputSerializer, operation_id="campaign_dashboard")
    def get(self, request: SignedInRequest, campaign: str) -> Response:
        """Staff only: a campaign's progress, labels per hour, agreement, and each labeller's numbers."""
        found = campaign_get(name=campaign)
        return Response(self.OutputSerializer(campaign_dashboard(campaign=found)).data)


def _export_option_field(option: Option) -> serializers.Field:
    if option.kind == NUMBER:
        number = serializers.IntegerField if option.cast is int else serializers.FloatField
        return number(required=False, allow_null=True, help_text=option.help)
    if option.kind == NAMES:
        return serializers.ListField(child=serializers.CharField(), required=False, help_text=option.help)
    if option.kind == SWITCH:
        return serializers.BooleanField(required=False, help_text=option.help)
    if option.kind == CHOICE:
        return serializers.ChoiceField(
            list(option.choices), required=False, allow_null=True, help_text=option.help
        )
    return serializers.CharField(required=False, allow_null=True, help_text=option.help)


class ExportOptionsInputSerializer(serializers.Serializer):
    """One field per export option (labelapp.exporters.options), checked by `export_options_parse`."""

    class Meta:
        ref_name = "ExportOptionsInput"

    def get_fields(self) -> dict[str, serializers.Field]:
        return {option.name: _export_option_field(option) for option in OPTIONS}


class ExportOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    campaign = serializers.CharField(source="campaign.name")
    format = serializers.CharField()
    output = serializers.CharField()
    status = serializers.CharField()
    rows = serializers.IntegerField(help_text="Rows written so far; all of them once succeeded.")
    options = serializers.JSONField()
    error = serializers.CharField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    download_url = serializers.SerializerMethodField()
    card_url = serializers.SerializerMethodField()

    class Meta:
        ref_name = "Export"

    def _url(self, export: Any, suffix: str) -> str | None:
        if export.status != "succeeded" or not export.download_path:
            return None
        return (
            self.context["request"].build_absolute_uri(reverse("api-export-download", args=[export.pk]))
            + suffix
        )

    def get_download_url(self, export: Any) -> str | None:
        return self._url(export, "")

    def get_card_url(self, export: Any) -> str | None:
        return self._url(export, "?file=card")


class ExportStartApi(StaffApi):
    class InputSerializer(serializers.Serializer):
        format = serializers.CharField(help_text=f"One of {', '.join(FORMATS)}.")
        output = serializers.CharField(
            default="jsonl", help_text="jsonl, parquet or dataset (a zipped folder)."
        )
        options = ExportOptionsInputSerializer(required=False)

        class Meta:
            ref_name = "ExportStartInput"

    @extend_schema(
        request=InputSerializer, responses={202: ExportOutputSerializer}, operation_id="export_start"
    )
    def post(self, request: SignedInRequest, campaign: str) -> Response:
        """Staff only: queue an export of the campaign's labels; poll its status, then download it."""
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        export = export_job_create(
            campaign=campaign_get(name=campaign),
            format=payload.validated_data["format"],
            output=payload.validated_data["output"],
            options=payload.validated_data.get("options", {}),
            created_by=request.user,
        )
        job_enqueue(job=export)
        body = ExportOutputSerializer(export, context={"request": request}).data
        return Response(body, status=status.HTTP_202_ACCEPTED)


class ExportStatusApi(StaffApi):
    @extend_schema(responses=ExportOutputSerializer, operation_id="export_status")
    def get(self, request: SignedInRequest, export_id: int) -> Response:
        """Staff only: an export's status, rows written so far, and its download link once done."""
        export = export_get(export_id=export_id)
        return Response(ExportOutputSerializer(export, context={"request": request}).data)


class ExportDownloadApi(StaffApi):
    @extend_schema(
        parameters=[OpenApiParameter("file", str, enum=["data", "card"], required=False)],
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY},
        operation_id="export_download",
    )
    def get(self, request: SignedInRequest, export_id: int) -> FileResponse:
        """Staff only: the exported file (a .zip when the export has several files), or its dataset card."""
        export, part = export_get(export_id=export_id), request.query_params.get("file", "data")
        path = export_download_path(export=export, part=part)
        export_download_record(export=export, part=part, actor=request.user)
        return FileResponse(path.open("rb"), as_attachment=True, filename=path.name)


class StrictTypes:
    """A field that takes a JSON value of its own type only, as the schema says: DRF alone would take 2 as
    the text "2", "2" as the number 2 and "yes" as true."""

    TYPES: tuple[type, ...] = ()

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, self.TYPES) or (isinstance(data, bool) and bool not in self.TYPES):
            self.fail("invalid")  # type: ignore[attr-defined]
        return super().to_internal_value(data)  # type: ignore[misc]


class TextField(StrictTypes, serializers.CharField):
    TYPES = (str,)


class IntegerField(StrictTypes, serializers.IntegerField):
    TYPES = (int,)


class NumberField(StrictTypes, serializers.FloatField):
    TYPES = (int, float)


class SwitchField(StrictTypes, serializers.BooleanField):
    TYPES = (bool,)


class CampaignOutputSerializer(serializers.Serializer):
    name = serializers.CharField()
    title = serializers.CharField()
    kind = serializers.CharField()
    labels_per_item = serializers.IntegerField()
    min_labels = serializers.IntegerField(allow_null=True)
    agreement_to_stop = serializers.FloatField()
    judge_prelabel = serializers.BooleanField()
    instructions = serializers.CharField()
    criteria = serializers.ListField(child=serializers.CharField())
    error_categories = serializers.ListField(child=serializers.CharField())
    skills = serializers.ListField(child=serializers.CharField(), source="required_skills")
    gold_rate = serializers.FloatField()
    show_reference_answer = serializers.BooleanField()
    selection = serializers.CharField()
    review_below = serializers.FloatField(allow_null=True)
    status = serializers.CharField()
    created_at = serializers.DateTimeField()

    class Meta:
        ref_name = "Campaign"


class CampaignsApi(StaffApi):
    class InputSerializer(serializers.Serializer):
        name = TextField(max_length=64)
        kind = serializers.ChoiceField(choices=CampaignKind.values, default=CampaignKind.PAIRWISE)
        labels_per_item = IntegerField(
            min_value=1, max_value=100, default=2, help_text="The most labels an item gets."
        )
        min_labels = IntegerField(
            min_value=1,
            max_value=100,
            required=False,
            allow_null=True,
            help_text="Adaptive overlap: labels every item gets before it may stop; null or left out, "
            "every item gets labels_per_item.",
        )
        agreement_to_stop = NumberField(
            min_value=0,
            max_value=1,
            required=False,
            help_text="Adaptive overlap: an item stops once this share of its labels agrees with the majority.",
        )
        judge_prelabel = SwitchField(
            required=False, help_text="Items an AI judge has a verdict on first ask for one human label."
        )
        title = TextField(max_length=200, required=False, allow_blank=True)
        instructions = TextField(required=False, allow_blank=True)
        criteria = serializers.ListField(child=TextField(max_length=100), required=False)
        error_categories = serializers.ListField(child=TextField(max_length=100), required=False)
        skills = serializers.ListField(child=TextField(max_length=100), required=False)
        labellers = serializers.ListField(
            child=TextField(max_length=150),
            required=False,
            allow_null=True,
            help_text="Usernames of the only labellers served; left out or null, every labeller.",
        )
        gold_rate = NumberField(min_value=0, max_value=1, required=False)
        show_reference_answer = SwitchField(required=False)
        selection = serializers.ChoiceField(choices=CampaignSelection.values, required=False)
        review_below = NumberField(
            min_value=0,
            max_value=1,
            required=False,
            allow_null=True,
            help_text="Items whose labels agree less than this go to the reviewers; null: no review.",
        )

        class Meta:
            ref_name = "CampaignCreateInput"

    @extend_schema(responses=CampaignOutputSerializer(many=True), operation_id="campaign_list")
    def get(self, request: SignedInRequest) -> Response:
        """Staff only: every campaign, by name."""
        campaigns = campaigns_for_user(user=request.user).order_by("name")
        return Response(CampaignOutputSerializer(campaigns, many=True).data)

    @extend_schema(
        request=InputSerializer, responses={201: CampaignOutputSerializer}, operation_id="campaign_create"
    )
    def post(self, request: SignedInRequest) -> Response:
        """Staff only: create a campaign (as an experiment file's [[campaign]] does)."""
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        fields = dict(payload.validated_data)
        labellers = fields.pop("labellers", None)
        if "skills" in fields:
            fields["required_skills"] = fields.pop("skills")
        campaign = campaign_create(labellers=labellers, **fields)
        return Response(CampaignOutputSerializer(campaign).data, status=status.HTTP_201_CREATED)


class GeneratorOutputSerializer(serializers.Serializer):
    name = serializers.CharField()
    backend = serializers.CharField()
    model = serializers.CharField()
    gguf_file = serializers.CharField()
    base_url = serializers.CharField()
    api_key_env = serializers.CharField()
    prompt_format = serializers.CharField()
    raw_template = serializers.CharField()
    params = serializers.JSONField(source="default_params")
    concurrency = serializers.IntegerField()

    class Meta:
        ref_name = "Generator"


class GeneratorsApi(StaffApi):
    class InputSerializer(serializers.Serializer):
        name = TextField(max_length=100)
        model = TextField(max_length=500)
        backend = serializers.ChoiceField(
            choices=GeneratorBackend.values, default=GeneratorBackend.TRANSFORMERS
        )
        gguf_file = TextField(max_length=200, required=False, allow_blank=True)
        base_url = TextField(required=False, allow_blank=True)
        api_key_env = TextField(max_length=100, required=False, allow_blank=True)
        prompt_format = serializers.ChoiceField(choices=PromptFormat.values, default=PromptFormat.CHAT)
        raw_template = TextField(required=False, allow_blank=True)
        params = JsonValueField(
            required=False, help_text='Default sampling params, e.g. {"temperature": 0.7}.'
        )
        concurrency = IntegerField(min_value=1, max_value=1024, required=False)

        class Meta:
            ref_name = "GeneratorCreateInput"

    @extend_schema(responses=GeneratorOutputSerializer(many=True), operation_id="generator_list")
    def get(self, request: SignedInRequest) -> Response:
        """Staff only: every generator, by name."""
        return Response(GeneratorOutputSerializer(generators_list(), many=True).data)

    @extend_schema(
        request=InputSerializer, responses={201: GeneratorOutputSerializer}, operation_id="generator_create"
    )
    def post(self, request: SignedInRequest) -> Response:
        """Staff only: create a generator (as an experiment file's [[generator]] does)."""
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        fields = dict(payload.validated_data)
        if "params" in fields:
            fields["default_params"] = fields.pop("params")
        generator = generator_create(**fields)
        return Response(GeneratorOutputSerializer(generator).data, status=status.HTTP_201_CREATED)


class GenerationJobOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    campaign = serializers.CharField(source="campaign.name")
    generator = serializers.CharField(source="generator.name")
    params = serializers.JSONField()
    strategy = serializers.CharField()
    selection = serializers.CharField(help_text="Best-of-N: how the best answer is selected.")
    status = serializers.CharField()
    outcome = serializers.CharField(help_text='The status in words, e.g. "completed with 2 failed prompts".')
    progress_done = serializers.IntegerField(help_text="Prompts answered so far.")
    progress_total = serializers.IntegerField()
    tokens_generated = serializers.IntegerField()
    prompt_failures = serializers.JSONField()
    error = serializers.CharField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)

    class Meta:
        ref_name = "GenerationJob"


class GenerationJobStartApi(StaffApi):
    class InputSerializer(serializers.Serializer):
        generator = TextField(max_length=100)
        n = IntegerField(min_value=1, max_value=64, required=False)
        temperatures = serializers.ListField(
            child=NumberField(min_value=0, max_value=10),
            required=False,
            max_length=20,
            help_text="A sweep: one job per temperature.",
        )
        max_new_tokens = IntegerField(min_value=1, max_value=32768, required=False)
        top_p = NumberField(min_value=0, max_value=1, required=False)
        top_k = IntegerField(min_value=1, required=False)
        stop = serializers.ListField(child=TextField(), required=False)
        seed = IntegerField(min_value=0, max_value=2**31 - 1, required=False)
        strategy = serializers.ChoiceField(
            choices=GenerationStrategy.values, default=GenerationStrategy.SAMPLE
        )
        select = TextField(
            max_length=600,
            required=False,
            help_text="best-of-n: logprob, reward-model:PATH (a folder on the worker) or judge:GENERATOR.",
        )

        class Meta:
            ref_name = "GenerationJobStartInput"

    @extend_schema(
        request=InputSerializer,
        responses={202: GenerationJobOutputSerializer(many=True)},
        operation_id="generation_job_start",
    )
    def post(self, request: SignedInRequest, campaign: str) -> Response:
        """Staff only: queue generation jobs (one per temperature) for a worker on queue 'inference'."""
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        generator = generator_get(name=data.pop("generator"))
        strategy, temperatures = data.pop("strategy"), data.pop("temperatures", [])
        selection = data.pop("select", "")
        params_list = sampling_params_sweep(generator=generator, overrides=data, temperatures=temperatures)
        jobs = generation_jobs_create(
            campaign=campaign_get(name=campaign),
            generator=generator,
            params_list=params_list,
            strategy=strategy,
            selection=selection,
        )
        for job in jobs:
            job_enqueue(job=job)
        return Response(GenerationJobOutputSerializer(jobs, many=True).data, status=status.HTTP_202_ACCEPTED)


class GenerationJobStatusApi(StaffApi):
    @extend_schema(responses=GenerationJobOutputSerializer, operation_id="generation_job_status")
    def get(self, request: SignedInRequest, campaign: str, job_id: int) -> Response:
        """Staff only: a generation job's status and progress."""
        job = job_get(campaign=campaign_get(name=campaign), kind=GenerationJob.KIND, job_id=job_id)
        return Response(GenerationJobOutputSerializer(job).data)


class ItemBuildApi(StaffApi):
    class InputSerializer(serializers.Serializer):
        generators = serializers.ListField(child=TextField(max_length=100), required=False)
        pairing = serializers.ChoiceField(choices=[p.value for p in Pairing], default=Pairing.WITHIN_PROMPT)
        per_item = IntegerField(min_value=1, max_value=10, required=False)
        max_per_prompt = IntegerField(min_value=1, required=False)
        seed = IntegerField(min_value=0, max_value=2**31 - 1, required=False)
        source_campaign = TextField(max_length=64, required=False)

        class Meta:
            ref_name = "ItemBuildInput"

    class OutputSerializer(serializers.Serializer):
        created = serializers.IntegerField()
        already_built = serializers.IntegerField()
        skipped_identical = serializers.IntegerField(help_text="Groups of identical texts, not made items.")

        class Meta:
            ref_name = "ItemBuild"

    @extend_schema(request=InputSerializer, responses=OutputSerializer, operation_id="item_build")
    def post(self, request: SignedInRequest, campaign: str) -> Response:
        """Staff only: build items of the campaign's kind from its candidates (or another campaign's)."""
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        found = campaign_get(name=campaign)
        source = data.get("source_campaign")
        built = items_build(
            campaign=found,
            kind=found.kind,
            options=BuildOptions(
                generators=tuple(data.get("generators", ())),
                per_item=data.get("per_item"),
                max_per_prompt=data.get("max_per_prompt"),
                pairing=data["pairing"],
            ),
            seed=data.get("seed"),
            source_campaign=campaign_get(name=source) if source else None,
        )
        return Response(self.OutputSerializer(built).data)


class ReportApi(StaffApi):
    @extend_schema(
        parameters=[OpenApiParameter("coherence_campaign", str, required=False)],
        responses=OpenApiTypes.OBJECT,
        operation_id="report",
    )
    def get(self, request: SignedInRequest, campaign: str, kind: str) -> Response:
        """Staff only: a report's numbers, as `manage.py report --out report.json` writes them."""
        found = campaign_get(name=campaign)
        report_kind = report_kind_get(kind, campaign=found)
        options = ReportOptions(coherence_campaign=request.query_params.get("coherence_campaign") or None)
        report = report_kind.build(found, options)
        return Response(_finite(report_data(campaign=found, kind=report_kind, report=report)))


def _finite(value: Any) -> Any:
    """The report as strict JSON takes it: tuples as lists, and a NaN or infinite number as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(key): _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


class CountedOutputSerializer(serializers.Serializer):
    new = serializers.IntegerField()
    existing = serializers.IntegerField(
        help_text="Already in the campaign (imported before, or twice in the file)."
    )


class DatasetImportApi(StaffApi):
    parser_classes = [MultiPartParser]

    class InputSerializer(serializers.Serializer):
        file = serializers.FileField(help_text=".jsonl, .csv (either may be .gz) or .parquet")
        format = serializers.ChoiceField(
            choices=list(IMPORT_FORMATS),
            help_text="; ".join(f"{name}: {module.SUMMARY}" for name, module in IMPORT_FORMATS.items()),
        )
        source = serializers.CharField(  # type: ignore[assignment]  # a field, not Field.source
            required=False,
            allow_blank=True,
            max_length=SOURCE_MAX_CHARS,
            help_text="The dataset's name (default: the format): its verdicts are this source's labels.",
        )

        class Meta:
            ref_name = "DatasetImportInput"

    class OutputSerializer(serializers.Serializer):
        file = serializers.CharField()
        rows = serializers.IntegerField()
        prompts = CountedOutputSerializer()
        candidates = CountedOutputSerializer()
        items = CountedOutputSerializer()
        source_labels = CountedOutputSerializer()
        generators_created = serializers.ListField(child=serializers.CharField())
        skipped_identical = serializers.IntegerField()
        skipped_size = serializers.IntegerField()
        summary = serializers.CharField()

        class Meta:
            ref_name = "DatasetImported"

    @extend_schema(
        request={"multipart/form-data": InputSerializer},
        responses={201: OutputSerializer},
        operation_id="campaign_import",
    )
    def post(self, request: SignedInRequest, campaign: str) -> Response:
        """Staff only: import a file into the campaign, in the request: prompts and model answers
        (`candidates`), or a public preference dataset whose verdicts become source labels. All or nothing:
        a bad row is a 400 naming its file, line and field (`extra`), and stores nothing. The same file
        again adds nothing. Files over LABELAPP_IMPORT_UPLOAD_MAX_BYTES are refused (413) before they are
        read: import those with `manage.py import_dataset`."""
        found = campaign_get(name=campaign)
        dataset_upload_size_check(campaign=found, content_length=request.META.get("CONTENT_LENGTH"))
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        upload = payload.validated_data["file"]
        imported = dataset_file_import(
            campaign=found,
            format=payload.validated_data["format"],
            file=record_file_upload(name=upload.name or "upload", file=upload, size=upload.size),
            source=payload.validated_data.get("source", "").strip() or None,
        )
        body = self.OutputSerializer({**dataclasses.asdict(imported), "summary": imported.summary()}).data
        return Response(body, status=status.HTTP_201_CREATED)
