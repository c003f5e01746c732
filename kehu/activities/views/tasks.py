"""Pages: tasks (list with tabs, form, detail with comments).

Thin: forms parse, services write, selectors read. Every action is a plain form post
that redirects; htmx swaps the comment list in place.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from kehu.activities.forms import tasks as f
from kehu.activities.models import Task
from kehu.activities.selectors import tasks as task_selectors
from kehu.activities.services import tasks as task_services
from kehu.core import access, references
from kehu.core.exceptions import KehuError, ValidationFailed
from kehu.core.models import User
from kehu.core.web import is_htmx, page, service_error
from kehu.customers.selectors import customers as customer_selectors

TASKS_PER_PAGE = 25
TABS = (("mine", gettext_lazy("Assigned to me")), ("assigned", gettext_lazy("Assigned by me")),
        ("team", gettext_lazy("Team")), ("all", gettext_lazy("All")))


def _me(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _customer_id(me: User, code: str) -> int | None:
    """The visible customer with this code (or id); None for empty input."""
    code = (code or "").strip()
    if not code:
        return None
    found = customer_selectors.customer_id_by_code(actor=me, code=code)
    if found is None:
        raise ValidationFailed(fields={"customer": [
            _("No customer you can see has the code “%(code)s”.") % {"code": code}]})
    return found


@page("tasks.view")
def task_list(request: HttpRequest) -> HttpResponse:
    me = _me(request)
    can_assign = access.has_perm(me, "tasks.assign")
    tab = request.GET.get("view") or "mine"
    if tab not in dict(TABS):
        tab = "mine"
    people = list(task_selectors.assignable_users(actor=me)) if can_assign else []
    form = f.TaskFilterForm(request.GET or None, people=people)
    data = {**form.selector_data(), "view": tab}
    filters = task_selectors.TaskFilters.from_mapping(data)
    tasks = task_selectors.task_list(actor=me, filters=filters)
    page_obj = Paginator(tasks, TASKS_PER_PAGE).get_page(request.GET.get("page"))
    references.prime_objects(me, (t.customer for t in page_obj.object_list))
    query = request.GET.copy()
    query.pop("page", None)
    filter_query = request.GET.copy()
    for key in ("page", "view"):
        filter_query.pop(key, None)
    return render(request, "activities/tasks/task_list.html", {
        "page_obj": page_obj, "tasks": list(page_obj), "filter_form": form, "tab": tab,
        "tabs": TABS, "query": query.urlencode(), "filter_query": filter_query.urlencode(),
        "filtered": bool(form.selector_data()), "now": timezone.now(),
        "can_create": access.has_perm(me, "tasks.create"),
    })


def _task_form_page(request: HttpRequest, form: f.TaskForm, task: Task | None,
                    status: int = 200) -> HttpResponse:
    return render(request, "activities/tasks/task_form.html", {"form": form, "task": task},
                  status=status)


@page("tasks.create")
def task_create(request: HttpRequest) -> HttpResponse:
    me = _me(request)
    assignees = list(task_selectors.assignable_users(actor=me))
    if request.method != "POST":
        initial: dict[str, Any] = {"assignee": me.pk}
        customer_id = request.GET.get("customer")
        if customer_id and customer_id.isdigit() and len(customer_id) < 19:
            code = customer_selectors.customer_code(actor=me, customer_id=int(customer_id))
            if code is not None:
                initial["customer"] = code
        return _task_form_page(request, f.TaskForm(initial=initial, assignees=assignees), None)
    form = f.TaskForm(request.POST, assignees=assignees)
    if form.is_valid():
        try:
            task = task_services.task_create(
                actor=me, customer_id=_customer_id(me, form.cleaned_data["customer"]),
                **form.service_data())
        except KehuError as exc:
            service_error(request, form, exc)
        else:
            messages.success(request, _("Task created."))
            return redirect("task_detail", pk=task.pk)
    return _task_form_page(request, form, None, status=422)


@page("tasks.change")
def task_edit(request: HttpRequest, pk: int) -> HttpResponse:
    me = _me(request)
    task = access.get_for(Task, me, pk, "change")
    assignees = list(task_selectors.assignable_users(actor=me))
    if task.owner is not None and task.owner.pk not in {u.pk for u in assignees}:
        assignees.insert(0, task.owner)  # keeping the current assignee is always allowed
    # A customer the reader may not see is neither shown (not even its code) nor dropped:
    # left empty, the field keeps it.
    hidden = task.customer is not None and not references.is_visible(me, task.customer)
    initial = {"title": task.title, "assignee": task.owner_id, "priority": task.priority,
               "due_at": timezone.localtime(task.due_at) if task.due_at else None,
               "remind_minutes_before": task.remind_minutes_before,
               "customer": task.customer.code if task.customer and not hidden else "",
               "description": task.description, "expected_version": task.version}
    if request.method != "POST":
        return _task_form_page(request, f.TaskForm(initial=initial, assignees=assignees), task)
    form = f.TaskForm(request.POST, initial=initial, assignees=assignees)
    if form.is_valid():
        try:
            code = form.cleaned_data["customer"]
            customer = {} if hidden and not code else {"customer_id": _customer_id(me, code)}
            task = task_services.task_update(
                actor=me, task_id=pk, expected_version=form.cleaned_data["expected_version"],
                **customer, **form.service_data())
        except KehuError as exc:
            service_error(request, form, exc)
        else:
            messages.success(request, _("Changes saved."))
            return redirect("task_detail", pk=task.pk)
    return _task_form_page(request, form, task, status=422)


@page("tasks.view")
def task_detail(request: HttpRequest, pk: int) -> HttpResponse:
    me = _me(request)
    task = task_selectors.task_detail(actor=me, task_id=pk)
    return render(request, "activities/tasks/task_detail.html", {
        "task": task, "comments": list(task.comments.all()), "comment_form": f.CommentForm(),
        "can_change": access.allows(me, task, "change"), "statuses": Task.Status.choices,
    })


@require_POST
@page("tasks.change")
def task_status(request: HttpRequest, pk: int) -> HttpResponse:
    form = f.TaskStatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a status."))
        return redirect("task_detail", pk=pk)
    try:
        task_services.task_set_status(actor=_me(request), task_id=pk,
                                      status=form.cleaned_data["status"],
                                      expected_version=form.cleaned_data["expected_version"])
    except KehuError as exc:
        service_error(request, None, exc)
    else:
        messages.success(request, _("Status changed."))
    return redirect("task_detail", pk=pk)


@require_POST
@page("tasks.view")
def task_comment(request: HttpRequest, pk: int) -> HttpResponse:
    me = _me(request)
    form = f.CommentForm(request.POST)
    if form.is_valid():
        try:
            task_services.task_comment_add(actor=me, task_id=pk, body=form.cleaned_data["body"])
        except KehuError as exc:
            service_error(request, form, exc)
        else:
            form = f.CommentForm()
    if not is_htmx(request):
        if form.errors:
            messages.error(request, _("The comment could not be added."))
        return redirect("task_detail", pk=pk)
    task = task_selectors.task_detail(actor=me, task_id=pk)
    return render(request, "activities/tasks/_comments.html", {
        "comments": list(task.comments.all()), "comment_form": form, "task": task,
        "comment_url": "task_comment"})


urlpatterns: list[URLPattern] = [
    path("tasks/", task_list, name="task_list"),
    path("tasks/new/", task_create, name="task_create"),
    path("tasks/<int:pk>/", task_detail, name="task_detail"),
    path("tasks/<int:pk>/edit/", task_edit, name="task_edit"),
    path("tasks/<int:pk>/status/", task_status, name="task_status"),
    path("tasks/<int:pk>/comments/", task_comment, name="task_comment"),
]
