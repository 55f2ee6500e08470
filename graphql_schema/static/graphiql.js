// GraphiQL with the explorer plugin, on the builds the gateway serves itself (static/vendor/).
// Requests go to this very address (/graphql); headers such as
// {"Authorization": "Bearer …"} or {"X-API-Key": "…"} go in the Headers tab.
(function () {
  "use strict";

  var WELCOME = [
    "# The loyalty platform's GraphQL API. The rulebook is public:",
    "",
    "{ rewardRules(locale: EN) { version rules { title description } } }",
    "",
  ].join("\n");

  var root = document.getElementById("graphiql");
  var fetcher = GraphiQL.createFetcher({ url: window.location.pathname });
  var explorer = GraphiQLPluginExplorer.explorerPlugin();

  ReactDOM.createRoot(root).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      plugins: [explorer],
      defaultQuery: WELCOME,
      defaultEditorToolsVisibility: true,
    })
  );
})();
