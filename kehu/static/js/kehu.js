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

/* org tree: a treegrid. Opening a unit fetches its children (htmx); arrow keys move between
   rows, Right opens, Left closes or goes to the parent, Enter selects. Without this file
   the toggles and names are links that select (and so open) a unit. */
(function () {
  "use strict";
  var refocus = false;

  function treeOf(node) { return node.closest ? node.closest("[role=treegrid]") : null; }

  function rows(tree) {
    return Array.prototype.slice.call(tree.querySelectorAll("tbody tr[aria-level]"));
  }

  function level(row) { return parseInt(row.getAttribute("aria-level"), 10); }

  function prepare(tree) {
    var all = rows(tree);
    var current = all.filter(function (row) { return row.tabIndex === 0; })[0] ||
      tree.querySelector("tbody tr.selected[aria-level]") || all[0];
    all.forEach(function (row) {
      row.tabIndex = row === current ? 0 : -1;
      row.querySelectorAll("a, button").forEach(function (link) { link.tabIndex = -1; });
    });
    if (refocus && current) { refocus = false; current.focus(); }
  }

  function moveTo(row) {
    if (!row) return;
    rows(treeOf(row)).forEach(function (other) { other.tabIndex = -1; });
    row.tabIndex = 0;
    row.focus();
  }

  function collapse(row) {
    var path = row.getAttribute("data-path");
    rows(treeOf(row)).forEach(function (other) {
      var otherPath = other.getAttribute("data-path") || "";
      if (other !== row && otherPath.indexOf(path) === 0) other.remove();
    });
    row.setAttribute("aria-expanded", "false");
  }

  function expand(row) {
    var url = row.getAttribute("data-children");
    if (!url || row.getAttribute("aria-busy") === "true") return;
    if (!window.htmx) { window.location.href = "?unit=" + row.getAttribute("data-unit-id"); return; }
    row.setAttribute("aria-busy", "true");
    window.htmx.ajax("GET", url + "?level=" + level(row), { target: row, swap: "afterend" })
      .then(function () {
        row.setAttribute("aria-expanded", "true");
        row.removeAttribute("aria-busy");
        prepare(treeOf(row));
      });
  }

  function toggle(row) {
    if (row.getAttribute("aria-expanded") === "true") collapse(row); else expand(row);
  }

  function onClick(event) {
    var toggler = event.target.closest ? event.target.closest("[data-tree-toggle]") : null;
    if (!toggler || !treeOf(toggler)) return;
    event.preventDefault();
    var row = toggler.closest("tr");
    moveTo(row);
    toggle(row);
  }

  function onKey(event) {
    var row = event.target;
    if (!row.matches || !row.matches("[role=treegrid] tbody tr[aria-level]")) return;
    var all = rows(treeOf(row));
    var index = all.indexOf(row);
    var expanded = row.getAttribute("aria-expanded");
    switch (event.key) {
      case "ArrowDown": moveTo(all[index + 1]); break;
      case "ArrowUp": moveTo(all[index - 1]); break;
      case "Home": moveTo(all[0]); break;
      case "End": moveTo(all[all.length - 1]); break;
      case "ArrowRight":
        if (expanded === "false") expand(row);
        else if (expanded === "true") moveTo(all[index + 1]);
        break;
      case "ArrowLeft":
        if (expanded === "true") { collapse(row); break; }
        for (var i = index - 1; i >= 0; i--) {
          if (level(all[i]) < level(row)) { moveTo(all[i]); break; }
        }
        break;
      case "Enter": {
        var link = row.querySelector("a[hx-get]");
        if (!link) return;
        refocus = true;
        link.click();
        break;
      }
      default: return;
    }
    event.preventDefault();
  }

  function setUp(root) {
    var trees = root.querySelectorAll ? root.querySelectorAll("[role=treegrid]") : [];
    Array.prototype.forEach.call(trees, prepare);
    if (root.matches && root.matches("[role=treegrid]")) prepare(root);
  }

  document.addEventListener("click", onClick);
  document.addEventListener("keydown", onKey);
  document.addEventListener("DOMContentLoaded", function () { setUp(document); });
  document.addEventListener("htmx:afterSettle", function (event) {
    var tree = treeOf(event.target);
    setUp(tree || event.target);
  });
})();
