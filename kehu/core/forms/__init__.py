"""HTML forms, one module per feature: parse and shape input only; the services validate
and decide. The shared base is ``kehu.core.forms.base``."""

# Other apps import the base from here.
from kehu.core.forms.base import KehuForm, VersionForm, set_choices, unit_choices

__all__ = ["KehuForm", "VersionForm", "set_choices", "unit_choices"]
