/* The session-log form on a phone: points at a mistake while the mentor types, keeps a
 * draft of the form (with its idempotency key) in localStorage so a reload, a dropped
 * connection or a closed tab loses nothing, and forgets the draft once the server has saved
 * the log (the next page lists the saved matches in [data-session-log-saved]).
 * No dependencies; the server checks everything again. */
(function () {
  "use strict";

  var DRAFT_PREFIX = "tandem:session-log:";

  function storage() {
    try {
      var probe = DRAFT_PREFIX + "probe";
      window.localStorage.setItem(probe, "1");
      window.localStorage.removeItem(probe);
      return window.localStorage;
    } catch (e) {
      return null; // private mode or storage full: the form still works, without drafts
    }
  }

  // --- Forget the drafts of logs the server has saved -------------------------------------
  function clearSavedDrafts(store) {
    var marker = document.querySelector("[data-session-log-saved]");
    if (!marker || !store) return;
    var ids = [];
    try { ids = JSON.parse(marker.getAttribute("data-session-log-saved")) || []; } catch (e) { ids = []; }
    ids.forEach(function (id) { store.removeItem(DRAFT_PREFIX + "match-" + id); });
  }

  // --- Messages beside the fields ----------------------------------------------------------
  function wrapperOf(el) { return el.closest("[data-field]"); }

  function describe(el, id, on) {
    var ids = (el.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean);
    var has = ids.indexOf(id) !== -1;
    if (on && !has) ids.push(id);
    if (!on && has) ids.splice(ids.indexOf(id), 1);
    if (ids.length) el.setAttribute("aria-describedby", ids.join(" "));
    else el.removeAttribute("aria-describedby");
  }

  function showMessage(wrapper, controls, message) {
    var id = "id_" + wrapper.getAttribute("data-field") + "_client_error";
    var node = document.getElementById(id);
    if (message) {
      if (!node) {
        node = document.createElement("p");
        node.id = id;
        node.className = "client-error";
        node.setAttribute("aria-live", "polite");
        wrapper.appendChild(node);
      }
      node.textContent = message;
      wrapper.classList.add("field--client-error");
    } else if (node) {
      node.remove();
      wrapper.classList.remove("field--client-error");
    }
    controls.forEach(function (el) {
      describe(el, id, Boolean(message));
      if (message) el.setAttribute("aria-invalid", "true");
      else if (!wrapper.classList.contains("field--error")) el.removeAttribute("aria-invalid");
    });
  }

  function checkField(wrapper) {
    var controls = Array.prototype.slice.call(wrapper.querySelectorAll("input, select, textarea"));
    var message = "";
    var group = wrapper.querySelector("[data-required-group]");
    if (group) {
      var anyChecked = controls.some(function (el) { return el.checked; });
      if (!anyChecked) message = group.getAttribute("data-message") || "Choose at least one.";
    } else {
      controls.forEach(function (el) {
        if (!message && el.willValidate && !el.checkValidity()) message = el.validationMessage;
      });
    }
    showMessage(wrapper, controls, message);
    return !message;
  }

  // --- The draft ---------------------------------------------------------------------------
  function readForm(form) {
    var values = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.name === "csrfmiddlewaretoken" || el.type === "submit") return;
      if (el.type === "checkbox" || el.type === "radio") {
        if (!(el.name in values)) values[el.name] = [];
        if (el.checked) values[el.name].push(el.value);
      } else {
        values[el.name] = el.value;
      }
    });
    return values;
  }

  function writeForm(form, values) {
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || !(el.name in values) || el.name === "csrfmiddlewaretoken") return;
      var value = values[el.name];
      if (el.type === "checkbox" || el.type === "radio") {
        el.checked = Array.isArray(value) && value.indexOf(el.value) !== -1;
      } else if (typeof value === "string") {
        el.value = value;
      }
    });
  }

  function setUpForm(form, store) {
    var key = form.getAttribute("data-draft-key");
    var note = document.querySelector("[data-draft-note]");
    var touched = {};

    function save() {
      if (!store || !key) return;
      try {
        store.setItem(key, JSON.stringify({ savedAt: new Date().toISOString(), values: readForm(form) }));
      } catch (e) { /* storage full: keep going without a draft */ }
    }

    if (store && key) {
      var raw = store.getItem(key);
      if (raw && !form.hasAttribute("data-bound")) {
        try {
          writeForm(form, JSON.parse(raw).values || {});
          if (note) note.hidden = false;
        } catch (e) { store.removeItem(key); }
      } else {
        save(); // an error page: what the server kept is the draft now
      }
      var discard = document.querySelector("[data-draft-discard]");
      if (discard) {
        discard.addEventListener("click", function () {
          store.removeItem(key);
          window.location.replace(window.location.pathname);
        });
      }
    }

    function onChange(event) {
      var wrapper = event.target.closest && wrapperOf(event.target);
      if (wrapper) {
        var name = wrapper.getAttribute("data-field");
        // Typing in a text box: speak up once the box was left, or to clear a message.
        if (event.type === "change" || touched[name] || document.getElementById("id_" + name + "_client_error")) {
          touched[name] = true;
          checkField(wrapper);
        }
      }
      save();
    }
    form.addEventListener("input", onChange);
    form.addEventListener("change", onChange);
    form.addEventListener("focusout", function (event) {
      var wrapper = event.target.closest && wrapperOf(event.target);
      if (wrapper && event.target.value !== "") {
        touched[wrapper.getAttribute("data-field")] = true;
        checkField(wrapper);
      }
    });

    form.addEventListener("submit", function (event) {
      var firstBad = null;
      Array.prototype.forEach.call(form.querySelectorAll("[data-field]"), function (wrapper) {
        if (!checkField(wrapper) && !firstBad) firstBad = wrapper;
      });
      if (firstBad) {
        event.preventDefault();
        var control = firstBad.querySelector("input, select, textarea");
        if (control) control.focus();
        return;
      }
      save();
      // The draft stays until the server confirms: a dropped connection loses nothing, and
      // the same idempotency key makes a second submission answer with the first log.
      form.setAttribute("aria-busy", "true");
    });
  }

  function start() {
    var store = storage();
    clearSavedDrafts(store);
    Array.prototype.forEach.call(document.querySelectorAll("[data-session-log-form]"), function (form) {
      setUpForm(form, store);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
