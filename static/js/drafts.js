// Keeps what a person types in the forms of a page while another form of it is sent.
//
// Each <form data-draft="name"> inside an element with data-drafts="scope" is saved to
// sessionStorage as it is typed, under "draft:<scope>:<name>", and put back when the page
// loads again. A form's draft is dropped once that form was sent and the page came back
// with a success message and without errors on that form (data-draft-errors); a form the
// server sent back with errors already shows what was typed, so it is left as it is.
(function () {
  "use strict";

  var root = document.querySelector("[data-drafts]");
  var storage;
  try {
    storage = window.sessionStorage;
  } catch (error) {
    return; // storage refused (privacy settings): the page works without drafts
  }
  if (!root || !storage) {
    return;
  }
  var scope = root.getAttribute("data-drafts");
  var pendingKey = "draft-sent:" + scope;

  function keyOf(form) {
    return "draft:" + scope + ":" + form.getAttribute("data-draft");
  }

  function fieldsOf(form) {
    return Array.prototype.filter.call(form.elements, function (field) {
      return (
        field.name &&
        field.name !== "csrfmiddlewaretoken" &&
        field.type !== "hidden" &&
        field.type !== "submit" &&
        field.type !== "button" &&
        field.type !== "password"
      );
    });
  }

  function save(form) {
    var values = {};
    fieldsOf(form).forEach(function (field) {
      values[field.name] = field.value;
    });
    try {
      storage.setItem(keyOf(form), JSON.stringify(values));
    } catch (error) {
      // quota full: keep working without this draft
    }
  }

  function restore(form) {
    var saved;
    try {
      saved = JSON.parse(storage.getItem(keyOf(form)) || "null");
    } catch (error) {
      saved = null;
    }
    if (!saved) {
      return;
    }
    fieldsOf(form).forEach(function (field) {
      if (Object.prototype.hasOwnProperty.call(saved, field.name)) {
        field.value = saved[field.name];
      }
    });
  }

  var forms = root.querySelectorAll("form[data-draft]");
  var sent = storage.getItem(pendingKey);
  storage.removeItem(pendingKey);
  var succeeded = document.querySelector(".message-success") !== null;

  Array.prototype.forEach.call(forms, function (form) {
    var name = form.getAttribute("data-draft");
    var hasErrors = form.hasAttribute("data-draft-errors");
    if (name === sent && succeeded && !hasErrors) {
      storage.removeItem(keyOf(form));
    } else if (hasErrors) {
      save(form); // what the server sent back is the draft now
    } else {
      restore(form);
    }
    form.addEventListener("input", function () {
      save(form);
    });
    form.addEventListener("change", function () {
      save(form);
    });
    form.addEventListener("submit", function () {
      save(form);
      storage.setItem(pendingKey, name);
    });
  });
})();
