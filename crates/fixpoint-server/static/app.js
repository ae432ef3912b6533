// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";

  function typing(event) {
    var t = event.target;
    return t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
  }

  // Keyboard: "/" search, "n" new ticket, "e" edit, "j"/"k" move in a list, Enter opens.
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event)) return;
    var key = event.key;
    if (key === "/" || key === "e") {
      var field = document.querySelector('[data-key="' + key + '"]');
      if (field) { event.preventDefault(); field.focus(); }
    } else if (key === "n") {
      window.location.href = "/tickets/new";
    } else if (key === "j" || key === "k" || key === "Enter") {
      var rows = Array.prototype.slice.call(document.querySelectorAll("[data-list] tbody tr"));
      if (!rows.length) return;
      var at = rows.findIndex(function (r) { return r.classList.contains("current"); });
      if (key === "Enter") {
        if (at >= 0) { var link = rows[at].querySelector("a"); if (link) window.location.href = link.href; }
        return;
      }
      var next = key === "j" ? Math.min(at + 1, rows.length - 1) : Math.max(at - 1, 0);
      rows.forEach(function (r) { r.classList.remove("current"); });
      rows[next].classList.add("current");
      rows[next].scrollIntoView({ block: "nearest" });
    }
  });

  // Live SLA countdowns.
  function span(ms) {
    var minutes = Math.round(Math.abs(ms) / 60000);
    var h = Math.floor(minutes / 60), m = minutes % 60;
    return h > 0 ? h + "h " + m + "m" : m + "m";
  }
  function tick() {
    document.querySelectorAll(".sla[data-due]").forEach(function (badge) {
      var due = Date.parse(badge.getAttribute("data-due"));
      if (isNaN(due) || badge.classList.contains("sla-met") || badge.classList.contains("sla-paused")) return;
      var left = due - Date.now();
      badge.textContent = left >= 0 ? "due in " + span(left) : "overdue " + span(left);
      if (left < 0) { badge.className = "sla sla-breached"; }
    });
  }
  tick();
  setInterval(tick, 30000);

  // New ticket: only the chosen company's contacts; warn of similar open tickets.
  var company = document.getElementById("company_id");
  var contact = document.getElementById("contact_id");
  if (company && contact) {
    var filter = function () {
      Array.prototype.forEach.call(contact.options, function (o) {
        var c = o.getAttribute("data-company");
        o.hidden = c !== null && c !== company.value;
        if (o.hidden && o.selected) contact.value = "";
      });
    };
    company.addEventListener("change", filter);
    filter();
  }
  var title = document.getElementById("title");
  var similar = document.getElementById("similar");
  if (company && title && similar) {
    title.addEventListener("blur", function () {
      if (!company.value || title.value.trim().length < 4) { similar.textContent = ""; return; }
      var url = "/tickets/similar.json?company_id=" + encodeURIComponent(company.value) +
        "&title=" + encodeURIComponent(title.value);
      fetch(url, { credentials: "same-origin" }).then(function (r) { return r.ok ? r.json() : []; })
        .then(function (items) {
          similar.textContent = "";
          if (!items.length) return;
          var p = document.createElement("p");
          p.className = "problem";
          p.textContent = "Similar open tickets for this company: ";
          items.forEach(function (t, i) {
            var a = document.createElement("a");
            a.href = "/tickets/" + t.id;
            a.textContent = t.number + " " + t.title;
            if (i) p.appendChild(document.createTextNode(", "));
            p.appendChild(a);
          });
          similar.appendChild(p);
        });
    });
  }
})();
