/* Kehu: small progressive enhancements. Every page works without this file. */
(function () {
  "use strict";

  function navToggle(event) {
    var button = event.target.closest("[data-nav-toggle]");
    if (!button) return;
    var nav = document.getElementById(button.getAttribute("aria-controls"));
    var open = button.getAttribute("aria-expanded") !== "true";
    button.setAttribute("aria-expanded", open ? "true" : "false");
    if (nav) nav.classList.toggle("open", open);
  }

  function confirmSubmit(event) {
    var button = event.submitter || document.activeElement;
    var message = button && button.getAttribute && button.getAttribute("data-confirm");
    if (message && !window.confirm(message)) event.preventDefault();
  }

  function autoSubmit(event) {
    if (event.target.matches("select[data-autosubmit]")) event.target.form.submit();
  }

  function closeMenus(event) {
    document.querySelectorAll("details.user-menu[open], details.nav-menu[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) menu.removeAttribute("open");
    });
  }

  function escapeCloses(event) {
    if (event.key !== "Escape") return;
    document.querySelectorAll("details.user-menu[open], details.nav-menu[open]").forEach(function (menu) {
      menu.removeAttribute("open");
      menu.querySelector("summary").focus();
    });
  }

  document.addEventListener("click", navToggle);
  document.addEventListener("click", closeMenus);
  document.addEventListener("keydown", escapeCloses);
  document.addEventListener("submit", confirmSubmit, true);
  document.addEventListener("change", autoSubmit);
  document.documentElement.classList.add("js");
})();

/* customers: dialogs, kind-dependent fields, bulk bar, header search. */
(function () {
  "use strict";

  function openDialog(event) {
    var opener = event.target.closest("[data-dialog]");
    if (!opener) return;
    var dialog = document.getElementById(opener.getAttribute("data-dialog"));
    if (!dialog || typeof dialog.showModal !== "function") return;  // the link still works
    event.preventDefault();
    dialog.showModal();
    var first = dialog.querySelector("input:not([type=hidden]), select, textarea");
    if (first) first.focus();
  }

  function closeDialog(event) {
    var closer = event.target.closest("[data-dialog-close]");
    if (!closer) return;
    var dialog = closer.closest("dialog");
    if (dialog) dialog.close();
  }

  // A field that does not apply to the chosen kind is hidden, unless it holds a value
  // or an error the user must see.
  function applyKind(select) {
    var form = select.form;
    if (!form) return;
    var organisation = select.value !== "individual";
    form.querySelectorAll("[data-kind-only]").forEach(function (box) {
      var applies = (box.getAttribute("data-kind-only") === "organisation") === organisation;
      var input = box.querySelector("input");
      var keep = box.querySelector(".errorlist") || (input && input.value);
      box.hidden = !applies && !keep;
    });
  }

  function applyControls(select) {
    var form = select.form;
    if (!form) return;
    form.querySelectorAll("[data-show-for]").forEach(function (box) {
      box.hidden = box.getAttribute("data-show-for").split(" ").indexOf(select.value) < 0;
    });
  }

  function onChange(event) {
    var target = event.target;
    if (target.matches("select[data-kind-switch]")) applyKind(target);
    if (target.matches("select[data-controls]")) applyControls(target);
    if (target.matches("input[data-select-all]")) {
      var name = target.getAttribute("data-select-all");
      document.querySelectorAll('input[type=checkbox][name="' + name + '"]').forEach(function (box) {
        box.checked = target.checked;
      });
    }
  }

  function setUp(root) {
    root.querySelectorAll("select[data-kind-switch]").forEach(applyKind);
    root.querySelectorAll("select[data-controls]").forEach(applyControls);
    root.querySelectorAll("dialog[data-open-on-load]").forEach(function (dialog) {
      if (typeof dialog.showModal === "function" && !dialog.open) dialog.showModal();
    });
  }

  function closeLiveSearch(event) {
    var box = document.getElementById("site-search-live");
    if (!box || !box.firstChild) return;
    if (event.type === "keydown" && event.key !== "Escape") return;
    if (event.type === "click" && box.parentNode.contains(event.target)) return;
    box.innerHTML = "";
  }

  function copyField(event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var input = document.querySelector(button.getAttribute("data-copy"));
    input.select();
    if (navigator.clipboard) { navigator.clipboard.writeText(input.value); } else { document.execCommand("copy"); }
    if (button.getAttribute("data-copied")) button.textContent = button.getAttribute("data-copied");
  }

  function selectOnFocus(event) {
    if (event.target.matches && event.target.matches("[data-select-on-focus]")) event.target.select();
  }

  function focusFirst(event) {
    var box = event.target.closest ? event.target.closest("[data-focus-first]") : null;
    if (!box) return;
    var field = box.querySelector("input:not([type=hidden]):not([type=radio]), select, textarea");
    if (field) field.focus();
  }

  document.addEventListener("click", copyField);
  document.addEventListener("focusin", selectOnFocus);
  document.addEventListener("htmx:afterSettle", focusFirst);
  document.addEventListener("click", openDialog);
  document.addEventListener("click", closeDialog);
  document.addEventListener("click", closeLiveSearch);
  document.addEventListener("keydown", closeLiveSearch);
  document.addEventListener("change", onChange);
  document.addEventListener("DOMContentLoaded", function () { setUp(document); });
  document.addEventListener("htmx:afterSettle", function (event) { setUp(event.target); });
})();
