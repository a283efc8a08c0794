// The query page: YASGUI bound to this server's own SPARQL endpoint, and the example queries.
// The page's HTML carries the configuration (endpoint path, prefixes, examples) as JSON, so the
// queries are written once, on the server.
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("page-config").textContent);
  // Relative to wherever the page was loaded from, so the same page works on any host and port.
  var endpoint = new URL(config.endpoint, location.href).href;
  document.getElementById("endpoint").textContent = endpoint;

  var Yasqe = Yasgui.Yasqe;
  // YASQE's own prefix and term completers fetch lists from prefix.cc and LOV; the page must
  // make no request outside its server, so it completes the prefixes it knows, and variables.
  var prefixLines = Object.keys(config.prefixes).map(function (p) {
    return p + ": <" + config.prefixes[p] + ">";
  });
  Yasqe.forkAutocompleter("prefixes", { name: "localPrefixes", get: prefixLines, persistenceId: null }, false);

  // Labels of the vocabularies' terms by prefixed name ("rdaw:P10061": {en: "has author agent"}),
  // from this server: shown on hover over a name in the editor and beside each completion, whose
  // lists of properties and classes are the labelled terms (full IRIs: YASQE writes them with
  // the query's own prefixes).
  var labels = {};
  var fullIris = { property: [], class: [] };
  function labelOf(name) {
    var entry = labels[name];
    if (!entry) return "";
    var nb = entry.nb && entry.nb !== entry.en ? " (" + entry.nb + ")" : "";
    return (entry.en || entry.nb) + nb;
  }
  function prefixed(token) {
    var m = /^<(.*)>$/.exec(token);
    if (!m) return token;
    for (var p in config.prefixes) {
      var ns = config.prefixes[p];
      if (m[1].indexOf(ns) === 0) return p + ":" + m[1].slice(ns.length);
    }
    return token;
  }
  // Asked at each completion (not "bulk"), so the labels may arrive after the editor starts.
  function completer(kind) {
    return function (yasqe, token) {
      var typed = (token && (token.autocompletionString || token.string)) || "";
      return fullIris[kind].filter(function (iri) { return iri.indexOf(typed) === 0; }).slice(0, 100);
    };
  }
  Yasqe.forkAutocompleter("property", { name: "localProperties", bulk: false, get: completer("property"), persistenceId: null }, false);
  Yasqe.forkAutocompleter("class", { name: "localClasses", bulk: false, get: completer("class"), persistenceId: null }, false);
  var completers = ["localPrefixes", "localProperties", "localClasses", "variables"];
  // Set on the defaults themselves: YASGUI merges arrays index by index, so a shorter list in
  // the options would keep the tail of the stock one.
  Yasqe.defaults.autocompleters = completers;
  Yasgui.defaults.yasqe.autocompleters = completers;

  // Functions in requestConfig are asked at every query and win over what a tab has stored, so
  // a tab saved in this browser, or opened from a shared link naming another endpoint, still
  // queries this server.
  var yasgui = new Yasgui(document.getElementById("yasgui"), {
    persistenceId: "metadatabronn-query",
    copyEndpointOnNewTab: false,
    endpointCatalogueOptions: { getData: function () { return []; } },
    populateFromUrl: function (tab) {
      tab.requestConfig.endpoint = endpoint;
      return tab;
    },
    requestConfig: {
      endpoint: function () { return endpoint; },
      method: function () { return "POST"; },
      acceptHeaderSelect: "application/sparql-results+json,*/*;q=0.9",
      acceptHeaderGraph: "text/turtle,*/*;q=0.9",
    },
    yasqe: { value: config.starter },
  });

  // Labels: fetched once; completions and hovers use them as soon as they are there.
  fetch(new URL(config.labels, location.href).href)
    .then(function (r) { return r.ok ? r.json() : {}; })
    .then(function (found) {
      labels = found || {};
      Object.keys(labels).forEach(function (name) {
        var colon = name.indexOf(":");
        var iri = config.prefixes[name.slice(0, colon)] + name.slice(colon + 1);
        (/^[a-z]+:C\d+$/.test(name) ? fullIris["class"] : fullIris.property).push(iri);
      });
      document.body.setAttribute("data-labels", String(Object.keys(labels).length));
    })
    .catch(function () {});

  // Hover: the label of the prefixed name (or full IRI) under the pointer, as the editor's title.
  var editorBox = document.getElementById("yasgui");
  editorBox.addEventListener("mousemove", function (event) {
    var cmElement = event.target.closest && event.target.closest(".CodeMirror");
    if (!cmElement || !cmElement.CodeMirror) return;
    var cm = cmElement.CodeMirror;
    var pos = cm.coordsChar({ left: event.clientX, top: event.clientY }, "window");
    var token = cm.getTokenAt(pos, true);
    var text = labelOf(prefixed(token && token.string ? token.string.trim() : ""));
    if (cmElement.title !== text) cmElement.title = text;
  });

  // Completions: each suggestion of a labelled name shows its label beside it.
  new MutationObserver(function (changes) {
    changes.forEach(function (change) {
      change.addedNodes.forEach(function (node) {
        if (!node.querySelectorAll) return;
        node.querySelectorAll("li.CodeMirror-hint").forEach(function (li) {
          if (li.querySelector(".hint-label")) return;
          var text = labelOf(prefixed(li.textContent.trim()));
          if (!text) return;
          var span = document.createElement("span");
          span.className = "hint-label";
          span.textContent = " — " + text;
          li.appendChild(span);
          li.title = text;
        });
      });
    });
  }).observe(document.body, { childList: true, subtree: true });

  var select = document.getElementById("example");
  var note = document.getElementById("example-note");

  function showNote() {
    var example = config.examples[Number(select.value) - 1];
    note.textContent = example ? example.note : "";
  }

  function loadExample(n, run) {
    var example = config.examples[n - 1];
    if (!example) return;
    select.value = String(n);
    showNote();
    var tab = yasgui.getTab() || yasgui.addTab(true);
    tab.setQuery(example.query);
    if (run) {
      // A failed query is shown in the results pane; nothing more to do with it here.
      tab.query().catch(function () {});
    }
  }

  select.addEventListener("change", showNote);
  document.getElementById("run-example").addEventListener("click", function () {
    loadExample(Number(select.value), true);
  });

  var params = new URLSearchParams(location.search);
  if (params.has("example")) {
    loadExample(Number(params.get("example")), params.get("run") === "1");
  }
})();
