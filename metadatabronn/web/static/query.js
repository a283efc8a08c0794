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
  // Set on the defaults themselves: YASGUI merges arrays index by index, so a shorter list in
  // the options would keep the tail of the stock one.
  Yasqe.defaults.autocompleters = ["localPrefixes", "variables"];
  Yasgui.defaults.yasqe.autocompleters = ["localPrefixes", "variables"];

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
