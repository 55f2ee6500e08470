// The door page: venue staff sign in, choose their venue, and check members in by scanning the
// QR code of their invitation or typing its short code. Plain JavaScript over the GraphQL API at
// /graphql; no build step, nothing loaded from elsewhere.
//
// Without network it keeps going: a scanned pass (a JWT signed with Ed25519 by the loyalty
// service) is verified here with WebCrypto against the keys of /door/keys.json (kept in
// localStorage), accepted provisionally and queued; typed codes are queued unchecked. Back
// online, the queue is uploaded once with redeemInvitations and the settled outcomes shown (the
// server settles each scan once, by this device's id and the scan's id, whatever is resent).
(function () {
  "use strict";

  var STATIC = document.currentScript.src.replace(/door\.js(\?.*)?$/, "");
  var STORE = "door.";
  var RETRY_MS = 15000;
  var SAME_SCAN_MS = 4000;
  var JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

  // ---- words -------------------------------------------------------------------------------

  var WORDS = {
    en: {
      title: "Door",
      email: "Email",
      password: "Password",
      signIn: "Sign in",
      signOut: "Sign out",
      signingIn: "Signing in…",
      notStaff: "This page is for venue staff.",
      chooseVenue: "Where are you?",
      changeVenue: "Change venue",
      noVenue: "Your account has no venue.",
      code: "Code",
      codePlaceholder: "7KQM-X3TD",
      checkIn: "Check in",
      scan: "Scan a QR code",
      stopScan: "Stop the camera",
      noCamera: "No camera here: type the code.",
      online: "Online",
      offline: "Offline",
      waiting: function (n) {
        return n === 1 ? "1 scan waiting for the network" : n + " scans waiting for the network";
      },
      uploaded: "Uploaded",
      checkedIn: "Checked in",
      already: "Already checked in",
      outside: "Door not open",
      wrongVenue: "Wrong venue",
      cancelled: "Cancelled",
      notFound: "Unknown code",
      notAccepted: "No seat held",
      unreadable: "Check the code",
      throttled: "Too many attempts",
      refused: "Refused",
      provisional: "Accepted offline",
      toConfirm: "Queued: confirmed when the network is back.",
      queuedCode: "Queued",
      queuedCodeDetail: "A typed code cannot be checked offline; it is uploaded when the network is back.",
      badPass: "Not a valid pass",
      scannedHere: function (t) {
        return "Scanned on this device at " + t + ".";
      },
      opens: function (a, b) {
        return "The door is open from " + a + " to " + b + ".";
      },
      at: function (t) {
        return "At " + t;
      },
      byYou: "by you",
      byOther: "by another staff account",
      guests: function (n) {
        return n === 0 ? "No guest" : n === 1 ? "+ 1 guest" : "+ " + n + " guests";
      },
      member: "Member",
    },
    fr: {
      title: "Accueil",
      email: "E-mail",
      password: "Mot de passe",
      signIn: "Se connecter",
      signOut: "Se déconnecter",
      signingIn: "Connexion…",
      notStaff: "Cette page est réservée aux équipes des lieux.",
      chooseVenue: "Où êtes-vous ?",
      changeVenue: "Changer de lieu",
      noVenue: "Votre compte n'a aucun lieu.",
      code: "Code",
      codePlaceholder: "7KQM-X3TD",
      checkIn: "Valider l'entrée",
      scan: "Scanner un QR code",
      stopScan: "Arrêter la caméra",
      noCamera: "Pas de caméra ici : saisissez le code.",
      online: "En ligne",
      offline: "Hors ligne",
      waiting: function (n) {
        return n === 1 ? "1 passage en attente du réseau" : n + " passages en attente du réseau";
      },
      uploaded: "Envoyés",
      checkedIn: "Entrée validée",
      already: "Déjà entré",
      outside: "Accueil fermé",
      wrongVenue: "Mauvais lieu",
      cancelled: "Annulée",
      notFound: "Code inconnu",
      notAccepted: "Aucune place réservée",
      unreadable: "Vérifiez le code",
      throttled: "Trop d'essais",
      refused: "Refusé",
      provisional: "Accepté hors ligne",
      toConfirm: "En attente : confirmé au retour du réseau.",
      queuedCode: "En attente",
      queuedCodeDetail: "Un code saisi ne peut pas être vérifié hors ligne ; il sera envoyé au retour du réseau.",
      badPass: "Invitation non valide",
      scannedHere: function (t) {
        return "Déjà scanné sur cet appareil à " + t + ".";
      },
      opens: function (a, b) {
        return "L'accueil est ouvert de " + a + " à " + b + ".";
      },
      at: function (t) {
        return "À " + t;
      },
      byYou: "par vous",
      byOther: "par un autre compte",
      guests: function (n) {
        return n === 0 ? "Sans invité" : n === 1 ? "+ 1 invité" : "+ " + n + " invités";
      },
      member: "Membre",
    },
  };
  var LANG = (navigator.language || "en").toLowerCase().indexOf("fr") === 0 ? "fr" : "en";
  var T = WORDS[LANG];
  var LOCALE = LANG.toUpperCase();

  // ---- GraphQL documents -------------------------------------------------------------------

  var OUTCOME =
    "fragment Outcome on RedeemInvitationResult { __typename" +
    " ... on CheckedIn { invitationId memberName tierName guestsExpected checkedInAt message }" +
    " ... on AlreadyCheckedIn { invitationId memberName checkedInAt checkedInByYou guestsExpected }" +
    " ... on OutsideWindow { doorOpensAt doorClosesAt }" +
    " ... on Throttled { retryAfterSeconds }" +
    " ... on UserError { code message } }";
  var LOGIN =
    "mutation DoorSignIn($input: LoginInput!) { login(input: $input) { __typename" +
    " ... on Session { accessToken refreshToken subjectKind } ... on UserError { code message } } }";
  var REFRESH =
    "mutation DoorRefresh($input: RefreshSessionInput!) { refreshSession(input: $input) {" +
    " __typename ... on Session { accessToken refreshToken subjectKind } } }";
  var VENUES =
    "query DoorVenues($locale: Locale) { experiences(locale: $locale) { venueId venueName } }";
  var REDEEM =
    "mutation DoorCheckIn($input: RedeemInvitationInput!, $locale: Locale) {" +
    " redeemInvitation(input: $input, locale: $locale) { ...Outcome } } " +
    OUTCOME;
  var UPLOAD =
    "mutation DoorUpload($input: RedeemInvitationsInput!, $locale: Locale) {" +
    " redeemInvitations(input: $input, locale: $locale) { results { scanId replayed" +
    " outcome { ...Outcome } } } } " +
    OUTCOME;

  // ---- storage -----------------------------------------------------------------------------

  function load(name, fallback) {
    try {
      var raw = localStorage.getItem(STORE + name);
      return raw === null ? fallback : JSON.parse(raw);
    } catch (e) {
      return fallback;
    }
  }

  function save(name, value) {
    if (value === null || value === undefined) localStorage.removeItem(STORE + name);
    else localStorage.setItem(STORE + name, JSON.stringify(value));
  }

  function newId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.prototype.map
      .call(bytes, function (b) {
        return (b + 256).toString(16).slice(1);
      })
      .join("");
  }

  var device = load("device", null);
  if (!device) {
    device = newId();
    save("device", device);
  }

  // ---- the page's elements -----------------------------------------------------------------

  function el(tag, attributes, children) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) {
      if (name === "text") node.textContent = attributes[name];
      else node.setAttribute(name, attributes[name]);
    });
    (children || []).forEach(function (child) {
      node.appendChild(child);
    });
    return node;
  }

  var root = document.getElementById("door");
  root.textContent = "";

  var status = el("span", { id: "network", class: "pill" });
  var venueLabel = el("span", { id: "venue-name", class: "venue" });
  var changeVenue = el("button", { type: "button", id: "change-venue", class: "link", text: T.changeVenue });
  var signOut = el("button", { type: "button", id: "sign-out", class: "link", text: T.signOut });
  var header = el("header", { class: "bar" }, [
    el("h1", { text: T.title }),
    venueLabel,
    status,
  ]);

  var email = el("input", { id: "email", type: "email", autocomplete: "username", required: "" });
  var password = el("input", {
    id: "password",
    type: "password",
    autocomplete: "current-password",
    required: "",
  });
  var signInError = el("p", { id: "sign-in-error", class: "error", role: "alert" });
  var signInButton = el("button", { type: "submit", class: "primary", text: T.signIn });
  var signIn = el("form", { id: "sign-in", class: "panel" }, [
    el("label", { for: "email", text: T.email }),
    email,
    el("label", { for: "password", text: T.password }),
    password,
    signInButton,
    signInError,
  ]);

  var venueList = el("div", { class: "choices" });
  var venuePanel = el("section", { id: "venues", class: "panel" }, [
    el("h2", { text: T.chooseVenue }),
    venueList,
  ]);

  var result = el("section", { id: "result", class: "result idle", role: "status", "aria-live": "assertive" }, [
    el("p", { class: "verdict" }),
    el("p", { class: "who" }),
    el("p", { class: "guests" }),
    el("p", { class: "detail" }),
  ]);
  var code = el("input", {
    id: "code",
    type: "text",
    inputmode: "text",
    autocomplete: "off",
    autocapitalize: "characters",
    spellcheck: "false",
    placeholder: T.codePlaceholder,
    "aria-label": T.code,
  });
  var codeForm = el("form", { id: "code-form", class: "code" }, [
    code,
    el("button", { type: "submit", class: "primary", text: T.checkIn }),
  ]);
  var cameraButton = el("button", { type: "button", id: "camera", class: "secondary", text: T.scan });
  var video = el("video", { id: "viewfinder", playsinline: "", muted: "", hidden: "" });
  var waiting = el("p", { id: "queue", class: "queue" });
  var settled = el("ol", { id: "settled", class: "settled" });
  var desk = el("section", { id: "desk" }, [
    result,
    codeForm,
    cameraButton,
    video,
    waiting,
    settled,
    el("p", { class: "links" }, [changeVenue, signOut]),
  ]);

  root.appendChild(header);
  root.appendChild(signIn);
  root.appendChild(venuePanel);
  root.appendChild(desk);

  function screen(name) {
    signIn.hidden = name !== "sign-in";
    venuePanel.hidden = name !== "venues";
    desk.hidden = name !== "desk";
    if (name === "desk") code.focus();
  }

  // ---- showing an outcome ------------------------------------------------------------------

  function time(iso) {
    return new Date(iso).toLocaleTimeString(LANG, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  }

  function show(view) {
    result.className = "result " + view.colour + (view.provisional ? " provisional" : "");
    result.setAttribute("data-outcome", view.outcome);
    var parts = result.children;
    parts[0].textContent = view.verdict;
    parts[1].textContent = view.who || "";
    parts[2].textContent = view.guests === undefined || view.guests === null ? "" : T.guests(view.guests);
    parts[3].textContent = view.detail || "";
  }

  function view(outcome) {
    switch (outcome.__typename) {
      case "CheckedIn":
        return {
          colour: "green",
          outcome: "CheckedIn",
          verdict: T.checkedIn,
          who: outcome.memberName || T.member,
          guests: outcome.guestsExpected,
          detail: outcome.tierName || "",
        };
      case "AlreadyCheckedIn":
        return {
          colour: "amber",
          outcome: "AlreadyCheckedIn",
          verdict: T.already,
          who: outcome.memberName || T.member,
          guests: outcome.guestsExpected,
          detail: T.at(time(outcome.checkedInAt)) + ", " + (outcome.checkedInByYou ? T.byYou : T.byOther),
        };
      case "OutsideWindow":
        return {
          colour: "amber",
          outcome: "OutsideWindow",
          verdict: T.outside,
          detail: T.opens(time(outcome.doorOpensAt), time(outcome.doorClosesAt)),
        };
      case "Throttled":
        return { colour: "amber", outcome: "Throttled", verdict: T.throttled, detail: outcome.message };
      case "WrongVenue":
        return { colour: "red", outcome: "WrongVenue", verdict: T.wrongVenue, detail: outcome.message };
      case "InvitationCancelled":
        return { colour: "red", outcome: "InvitationCancelled", verdict: T.cancelled, detail: outcome.message };
      case "NotFound":
        return { colour: "red", outcome: "NotFound", verdict: T.notFound, detail: outcome.message };
      case "InvitationNotAccepted":
        return { colour: "red", outcome: "InvitationNotAccepted", verdict: T.notAccepted, detail: outcome.message };
      case "UnreadableCode":
        return { colour: "red", outcome: "UnreadableCode", verdict: T.unreadable, detail: outcome.message };
      default:
        return { colour: "red", outcome: "Refused", verdict: T.refused, detail: outcome.message || "" };
    }
  }

  // ---- network -----------------------------------------------------------------------------

  function Offline() {}

  var session = load("session", null);

  function claims(token) {
    var part = token.split(".")[1];
    return JSON.parse(new TextDecoder().decode(base64url(part)));
  }

  function base64url(text) {
    var plain = text.replace(/-/g, "+").replace(/_/g, "/");
    while (plain.length % 4) plain += "=";
    var raw = atob(plain);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes;
  }

  async function post(query, variables, token) {
    var headers = { "Content-Type": "application/json", Accept: "application/json" };
    if (token) headers.Authorization = "Bearer " + token;
    var response;
    try {
      response = await fetch(rootPath() + "/graphql", {
        method: "POST",
        headers: headers,
        body: JSON.stringify({ query: query, variables: variables }),
        cache: "no-store",
      });
    } catch (e) {
      throw new Offline();
    }
    if (response.status >= 500) throw new Offline();
    return response.json();
  }

  function rootPath() {
    return location.pathname.replace(/\/door\/?$/, "");
  }

  async function refresh() {
    var body = await post(REFRESH, { input: { refreshToken: session.refreshToken } });
    var answer = body.data && body.data.refreshSession;
    if (!answer || answer.__typename !== "Session") return false;
    keepSession(answer);
    return true;
  }

  // A call as the signed-in staff member; a token about to expire is refreshed first, and an
  // UNAUTHENTICATED answer refreshes it once.
  async function call(query, variables) {
    if (!session) throw new Error("signed out");
    if (claims(session.accessToken).exp * 1000 - Date.now() < 30000) await refresh();
    var body = await post(query, variables, session.accessToken);
    var unauthenticated = (body.errors || []).some(function (e) {
      return e.extensions && e.extensions.code === "UNAUTHENTICATED";
    });
    if (unauthenticated) {
      if (!(await refresh())) {
        endSession();
        throw new Error("signed out");
      }
      body = await post(query, variables, session.accessToken);
    }
    if (body.errors && body.errors.length) {
      var error = new Error(body.errors[0].message);
      error.refusal = body.errors[0];
      throw error;
    }
    return body.data;
  }

  function keepSession(answer) {
    var token = claims(answer.accessToken);
    session = {
      accessToken: answer.accessToken,
      refreshToken: answer.refreshToken,
      kind: answer.subjectKind,
      venues: token.venues || [],
    };
    save("session", session);
  }

  function endSession() {
    session = null;
    save("session", null);
    save("venue", null);
    stopCamera();
    screen("sign-in");
  }

  function online() {
    return navigator.onLine !== false;
  }

  function showNetwork() {
    var up = online();
    status.textContent = up ? T.online : T.offline;
    status.className = "pill " + (up ? "online" : "offline");
    var queue = load("queue", []);
    waiting.textContent = queue.length ? T.waiting(queue.length) : "";
    waiting.hidden = !queue.length;
  }

  // ---- the door-pass keys and offline checks -----------------------------------------------

  async function fetchKeys() {
    if (!online()) return; // the copy kept from before serves
    try {
      var response = await fetch(rootPath() + "/door/keys.json", { cache: "no-store" });
      if (response.ok) save("keys", (await response.json()).keys || []);
    } catch (e) {
      // offline: the copy kept from before serves
    }
  }

  async function verified(token) {
    var parts = token.split(".");
    var header = JSON.parse(new TextDecoder().decode(base64url(parts[0])));
    if (header.alg !== "EdDSA") return null;
    var jwk = load("keys", []).filter(function (k) {
      return k.kid === header.kid && k.kty === "OKP" && k.crv === "Ed25519";
    })[0];
    if (!jwk) return undefined; // no key to check with: cannot tell
    var key = await crypto.subtle.importKey(
      "jwk",
      { kty: "OKP", crv: "Ed25519", x: jwk.x },
      { name: "Ed25519" },
      false,
      ["verify"]
    );
    var signed = new TextEncoder().encode(parts[0] + "." + parts[1]);
    var good = await crypto.subtle.verify({ name: "Ed25519" }, key, base64url(parts[2]), signed);
    return good ? claims(token) : null;
  }

  function remember(invitationId, at) {
    var seen = load("seen", {});
    seen[invitationId] = at;
    var ids = Object.keys(seen);
    if (ids.length > 2000) delete seen[ids[0]];
    save("seen", seen);
  }

  function queue(scan) {
    var waitingScans = load("queue", []);
    waitingScans.push(scan);
    save("queue", waitingScans);
    showNetwork();
  }

  async function offlineToken(token) {
    var pass;
    try {
      pass = await verified(token);
    } catch (e) {
      pass = undefined; // this browser cannot verify Ed25519: queue it unchecked
    }
    var now = new Date();
    if (pass === null || (pass && (pass.iss !== "loyalty" || pass.aud !== "door"))) {
      return show({ colour: "red", outcome: "BadPass", verdict: T.badPass });
    }
    if (pass === undefined) {
      queue({ scanId: newId(), token: token, scannedAt: now.toISOString() });
      return show({ colour: "blue", outcome: "Queued", verdict: T.queuedCode, detail: T.queuedCodeDetail });
    }
    if (pass.venue !== load("venue", null)) {
      return show({ colour: "red", outcome: "WrongVenue", verdict: T.wrongVenue, who: pass.name });
    }
    if (now.getTime() < pass.nbf * 1000 || now.getTime() >= pass.exp * 1000) {
      return show({
        colour: "amber",
        outcome: "OutsideWindow",
        verdict: T.outside,
        who: pass.name,
        detail: T.opens(time(pass.nbf * 1000), time(pass.exp * 1000)),
      });
    }
    var earlier = load("seen", {})[pass.jti];
    if (earlier) {
      return show({
        colour: "amber",
        outcome: "AlreadyCheckedIn",
        verdict: T.already,
        who: pass.name,
        guests: pass.guests,
        detail: T.scannedHere(time(earlier)),
      });
    }
    remember(pass.jti, now.toISOString());
    queue({ scanId: newId(), token: token, scannedAt: now.toISOString() });
    show({
      colour: "green",
      provisional: true,
      outcome: "Provisional",
      verdict: T.provisional,
      who: pass.name || T.member,
      guests: pass.guests,
      detail: T.toConfirm,
    });
  }

  // ---- checking in -------------------------------------------------------------------------

  async function checkIn(raw) {
    var value = raw.trim();
    if (!value) return;
    var scan = JWT.test(value) ? { token: value } : { code: value };
    if (online()) {
      try {
        var input = Object.assign({ venueId: load("venue", null), deviceId: device }, scan);
        var data = await call(REDEEM, { input: input, locale: LOCALE });
        var outcome = data.redeemInvitation;
        if (outcome.invitationId && /CheckedIn$/.test(outcome.__typename)) {
          remember(outcome.invitationId, outcome.checkedInAt);
        }
        show(view(outcome));
        upload();
        return;
      } catch (e) {
        if (!(e instanceof Offline)) {
          if (session) show({ colour: "red", outcome: "Refused", verdict: T.refused, detail: e.message });
          return;
        }
      }
    }
    showNetwork();
    if (scan.token) return offlineToken(scan.token);
    queue({ scanId: newId(), code: scan.code, scannedAt: new Date().toISOString() });
    show({ colour: "blue", outcome: "Queued", verdict: T.queuedCode, detail: T.queuedCodeDetail });
  }

  var uploading = null;

  // Sends the queued scans once; each settled scan leaves the queue. Never two uploads at once.
  function upload() {
    if (uploading) return uploading;
    var scans = load("queue", []);
    if (!scans.length || !session || !online()) return Promise.resolve();
    uploading = (async function () {
      try {
        var input = {
          deviceId: device,
          venueId: load("venue", null),
          scans: scans.map(function (s) {
            return { scanId: s.scanId, code: s.code, token: s.token, scannedAt: s.scannedAt };
          }),
        };
        var data = await call(UPLOAD, { input: input, locale: LOCALE });
        var done = {};
        data.redeemInvitations.results.forEach(function (r) {
          done[r.scanId] = true;
          var v = view(r.outcome);
          if (r.outcome.invitationId) remember(r.outcome.invitationId, r.outcome.checkedInAt);
          var item = el("li", { class: v.colour, "data-outcome": v.outcome }, [
            el("span", { class: "verdict", text: v.verdict }),
            el("span", { class: "who", text: v.who || v.detail || "" }),
          ]);
          settled.insertBefore(item, settled.firstChild);
        });
        save(
          "queue",
          load("queue", []).filter(function (s) {
            return !done[s.scanId];
          })
        );
        settled.setAttribute("data-uploads", String(Number(settled.getAttribute("data-uploads") || 0) + 1));
      } catch (e) {
        // offline again, or refused: the queue stays and is sent later
      } finally {
        uploading = null;
        showNetwork();
      }
    })();
    return uploading;
  }

  // ---- the camera --------------------------------------------------------------------------

  var stream = null;
  var detector = null;
  var canvas = null;
  var lastValue = null;
  var lastAt = 0;

  function loadDecoder() {
    if (window.jsQR) return Promise.resolve();
    return new Promise(function (resolve, reject) {
      var script = el("script", { src: STATIC + "vendor/jsqr/jsQR.js" });
      script.onload = resolve;
      script.onerror = reject;
      document.head.appendChild(script);
    });
  }

  async function startCamera() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      return show({ colour: "blue", outcome: "NoCamera", verdict: T.noCamera });
    }
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        video: { facingMode: "environment" },
        audio: false,
      });
    } catch (e) {
      stream = null;
      return show({ colour: "blue", outcome: "NoCamera", verdict: T.noCamera });
    }
    video.srcObject = stream;
    video.hidden = false;
    cameraButton.textContent = T.stopScan;
    await video.play();
    detector = null;
    if ("BarcodeDetector" in window) {
      try {
        var formats = await window.BarcodeDetector.getSupportedFormats();
        if (formats.indexOf("qr_code") >= 0) detector = new window.BarcodeDetector({ formats: ["qr_code"] });
      } catch (e) {
        detector = null;
      }
    }
    if (!detector) await loadDecoder();
    look();
  }

  function stopCamera() {
    if (stream) stream.getTracks().forEach(function (t) {
      t.stop();
    });
    stream = null;
    video.hidden = true;
    cameraButton.textContent = T.scan;
  }

  async function read() {
    if (detector) {
      var found = await detector.detect(video);
      return found.length ? found[0].rawValue : null;
    }
    var width = video.videoWidth;
    var height = video.videoHeight;
    if (!width || !height) return null;
    var scale = Math.min(1, 960 / width);
    canvas = canvas || document.createElement("canvas");
    canvas.width = Math.round(width * scale);
    canvas.height = Math.round(height * scale);
    var context = canvas.getContext("2d", { willReadFrequently: true });
    context.drawImage(video, 0, 0, canvas.width, canvas.height);
    var image = context.getImageData(0, 0, canvas.width, canvas.height);
    var decoded = window.jsQR(image.data, canvas.width, canvas.height, { inversionAttempts: "attemptBoth" });
    return decoded ? decoded.data : null;
  }

  async function look() {
    if (!stream) return;
    try {
      var value = await read();
      var now = Date.now();
      if (value && !(value === lastValue && now - lastAt < SAME_SCAN_MS)) {
        lastValue = value;
        lastAt = now;
        await checkIn(value);
      }
    } catch (e) {
      // a frame that cannot be read: try the next one
    }
    setTimeout(look, 150);
  }

  // ---- venues ------------------------------------------------------------------------------

  async function chooseVenue() {
    var names = load("venueNames", {});
    try {
      var data = await call(VENUES, { locale: LOCALE });
      data.experiences.forEach(function (e) {
        if (e.venueName) names[e.venueId] = e.venueName;
      });
      save("venueNames", names);
    } catch (e) {
      // offline: the names kept from before serve
    }
    var venues = session.venues;
    if (venues.length === 1) return enter(venues[0]);
    venueList.textContent = "";
    if (!venues.length) venueList.appendChild(el("p", { text: T.noVenue }));
    venues.forEach(function (id) {
      var button = el("button", { type: "button", class: "secondary", "data-venue": id, text: names[id] || id });
      button.addEventListener("click", function () {
        enter(id);
      });
      venueList.appendChild(button);
    });
    screen("venues");
  }

  function enter(venueId) {
    save("venue", venueId);
    venueLabel.textContent = load("venueNames", {})[venueId] || "";
    changeVenue.hidden = session.venues.length < 2;
    screen("desk");
    upload();
  }

  // ---- wiring ------------------------------------------------------------------------------

  signIn.addEventListener("submit", async function (event) {
    event.preventDefault();
    signInError.textContent = "";
    signInButton.disabled = true;
    signInButton.textContent = T.signingIn;
    try {
      var body = await post(LOGIN, {
        input: { email: email.value, password: password.value, portal: "STAFF" },
      });
      var answer = body.data && body.data.login;
      if (!answer || answer.__typename !== "Session") {
        signInError.textContent = (answer && answer.message) || (body.errors && body.errors[0].message) || "";
        return;
      }
      if (answer.subjectKind !== "staff") {
        signInError.textContent = T.notStaff;
        return;
      }
      keepSession(answer);
      password.value = "";
      await fetchKeys();
      await chooseVenue();
    } catch (e) {
      signInError.textContent = T.offline;
    } finally {
      signInButton.disabled = false;
      signInButton.textContent = T.signIn;
    }
  });

  codeForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var value = code.value;
    code.value = "";
    checkIn(value).then(function () {
      code.focus();
    });
  });

  cameraButton.addEventListener("click", function () {
    if (stream) stopCamera();
    else startCamera();
  });
  changeVenue.addEventListener("click", function () {
    chooseVenue();
  });
  signOut.addEventListener("click", endSession);
  window.addEventListener("online", function () {
    showNetwork();
    fetchKeys();
    upload();
  });
  window.addEventListener("offline", showNetwork);
  setInterval(function () {
    if (session && load("queue", []).length) upload();
  }, RETRY_MS);

  if ("serviceWorker" in navigator) {
    navigator.serviceWorker
      .register(rootPath() + "/door/sw.js", { scope: rootPath() + "/door" })
      .catch(function () {
        // without it the page works as long as it stays open
      });
  }

  document.documentElement.lang = LANG;
  showNetwork();
  if (!session) screen("sign-in");
  else {
    fetchKeys();
    if (load("venue", null)) enter(load("venue", null));
    else chooseVenue();
  }
})();
