// The workspace's light JavaScript: keyboard shortcuts on the queue, reply templates.
// Loaded as a file (the Content-Security-Policy allows no inline scripts).
(function () {
  "use strict";

  function typing(target) {
    var tag = target && target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }

  function setupQueue() {
    var table = document.getElementById("queue");
    if (!table) { return; }
    var rows = Array.prototype.slice.call(table.querySelectorAll("tbody tr"));
    var current = -1;

    function select(index) {
      if (!rows.length) { return; }
      if (current >= 0) { rows[current].classList.remove("current"); }
      current = Math.max(0, Math.min(rows.length - 1, index));
      rows[current].classList.add("current");
      rows[current].scrollIntoView({ block: "nearest" });
    }

    function tick(row) {
      var box = row && row.querySelector("input[type=checkbox]");
      if (box) { box.checked = true; }
      return !!box;
    }

    function bulk(action) {
      var form = document.getElementById("bulk");
      var picker = document.getElementById("bulk-action");
      if (!form || !picker) { return; }
      if (current >= 0 && !form.querySelector("input[name=id]:checked")) { tick(rows[current]); }
      picker.value = action;
      var focus = document.getElementById(action === "assign" ? "bulk-executor" : "bulk-reason");
      if (focus) { focus.focus(); }
    }

    rows.forEach(function (row, index) {
      row.addEventListener("click", function (event) {
        if (event.target.closest("a, input, label")) { return; }
        window.location.href = row.getAttribute("data-href");
      });
      row.addEventListener("mouseenter", function () { current = index; });
    });

    document.addEventListener("keydown", function (event) {
      if (event.ctrlKey || event.metaKey || event.altKey) { return; }
      if (typing(event.target)) {
        if (event.key === "Escape") { event.target.blur(); }
        return;
      }
      switch (event.key) {
        case "j": select(current + 1); break;
        case "k": select(current - 1); break;
        case "Enter":
          if (current >= 0) { window.location.href = rows[current].getAttribute("data-href"); }
          break;
        case "x": if (current >= 0) {
          var box = rows[current].querySelector("input[type=checkbox]");
          if (box) { box.checked = !box.checked; }
        } break;
        case "a": bulk("assign"); break;
        case "r": bulk("reject"); break;
        case "/": {
          var search = document.getElementById("search");
          if (search) { search.focus(); search.select(); }
        } break;
        default: return;
      }
      event.preventDefault();
    });
  }

  function setupIncident() {
    document.addEventListener("keydown", function (event) {
      if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) { return; }
      var target = null;
      if (event.key === "a") { target = document.getElementById("assign-executor"); }
      if (event.key === "r") { target = document.getElementById("reject-reason"); }
      if (target) { target.focus(); event.preventDefault(); }
    });
    var picker = document.getElementById("template-picker");
    var text = document.getElementById("answer-text");
    if (picker && text) {
      picker.addEventListener("change", function () {
        var source = document.getElementById("template-" + picker.value);
        if (source) { text.value = source.innerHTML ? source.content.textContent : ""; }
      });
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    setupQueue();
    setupIncident();
  });
})();
