"""The API root: ``KehuAPI``, Kehu's error format on every path under it (errors) and the
per-operation checks once its routers are mounted (operations)."""

from __future__ import annotations

from typing import Any

from django.urls import URLPattern, URLResolver, re_path
from ninja import NinjaAPI

from kehu.core.http import operations
from kehu.core.http.errors import install_error_handlers, json_errors_view, unknown_path


class KehuAPI(NinjaAPI):
    """NinjaAPI whose every answer, even for unknown paths and methods, is JSON; every
    operation refuses unknown query parameters and names what a 201 created
    (kehu.core.http.operations)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        install_error_handlers(self)

    def _get_urls(self) -> list[URLResolver | URLPattern]:
        urls = super()._get_urls()
        operations.install(self, (
            operation for bound in self._get_bound_routers()
            for view in bound.path_operations.values() for operation in view.operations))
        for pattern in urls:
            if isinstance(pattern, URLPattern):
                pattern.callback = json_errors_view(pattern.callback)
        urls.append(re_path(r"^.*$", unknown_path, name="api-unknown-path"))
        return urls
