"""HTML pages for core, one module per feature: thin views over kehu.core services and
selectors.

Forms parse input; services decide. A service's field errors land on the form, its
message in the messages area; NotFound becomes the 404 page and a missing module
permission the 403 page. Every action is a plain form post that redirects; htmx only
swaps the result in place (see ``templates/core/org/org_tree.html``). The helpers every
app's pages share are in kehu.core.web.
"""
