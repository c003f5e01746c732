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
    document.querySelectorAll("details.user-menu[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) menu.removeAttribute("open");
    });
  }

  function escapeCloses(event) {
    if (event.key !== "Escape") return;
    document.querySelectorAll("details.user-menu[open]").forEach(function (menu) {
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
