/*
 * kefu operator console: the queue of conversations handed to people, take-over, replies, hand-back,
 * and the analytics figures. The operator key stays in this tab (sessionStorage); a link may carry it
 * in its fragment (#key=...), which browsers never send to the server.
 */
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var KEY_STORE = "kefu.operatorKey";
  var state = { key: null, me: null, filter: "queued,held", current: null, lastId: 0, conv: null, timers: [] };

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }

  function api(method, path, body) {
    var init = { method: method, headers: { "X-API-Key": state.key } };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers["Content-Type"] = "application/json";
    }
    return fetch(path, init).then(function (r) {
      return r.json().then(function (data) {
        if (!r.ok) throw new Error((data.error && data.error.message) || "HTTP " + r.status);
        return data;
      });
    });
  }

  // ---- sign in ---------------------------------------------------------------------------------
  function signIn(key) {
    state.key = key;
    return api("GET", "/v1/console/me").then(function (me) {
      state.me = me.name;
      try { sessionStorage.setItem(KEY_STORE, key); } catch (e) { /* ignore */ }
      $("login").hidden = true;
      $("app").hidden = false;
      $("me").textContent = "Signed in as " + me.name;
      start();
    });
  }

  $("login-form").addEventListener("submit", function (e) {
    e.preventDefault();
    $("login-error").textContent = "";
    signIn($("key").value.trim()).catch(function (err) { $("login-error").textContent = err.message; });
  });
  $("logout").addEventListener("click", function () {
    try { sessionStorage.removeItem(KEY_STORE); } catch (e) { /* ignore */ }
    location.hash = "";
    location.reload();
  });

  // ---- the queue -------------------------------------------------------------------------------
  function loadQueue() {
    var q = state.filter ? "?status=" + state.filter : "";
    return api("GET", "/v1/console/conversations" + q).then(function (list) {
      var ul = $("conversations");
      ul.textContent = "";
      if (!list.length) ul.appendChild(el("li", "muted", state.filter ? "Nobody is waiting." : "No conversations yet."));
      list.forEach(function (c) {
        var li = el("li", c.session_id === state.current ? "sel" : null);
        li.setAttribute("data-session", c.session_id);
        var top = el("div");
        top.appendChild(el("span", "sid", c.customer_id || c.session_id));
        top.appendChild(el("span", "badge " + c.status, c.status === "held" ? "held by " + c.operator : c.status));
        li.appendChild(top);
        li.appendChild(el("div", "preview", c.last_text || ""));
        if (c.handoff_reason && c.status !== "bot") li.appendChild(el("div", "preview", "↳ " + c.handoff_reason));
        li.addEventListener("click", function () { openConversation(c.session_id); });
        ul.appendChild(li);
      });
    }).catch(function () { /* next tick */ });
  }

  Array.prototype.forEach.call(document.querySelectorAll(".tab"), function (tab) {
    tab.addEventListener("click", function () {
      Array.prototype.forEach.call(document.querySelectorAll(".tab"), function (t) { t.classList.remove("on"); });
      tab.classList.add("on");
      state.filter = tab.getAttribute("data-filter");
      loadQueue();
    });
  });

  // ---- one conversation ------------------------------------------------------------------------
  function renderHead(conv) {
    var head = $("conv-head");
    head.textContent = "";
    var title = el("span", "title", conv.customer_id ? "Customer " + conv.customer_id : "Anonymous customer");
    head.appendChild(title);
    head.appendChild(el("span", "muted", conv.session_id));
    head.appendChild(el("span", "badge " + conv.status, conv.status === "held" ? "held by " + conv.operator : conv.status));
    var mine = conv.status === "held" && conv.operator === state.me;
    if (!mine) {
      var take = el("button", null, "Take over");
      take.id = "take";
      take.disabled = conv.status === "held";
      take.addEventListener("click", function () {
        api("POST", "/v1/console/conversations/" + encodeURIComponent(conv.session_id) + "/take")
          .then(function () { refreshConversation(); loadQueue(); })
          .catch(function (e) { alert(e.message); });
      });
      head.appendChild(take);
    } else {
      var back = el("button", "secondary", "Hand back to the assistant");
      back.id = "release";
      back.addEventListener("click", function () {
        api("POST", "/v1/console/conversations/" + encodeURIComponent(conv.session_id) + "/release")
          .then(function () { refreshConversation(); loadQueue(); loadAnalytics(); })
          .catch(function (e) { alert(e.message); });
      });
      head.appendChild(back);
    }
    $("reply-form").hidden = !mine;
  }

  function renderMessage(m) {
    var box = el("div", "m " + m.author);
    box.setAttribute("data-id", m.id);
    var who = { customer: "Customer", assistant: "Assistant", operator: m.operator || "Operator", system: "" }[m.author];
    if (who) box.appendChild(el("div", "who", who + (m.intent ? " · " + m.intent : "")));
    box.appendChild(el("div", "text", m.text));
    if (m.tool_calls && m.tool_calls.length) {
      var d = el("details", "tools");
      d.appendChild(el("summary", null, m.tool_calls.length + " tool call" + (m.tool_calls.length > 1 ? "s" : "") + ": " +
        m.tool_calls.map(function (c) { return c.name; }).join(", ")));
      m.tool_calls.forEach(function (c) {
        var body = c.name + "(" + JSON.stringify(c.args) + ")\n→ " + (c.error ? "error: " + c.error : c.result);
        d.appendChild(el("div", "tool" + (c.error ? " err" : ""), body));
      });
      box.appendChild(d);
    }
    (m.safety || []).forEach(function (v) {
      var tripped = v.tripped || v.action === "refuse" || v.action === "escalate" || v.passed === false;
      var label = (v.check || v.name || v.validator || "safety") + ": " + (v.action || (tripped ? "flagged" : "pass"));
      box.appendChild(el("span", "verdict" + (tripped ? " trip" : ""), label));
    });
    if (m.recommendations && m.recommendations.length) {
      box.appendChild(el("div", "chips", "Suggested: " + m.recommendations.map(function (r) { return r.name; }).join(", ")));
    }
    if (m.sources && m.sources.length) {
      box.appendChild(el("div", "chips", "Sources: " + m.sources.map(function (s) { return s.title || s.source_id || s.id; }).join(", ")));
    }
    if (m.rating) box.appendChild(el("div", "chips", m.rating > 0 ? "Rated 👍" : "Rated 👎"));
    return box;
  }

  function openConversation(sessionId) {
    state.current = sessionId;
    state.lastId = 0;
    $("transcript").textContent = "";
    Array.prototype.forEach.call(document.querySelectorAll(".list li"), function (li) {
      li.classList.toggle("sel", li.getAttribute("data-session") === sessionId);
    });
    return refreshConversation();
  }

  function refreshConversation() {
    if (!state.current) return Promise.resolve();
    var sid = state.current;
    return api("GET", "/v1/console/conversations/" + encodeURIComponent(sid)).then(function (h) {
      if (sid !== state.current) return;
      var key = JSON.stringify([h.conversation.status, h.conversation.operator, h.conversation.customer_id]);
      if (key !== state.conv) { state.conv = key; renderHead(h.conversation); }
      var t = $("transcript");
      var fresh = h.messages.filter(function (m) { return m.id > state.lastId; });
      fresh.forEach(function (m) { t.appendChild(renderMessage(m)); state.lastId = m.id; });
      if (fresh.length) t.scrollTop = t.scrollHeight;
    }).catch(function () { /* next tick */ });
  }

  $("reply-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var text = $("reply-text").value.trim();
    if (!text || !state.current) return;
    api("POST", "/v1/console/conversations/" + encodeURIComponent(state.current) + "/messages", { text: text })
      .then(function () { $("reply-text").value = ""; refreshConversation(); })
      .catch(function (err) { alert(err.message); });
  });
  $("reply-text").addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); $("reply-form").requestSubmit(); }
  });

  // ---- analytics -------------------------------------------------------------------------------
  function stat(value, label, cls) {
    var s = el("div", "stat" + (cls ? " " + cls : ""));
    s.appendChild(el("div", "v", value));
    s.appendChild(el("div", "k", label));
    return s;
  }

  function pct(x) { return x === null || x === undefined ? "–" : Math.round(x * 1000) / 10 + "%"; }

  function loadAnalytics() {
    return api("GET", "/v1/console/analytics").then(function (a) {
      var box = $("analytics");
      box.textContent = "";
      box.appendChild(stat(String(a.conversations), "conversations"));
      box.appendChild(stat(String(a.by_status.queued + a.by_status.held), "with people now"));
      box.appendChild(stat(pct(a.escalation.rate), "escalation rate"));
      box.appendChild(stat(pct(a.recommendations.acceptance_rate),
        "suggestions taken (" + a.recommendations.accepted + "/" + a.recommendations.shown + ")"));
      box.appendChild(stat(pct(a.ratings.satisfaction), "satisfaction (👍 " + a.ratings.up + " / 👎 " + a.ratings.down + ")"));
      if (a.sentiment && a.sentiment.turns) {
        var days = a.sentiment.by_day.slice(-7).map(function (d) {
          return d.day.slice(5) + " " + (d.mean_score >= 0 ? "+" : "") + d.mean_score.toFixed(2);
        });
        box.appendChild(stat(pct(a.sentiment.negative), "negative customer messages; mood by day: " + days.join(", "), "wide"));
      }
      var intents = stat("", "customer messages by intent", "wide");
      intents.firstChild.remove();
      var bars = el("div", "bars");
      var entries = Object.keys(a.by_intent).map(function (k) { return [k, a.by_intent[k]]; }).slice(0, 6);
      var max = Math.max.apply(null, entries.map(function (e) { return e[1]; }).concat([1]));
      entries.forEach(function (e) {
        var row = el("div", "b");
        row.appendChild(el("span", null, e[0]));
        var fill = el("span", "fill");
        fill.style.width = Math.max(4, Math.round(160 * e[1] / max)) + "px";
        row.appendChild(fill);
        row.appendChild(el("span", null, String(e[1])));
        bars.appendChild(row);
      });
      intents.insertBefore(bars, intents.firstChild);
      box.appendChild(intents);
    }).catch(function () { /* next tick */ });
  }

  function start() {
    loadQueue();
    loadAnalytics();
    state.timers.push(setInterval(loadQueue, 2000));
    state.timers.push(setInterval(refreshConversation, 1500));
    state.timers.push(setInterval(loadAnalytics, 10000));
  }

  // ---- boot ------------------------------------------------------------------------------------
  var fromHash = /(?:^#|&)key=([^&]+)/.exec(location.hash);
  var saved = null;
  try { saved = sessionStorage.getItem(KEY_STORE); } catch (e) { /* ignore */ }
  var key = fromHash ? decodeURIComponent(fromHash[1]) : saved;
  if (fromHash) history.replaceState(null, "", location.pathname);
  if (key) signIn(key).catch(function (err) { $("login-error").textContent = err.message; });
})();
