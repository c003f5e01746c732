"""Bulk import of interactions: a kind of the customers import (``kehu.customers.importing``).

Registered with ``register_import_kind`` (activities' registrations), an interactions
import is an ``ImportJob`` like a customers one: uploaded (CSV in UTF-8, BOM or
GBK/GB18030, or XLSX), its columns mapped, checked by a dry run, run in the worker with
progress, and reported (rejected rows with their reasons as CSV) — the wizard at
``/imports/``, ``/api/v1/imports`` and ``kehu import interactions FILE``. Only the rows go
through this module: ``InteractionProcessor`` cleans each with the same
``clean_interaction`` as the form and the API, finds its customer among those the
importer may see (by code, credit code or exact name; once per batch), and writes the
accepted rows in batches with ``bulk_create``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kehu.activities.models import Channel, Direction, Interaction
from kehu.activities.services.interactions import clean_interaction
from kehu.core import audit, moments
from kehu.core.exceptions import ValidationFailed
from kehu.core.placement import owned_placement
from kehu.customers import normalize
from kehu.customers.importing.mapping import ImportKind, Target
from kehu.customers.importing.processor import BATCH, Processor, Row

ENTITY = "interactions"

TARGETS: tuple[Target, ...] = (
    Target("customer", gettext_lazy("Customer (code, credit code or name)"),
           ("客户编码", "客户编号", "客户名称", "客户", "customer code", "customer_code",
            "customer name", "customer_name", "customer")),
    Target("kind", gettext_lazy("Type"), ("类型", "跟进类型", "方式", "type", "kind")),
    Target("occurred_at", gettext_lazy("Time"), ("时间", "跟进时间", "日期", "time", "date",
                                                 "occurred at", "occurred_at")),
    Target("subject", gettext_lazy("Subject"), ("主题", "标题", "subject", "title")),
    Target("content", gettext_lazy("Content"), ("内容", "详情", "记录", "content", "notes")),
    Target("channel", gettext_lazy("Channel"), ("渠道", "channel")),
    Target("direction", gettext_lazy("Direction"), ("方向", "direction")),
    Target("duration_minutes", gettext_lazy("Duration (minutes)"),
           ("时长", "时长(分钟)", "时长（分钟）", "duration", "duration minutes",
            "duration_minutes")),
    Target("outcome", gettext_lazy("Outcome"), ("结果", "outcome", "result")),
    Target("next_step", gettext_lazy("Next step"), ("下一步", "下一步计划", "next step",
                                                    "next_step")),
)
REQUIRED = ("customer", "kind", "occurred_at", "subject")

_KIND_WORDS = {"电话": "call", "拜访": "visit", "会议": "meeting", "邮件": "email",
               "短信": "sms", "微信": "wechat", "备注": "note", "其他": "other"}
_DIRECTION_WORDS = {"呼出": "outbound", "外呼": "outbound", "去电": "outbound",
                    "主动": "outbound", "呼入": "inbound", "来电": "inbound", "被动": "inbound",
                    "内部": "internal"}
_CHANNEL_WORDS = {"电话": "phone", "面对面": "face_to_face", "当面": "face_to_face",
                  "上门": "face_to_face", "邮件": "email", "短信": "sms", "微信": "wechat",
                  "网站": "web", "网页": "web", "呼叫中心": "call_center",
                  "手机应用": "mobile_app", "app": "mobile_app", "门店": "store",
                  "营业厅": "store", "其他": "other"}
_WORDS = {"kind": _KIND_WORDS, "direction": _DIRECTION_WORDS, "channel": _CHANNEL_WORDS}
_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M",
                 "%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d %H:%M", "%Y.%m.%d", "%Y年%m月%d日 %H:%M",
                 "%Y年%m月%d日")


def column_label(name: str) -> str:
    return next((str(t.label) for t in TARGETS if t.key == name), name)


def missing(mapped: set[str]) -> str:
    """Why a mapping cannot run: the columns it still needs ("" when none)."""
    absent = [column_label(name) for name in REQUIRED if name not in mapped]
    return _("Map a column to each of: %(names)s.") % {"names": "、".join(absent)} \
        if absent else ""


def parse_time(text: str) -> dt.datetime | None:
    """The time column: ISO 8601 or one of the formats; unreadable or outside
    1900–2200 (``kehu.core.moments``) → None."""
    text = text.strip().replace("T", " ")
    parsed: dt.datetime | None = None
    with contextlib.suppress(ValueError):  # the common ISO shapes first: no format loop
        parsed = dt.datetime.fromisoformat(text)
    for fmt in () if parsed is not None else _TIME_FORMATS:
        try:
            parsed = dt.datetime.strptime(text, fmt)  # noqa: DTZ007 -- made aware below
            break
        except ValueError:
            continue
    if parsed is None:
        return None
    try:
        return moments.check_moment(parsed)
    except moments.OutOfRange:
        return None


def _word(name: str, raw: str) -> str:
    """A choice cell: Chinese words and the stored values both read."""
    return _WORDS[name].get(normalize.fold(raw).casefold(), raw.strip().casefold())


class InteractionProcessor(Processor):
    """The rows of an interactions import: cleaned one by one, their customers found
    and the accepted ones written once per batch (``Processor`` reads the file, counts,
    stores the issues and reports progress)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Every imported interaction is the importer's, in their unit (as when recorded
        # one by one without choosing an owner).
        self.owner, self.unit = owned_placement(self.actor, "interactions.create", None, None)

    def _load_existing(self) -> None:
        """Interactions have no duplicates to look for."""

    def _take(self, row: Row) -> None:
        errors: dict[str, list[str]] = {}
        v = {key: raw.strip() for key, raw in row.values.items()}
        data: dict[str, Any] = {
            "kind": _word("kind", v.get("kind", "")), "subject": v.get("subject", ""),
            "direction": _word("direction", v.get("direction", "")) or Direction.OUTBOUND,
            "channel": _word("channel", v.get("channel", "")) or Channel.PHONE,
            **{key: v[key] for key in ("content", "outcome", "next_step") if key in v},
        }
        if not v.get("customer"):
            errors["customer"] = [_("Give the customer code or name.")]
        time_text = v.get("occurred_at", "")
        moment = parse_time(time_text) if time_text else None
        if not time_text:
            errors["occurred_at"] = [_("This field is required.")]
        elif moment is None:
            errors["occurred_at"] = [_("Enter a date and time such as 2026-03-01 14:30.")]
        else:
            data["occurred_at"] = moment
        duration = v.get("duration_minutes", "")
        if duration and not duration.isdigit():
            errors["duration_minutes"] = [_("Enter whole minutes.")]
        elif duration:
            data["duration_minutes"] = int(duration)
        if not data["kind"]:
            errors["kind"] = [_("This field is required.")]
        try:
            row.clean = clean_interaction(data)
        except ValidationFailed as exc:
            for name, messages in exc.fields.items():
                errors.setdefault(name, []).extend(str(m) for m in messages)
        if errors:
            self.counts.errors += 1
            for name, messages in errors.items():
                for message in messages:
                    self._issue(row.number, "error", name, message)
            return
        row.extra["customer_ref"] = v["customer"]
        self.counts.accepted += 1
        self.batch.append(row)

    def _flush(self) -> None:
        rows, self.batch = self.batch, []
        # The customers of the batch in one query, among those the importer may see.
        found = self._customers_for({r.extra["customer_ref"] for r in rows}, "view")
        accepted: list[Row] = []
        for row in rows:
            target = found[row.extra["customer_ref"]]
            if isinstance(target, str):
                self._reject(row, "customer", target)
            else:
                row.extra["customer_id"] = target
                accepted.append(row)
        if self.write and accepted:
            Interaction.objects.bulk_create([
                Interaction(tenant_id=self.actor.tenant_id, owner=self.owner,
                            org_unit=self.unit, customer_id=row.extra["customer_id"],
                            created_by=self.actor, **row.clean)
                for row in accepted], batch_size=BATCH)
        # Created, or in the dry run would be: every accepted row.
        self.counts.created = self.counts.accepted
        self._flush_issues()
        if self.on_progress is not None:
            self.on_progress(self.counts.rows)

    def process(self) -> dict[str, int]:
        counts = super().process()
        if self.write:
            # One event for the whole file (the run also records import.run).
            audit.record(actor=self.actor, action="interaction.import",
                         object_type="interaction", object_repr=self.job.file_name,
                         changes={"file": [None, self.job.file_name],
                                  "rows": [None, counts["created"]], "import": [None, self.job.pk]})
        return counts


KIND = ImportKind(key=ENTITY, label=gettext_lazy("Interactions"), targets=TARGETS,
                  permission="interactions.create",
                  reveal_permission="customers.reveal_pii", missing=missing,
                  processor=InteractionProcessor)
