// The local stack's stand-in for RepoTrackr's front end after a GitHub App installation:
// GitHub sent the browser here with installation_id, setup_action, state and code in the
// query; the page relays them to the API's install callback with the signed-in user's
// bearer token, which the API checks against the user the state was issued to.
(function () {
  "use strict";
  var storageKey = "repotrackr-local-token";
  var status = document.getElementById("status");
  var form = document.getElementById("token-form");

  function show(state, text) {
    status.setAttribute("data-state", state);
    status.textContent = text; // never HTML: the API's reasons are shown as text
  }

  // The token comes in the URL fragment (which browsers keep across GitHub's redirect and
  // never send to a server), or from this tab's session, or is asked for.
  var fragment = new URLSearchParams(window.location.hash.slice(1));
  var token = fragment.get("token") || window.sessionStorage.getItem(storageKey);
  if (fragment.has("token")) {
    window.sessionStorage.setItem(storageKey, token);
    window.history.replaceState(null, "", window.location.pathname + window.location.search);
  }

  function describe(body) {
    switch (body.status) {
      case "success":
        return "Installation " + body.installation_id + " is linked to your RepoTrackr account.";
      case "requested":
      case "updated":
        return body.message || body.status;
    }
    return "Done.";
  }

  function relay(token) {
    show("pending", "Relaying GitHub's answer to the RepoTrackr API…");
    fetch("/auth/github/install" + window.location.search, {
      headers: { "Authorization": "Bearer " + token, "Accept": "application/json" },
      credentials: "omit",
      cache: "no-store"
    }).then(function (resp) {
      return resp.json().catch(function () { return {}; }).then(function (body) {
        if (resp.ok) {
          show("success", describe(body));
        } else {
          show("error", "The API refused (" + resp.status + "): " + (body.error || body.message || "no reason given"));
        }
      });
    }).catch(function (err) {
      show("error", "The API did not answer: " + err);
    });
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var t = document.getElementById("token").value.trim();
    if (t) {
      window.sessionStorage.setItem(storageKey, t);
      form.hidden = true;
      relay(t);
    }
  });

  if (token) {
    relay(token);
  } else {
    form.hidden = false;
    show("need-token", "Sign in: paste your bearer token to finish linking the installation.");
  }
})();
