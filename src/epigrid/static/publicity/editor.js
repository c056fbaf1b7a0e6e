/* The announcement editor: a contenteditable box with a small toolbar over the form's textarea.
 * Without JavaScript the textarea is the editor; with it, the box's HTML is copied into the textarea on
 * submit. The server sanitises whatever arrives, so this script only helps to write; it guards nothing.
 * Pictures are uploaded to the announcement (publicity:attach, JSON) and placed by their URL. */
(function () {
  "use strict";

  var area = document.querySelector("textarea[data-rich-editor]");
  if (!area || !document.execCommand) return;
  var d = area.dataset;
  var form = area.form;
  var csrf = form.querySelector("input[name=csrfmiddlewaretoken]");
  var LINK = /^(https?:\/\/|mailto:|tel:|\/(?!\/))/i;

  var box = document.createElement("div");
  box.className = "rte";
  var toolbar = document.createElement("div");
  toolbar.className = "rte-toolbar";
  toolbar.setAttribute("role", "toolbar");
  toolbar.setAttribute("aria-label", d.labelToolbar || "");
  var editor = document.createElement("div");
  editor.className = "rte-area";
  editor.contentEditable = "true";
  editor.setAttribute("role", "textbox");
  editor.setAttribute("aria-multiline", "true");
  editor.setAttribute("aria-label", (document.querySelector("label[for='" + area.id + "']") || {}).textContent || "");
  editor.innerHTML = area.value; // the stored text, sanitised by the server when it was saved
  var status = document.createElement("div");
  status.className = "rte-status";
  status.setAttribute("aria-live", "polite");

  function say(text, isError) {
    status.textContent = text || "";
    status.classList.toggle("rte-error", !!isError);
  }

  function run(command, value) {
    editor.focus();
    document.execCommand(command, false, value === undefined ? null : value);
  }

  var fileInput = document.createElement("input");
  fileInput.type = "file";
  fileInput.accept = "image/jpeg,image/png,image/gif,image/webp";
  fileInput.hidden = true;

  var saved = null; // the selection when the picture button was pressed (the file dialog takes the focus)
  function keepSelection() {
    var sel = window.getSelection();
    saved = sel && sel.rangeCount && editor.contains(sel.anchorNode) ? sel.getRangeAt(0) : null;
  }
  function restoreSelection() {
    editor.focus();
    if (saved) {
      var sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(saved);
    }
  }

  function upload(file) {
    var data = new FormData();
    data.append("file", file);
    data.append("image", "1");
    say(d.uploading);
    fetch(d.uploadUrl, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrf ? csrf.value : "", Accept: "application/json" },
    })
      .then(function (response) {
        return response.json().then(function (body) {
          if (!response.ok) throw new Error(body.detail || d.uploadFailed);
          return body;
        });
      })
      .then(function (body) {
        restoreSelection();
        document.execCommand("insertImage", false, body.url);
        say("");
      })
      .catch(function (err) {
        say((err && err.message) || d.uploadFailed, true);
      });
  }

  fileInput.addEventListener("change", function () {
    if (fileInput.files && fileInput.files[0]) upload(fileInput.files[0]);
    fileInput.value = "";
  });

  var buttons = [
    ["B", d.labelBold, function () { run("bold"); }],
    ["I", d.labelItalic, function () { run("italic"); }],
    ["H2", d.labelHeading, function () { run("formatBlock", "<h2>"); }],
    ["H3", d.labelSubheading, function () { run("formatBlock", "<h3>"); }],
    ["¶", d.labelParagraph, function () { run("formatBlock", "<p>"); }],
    ["•", d.labelBullets, function () { run("insertUnorderedList"); }],
    ["1.", d.labelNumbers, function () { run("insertOrderedList"); }],
    [d.labelLink || "URL", d.labelLink, function () {
      keepSelection();
      var url = window.prompt(d.promptLink, "https://");
      if (!url) return;
      url = url.trim();
      if (!LINK.test(url)) { say(d.badLink, true); return; }
      restoreSelection();
      document.execCommand("createLink", false, url);
      say("");
    }],
    [d.labelImage || "IMG", d.labelImage, function () {
      if (!d.uploadUrl) { say(d.saveFirst, true); return; }
      keepSelection();
      fileInput.click();
    }],
  ];
  buttons.forEach(function (spec) {
    var button = document.createElement("button");
    button.type = "button";
    button.textContent = spec[0];
    button.title = spec[1] || "";
    button.setAttribute("aria-label", spec[1] || spec[0]);
    // Keep the text selection in the box: a click on a button must not take the focus away first.
    button.addEventListener("mousedown", function (event) { event.preventDefault(); });
    button.addEventListener("click", spec[2]);
    toolbar.appendChild(button);
  });

  box.appendChild(toolbar);
  box.appendChild(editor);
  box.appendChild(status);
  box.appendChild(fileInput);
  area.parentNode.insertBefore(box, area);
  area.hidden = true;
  var label = document.querySelector("label[for='" + area.id + "']");
  if (label) label.addEventListener("click", function () { editor.focus(); });

  form.addEventListener("submit", function () {
    area.value = editor.innerHTML;
  });
})();
