"""HTML forms, one module per feature: parse and shape input only; the services validate
and decide. The shared base (KehuForm, VersionForm, choices helpers) is
``kehu.core.forms.base``."""
