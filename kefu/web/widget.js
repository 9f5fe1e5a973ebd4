/*
 * kefu chat widget: one <script> tag on a shop's page.
 *
 *   <script src="https://HOST/static/widget.js" data-kefu-key="PUBLISHABLE_WIDGET_KEY" defer></script>
 *
 * Optional attributes: data-kefu-server (API base URL; default: where this script comes from),
 * data-kefu-customer-token (a signed-in customer, see docs/service.md), data-kefu-title,
 * data-kefu-open="true" (open at load). window.Kefu offers open(), close(), send(text),
 * setCustomerToken(token) and reset() (forget the conversation).
 *
 * Everything the server sends is shown with textContent: no HTML from a reply is ever parsed.
 */
(function () {
  "use strict";
  if (window.Kefu && window.Kefu.version) return; // loaded twice

  var script = document.currentScript;
  var attr = function (name, fallback) {
    var v = script && script.getAttribute(name);
    return v === null || v === undefined || v === "" ? fallback : v;
  };
  var scriptOrigin = script && script.src ? new URL(script.src, location.href).origin : location.origin;
  var config = {
    key: attr("data-kefu-key", ""),
    server: attr("data-kefu-server", scriptOrigin).replace(/\/+$/, ""),
    token: attr("data-kefu-customer-token", null),
    title: attr("data-kefu-title", "Customer service"),
    open: attr("data-kefu-open", "false") === "true",
  };
  var STORE_KEY = "kefu.session." + config.server;
  var POLL_MS = 2000;

  var CSS = [
    ":host{all:initial}",
    "*{box-sizing:border-box;font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}",
    ".launcher{position:fixed;right:24px;bottom:24px;width:60px;height:60px;border-radius:50%;border:0;",
    "background:#1f6feb;color:#fff;font-size:28px;cursor:pointer;box-shadow:0 6px 20px rgba(0,0,0,.25);z-index:2147483000}",
    ".panel{position:fixed;right:24px;bottom:96px;width:380px;max-width:calc(100vw - 32px);height:560px;",
    "max-height:calc(100vh - 120px);background:#fff;border-radius:14px;box-shadow:0 12px 40px rgba(0,0,0,.28);",
    "display:none;flex-direction:column;overflow:hidden;z-index:2147483000;color:#1d2330;font-size:14px}",
    ".panel.open{display:flex}",
    ".head{background:#1f6feb;color:#fff;padding:12px 14px;display:flex;align-items:center;gap:8px}",
    ".head .title{font-weight:600;font-size:15px;flex:1}",
    ".head .status{font-size:12px;opacity:.9}",
    ".head button{background:transparent;border:0;color:#fff;font-size:20px;cursor:pointer;line-height:1}",
    ".log{flex:1;overflow-y:auto;padding:12px;background:#f5f7fb;display:flex;flex-direction:column;gap:8px}",
    ".msg{max-width:85%;padding:8px 11px;border-radius:12px;white-space:pre-wrap;word-wrap:break-word;line-height:1.4}",
    ".msg.customer{align-self:flex-end;background:#1f6feb;color:#fff;border-bottom-right-radius:4px}",
    ".msg.assistant,.msg.operator{align-self:flex-start;background:#fff;border:1px solid #e1e5ee;border-bottom-left-radius:4px}",
    ".msg.operator{border-color:#f0b429;background:#fffaf0}",
    ".who{font-size:11px;color:#6b7385;margin-bottom:2px;font-weight:600}",
    ".msg.system{align-self:center;background:transparent;color:#6b7385;font-size:12px;font-style:italic;text-align:center}",
    ".typing{color:#6b7385;font-style:italic}",
    ".cards{display:flex;gap:8px;overflow-x:auto;margin-top:8px;padding-bottom:4px}",
    ".card{min-width:150px;max-width:170px;border:1px solid #dde3ef;border-radius:10px;padding:8px;background:#fff;",
    "cursor:pointer;text-align:left;font-size:12px;color:#1d2330}",
    ".card:hover{border-color:#1f6feb}",
    ".card .name{font-weight:600;font-size:13px}.card .price{color:#1f6feb;margin:2px 0}.card .why{color:#6b7385}",
    ".sources{margin-top:6px;font-size:12px}.sources a{color:#1f6feb;margin-right:8px}",
    ".rate{margin-top:4px;display:flex;gap:4px}",
    ".rate button{border:1px solid #dde3ef;background:#fff;border-radius:6px;cursor:pointer;font-size:12px;padding:1px 6px}",
    ".rate button.on{background:#e7f0ff;border-color:#1f6feb}",
    ".foot{border-top:1px solid #e1e5ee;padding:8px;display:flex;flex-direction:column;gap:6px;background:#fff}",
    ".row{display:flex;gap:6px}",
    "textarea{flex:1;resize:none;height:40px;border:1px solid #cfd6e4;border-radius:8px;padding:8px;font-size:14px}",
    ".send{background:#1f6feb;color:#fff;border:0;border-radius:8px;padding:0 14px;cursor:pointer;font-size:14px}",
    ".send:disabled{opacity:.5;cursor:default}",
    ".person{background:transparent;border:0;color:#1f6feb;cursor:pointer;font-size:12px;align-self:flex-start;padding:0}",
    ".person:disabled{color:#9aa3b5;cursor:default}",
  ].join("\n");

  // ---- DOM -------------------------------------------------------------------------------------
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }

  var host = el("div");
  host.id = "kefu-widget";
  var root = host.attachShadow({ mode: "open" });
  var style = el("style");
  style.textContent = CSS;
  root.appendChild(style);

  var launcher = el("button", "launcher", "💬");
  launcher.setAttribute("aria-label", "Chat with us");
  launcher.setAttribute("part", "launcher");
  var panel = el("div", "panel");
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-label", config.title);
  var head = el("div", "head");
  var title = el("div", "title", config.title);
  var statusLine = el("div", "status", "");
  var closeBtn = el("button", null, "×");
  closeBtn.setAttribute("aria-label", "Close");
  head.appendChild(title);
  head.appendChild(statusLine);
  head.appendChild(closeBtn);
  var log = el("div", "log");
  log.setAttribute("aria-live", "polite");
  var foot = el("div", "foot");
  var personBtn = el("button", "person", "Talk to a person");
  var row = el("div", "row");
  var input = el("textarea");
  input.setAttribute("placeholder", "Type your message…");
  input.setAttribute("aria-label", "Message");
  input.maxLength = 4000;
  var sendBtn = el("button", "send", "Send");
  row.appendChild(input);
  row.appendChild(sendBtn);
  foot.appendChild(personBtn);
  foot.appendChild(row);
  panel.appendChild(head);
  panel.appendChild(log);
  panel.appendChild(foot);
  root.appendChild(launcher);
  root.appendChild(panel);

  // ---- state -----------------------------------------------------------------------------------
  var state = {
    sessionId: null,
    status: "bot",
    lastId: 0,
    shown: {}, // message ids already on screen
    busy: false,
    pollTimer: null,
    started: false,
  };

  function headers(extra) {
    var h = { "X-API-Key": config.key };
    if (config.token) h["X-Kefu-Customer-Token"] = config.token;
    for (var k in extra || {}) h[k] = extra[k];
    return h;
  }

  function api(method, path, body, extraHeaders) {
    var init = { method: method, headers: headers(extraHeaders) };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers["Content-Type"] = "application/json";
    }
    return fetch(config.server + path, init).then(function (r) {
      if (r.ok) return (r.headers.get("content-type") || "").indexOf("json") >= 0 ? r.json() : r;
      return r.json().then(
        function (e) { throw new Error((e.error && e.error.message) || "HTTP " + r.status); },
        function () { throw new Error("HTTP " + r.status); }
      );
    });
  }

  function setStatus(status) {
    state.status = status;
    statusLine.textContent = status === "held" ? "with a person" : status === "queued" ? "waiting for a person" : "";
    personBtn.disabled = status !== "bot";
    personBtn.textContent = status === "bot" ? "Talk to a person" : "A person is on the way";
    if (status === "bot") stopPolling();
    else startPolling();
  }

  function scroll() { log.scrollTop = log.scrollHeight; }

  // ---- rendering -------------------------------------------------------------------------------
  function bubble(author, text, operator) {
    var b = el("div", "msg " + author);
    if (author === "operator") b.appendChild(el("div", "who", operator || "Our team"));
    var body = el("div", "body", text);
    b.appendChild(body);
    log.appendChild(b);
    scroll();
    return b;
  }

  function safeUrl(u) {
    try {
      var url = new URL(u, location.href);
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch (e) { return null; }
  }

  function decorate(b, m) {
    if (m.sources && m.sources.length) {
      var s = el("div", "sources");
      s.appendChild(document.createTextNode("Sources: "));
      m.sources.forEach(function (src) {
        var label = src.title || src.source_id || src.id || "source";
        var href = src.url ? safeUrl(src.url) : null;
        var a = el(href ? "a" : "span", null, label);
        if (href) { a.href = href; a.target = "_blank"; a.rel = "noopener noreferrer"; }
        s.appendChild(a);
      });
      b.appendChild(s);
    }
    if (m.recommendations && m.recommendations.length) {
      var cards = el("div", "cards");
      m.recommendations.forEach(function (r) {
        var c = el("button", "card");
        c.setAttribute("data-product-id", r.product_id || "");
        c.appendChild(el("div", "name", r.name || r.product_id));
        if (r.price_from !== undefined && r.price_from !== null) {
          c.appendChild(el("div", "price", "from $" + Number(r.price_from).toFixed(2)));
        }
        if (r.reason) c.appendChild(el("div", "why", r.reason));
        c.addEventListener("click", function () {
          api("POST", "/v1/sessions/" + encodeURIComponent(state.sessionId) + "/suggestion-clicks",
            { product_id: String(r.product_id) }).catch(function () {});
          send("Tell me more about the " + (r.name || r.product_id));
        });
        cards.appendChild(c);
      });
      b.appendChild(cards);
    }
    if ((m.author === "assistant" || m.author === "operator") && m.id) {
      var rate = el("div", "rate");
      [["up", "👍"], ["down", "👎"]].forEach(function (pair) {
        var btn = el("button", m.rating === (pair[0] === "up" ? 1 : -1) ? "on" : null, pair[1]);
        btn.setAttribute("aria-label", pair[0] === "up" ? "Helpful" : "Not helpful");
        btn.setAttribute("data-score", pair[0]);
        btn.addEventListener("click", function () {
          api("POST", "/v1/sessions/" + encodeURIComponent(state.sessionId) + "/ratings",
            { message_id: m.id, score: pair[0] }).then(function () {
            Array.prototype.forEach.call(rate.children, function (x) { x.className = ""; });
            btn.className = "on";
          }).catch(function () {});
        });
        rate.appendChild(btn);
      });
      b.appendChild(rate);
    }
    scroll();
  }

  function render(m) {
    if (!m || state.shown[m.id]) return;
    state.shown[m.id] = true;
    if (m.id > state.lastId) state.lastId = m.id;
    var b = bubble(m.author, m.text, m.operator);
    decorate(b, m);
  }

  function markShown(m) {
    if (!m) return;
    state.shown[m.id] = true;
    if (m.id > state.lastId) state.lastId = m.id;
  }

  // ---- the conversation ------------------------------------------------------------------------
  function ensureSession() {
    if (state.sessionId) return Promise.resolve(state.sessionId);
    var saved = null;
    try { saved = localStorage.getItem(STORE_KEY); } catch (e) { /* private mode */ }
    if (saved) {
      state.sessionId = saved;
      return api("GET", "/v1/sessions/" + encodeURIComponent(saved) + "/messages").then(function (h) {
        h.messages.forEach(render);
        setStatus(h.conversation.status);
        return saved;
      }, function () {
        state.sessionId = null;
        try { localStorage.removeItem(STORE_KEY); } catch (e) { /* ignore */ }
        return ensureSession();
      });
    }
    return api("POST", "/v1/sessions").then(function (s) {
      state.sessionId = s.session_id;
      try { localStorage.setItem(STORE_KEY, s.session_id); } catch (e) { /* ignore */ }
      return s.session_id;
    });
  }

  function readEvents(response, onEvent) {
    var reader = response.body.getReader();
    var decoder = new TextDecoder();
    var buffer = "";
    function pump() {
      return reader.read().then(function (chunk) {
        if (chunk.done) return;
        buffer += decoder.decode(chunk.value, { stream: true });
        var parts = buffer.split("\n\n");
        buffer = parts.pop();
        parts.forEach(function (block) {
          var event = "message", data = [];
          block.split("\n").forEach(function (line) {
            if (line.indexOf("event:") === 0) event = line.slice(6).trim();
            else if (line.indexOf("data:") === 0) data.push(line.slice(5).replace(/^ /, ""));
          });
          if (data.length) onEvent(event, JSON.parse(data.join("\n")));
        });
        return pump();
      });
    }
    return pump();
  }

  function send(text) {
    text = (text || "").trim();
    if (!text || state.busy) return Promise.resolve();
    state.busy = true;
    sendBtn.disabled = true;
    var mine = bubble("customer", text);
    var answer = null, body = null, typing = null;
    return ensureSession().then(function (sid) {
      if (state.status === "bot") typing = bubble("system", "…");
      return fetch(config.server + "/v1/sessions/" + encodeURIComponent(sid) + "/messages", {
        method: "POST",
        headers: headers({ "Content-Type": "application/json", Accept: "text/event-stream" }),
        body: JSON.stringify({ text: text, stream: true }),
      });
    }).then(function (r) {
      if (!r.ok) {
        return r.json().then(function (e) { throw new Error((e.error && e.error.message) || "HTTP " + r.status); });
      }
      return readEvents(r, function (event, data) {
        if (event === "delta") {
          if (!answer) {
            if (typing) { typing.remove(); typing = null; }
            answer = bubble("assistant", "");
            body = answer.querySelector(".body");
          }
          body.textContent += data.text;
          scroll();
        } else if (event === "message") {
          if (typing) { typing.remove(); typing = null; }
          markShown(data.customer_message);
          mine.setAttribute("data-id", data.customer_message.id);
          if (data.reply) {
            if (!answer) { answer = bubble("assistant", data.reply.text); }
            answer.setAttribute("data-id", data.reply.id);
            markShown(data.reply);
            decorate(answer, data.reply);
          }
          (data.notices || []).forEach(render);
          setStatus(data.status);
        } else if (event === "error") {
          throw new Error(data.error.message);
        }
      });
    }).catch(function (e) {
      if (typing) typing.remove();
      bubble("system", "Sorry, your message could not be sent (" + e.message + ").");
    }).then(function () {
      state.busy = false;
      sendBtn.disabled = false;
    });
  }

  function askPerson() {
    return ensureSession().then(function (sid) {
      return api("POST", "/v1/sessions/" + encodeURIComponent(sid) + "/handoff", {});
    }).then(function (r) {
      if (r.notice) render(r.notice);
      setStatus(r.conversation.status);
    }).catch(function (e) { bubble("system", "Could not reach a person (" + e.message + ")."); });
  }

  function poll() {
    if (!state.sessionId) return;
    api("GET", "/v1/sessions/" + encodeURIComponent(state.sessionId) + "/messages?after=" + state.lastId)
      .then(function (h) {
        h.messages.forEach(function (m) { if (m.author !== "customer") render(m); else markShown(m); });
        setStatus(h.conversation.status);
      })
      .catch(function () { /* try again at the next tick */ });
  }

  function startPolling() {
    if (!state.pollTimer) state.pollTimer = setInterval(poll, POLL_MS);
  }

  function stopPolling() {
    if (state.pollTimer) { clearInterval(state.pollTimer); state.pollTimer = null; }
  }

  function open() {
    panel.classList.add("open");
    launcher.textContent = "×";
    if (!state.started) {
      state.started = true;
      ensureSession().then(function () {
        if (!log.querySelector(".msg")) {
          bubble("assistant", "Hi! I can help with orders, returns, exchanges and product questions. What can I do for you?");
        }
      }).catch(function (e) { bubble("system", "The chat is unavailable right now (" + e.message + ")."); });
    }
    input.focus();
  }

  function close() {
    panel.classList.remove("open");
    launcher.textContent = "💬";
  }

  launcher.addEventListener("click", function () { panel.classList.contains("open") ? close() : open(); });
  closeBtn.addEventListener("click", close);
  sendBtn.addEventListener("click", function () { var t = input.value; input.value = ""; send(t); });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); sendBtn.click(); }
  });
  personBtn.addEventListener("click", askPerson);

  function mount() {
    document.body.appendChild(host);
    if (config.open) open();
  }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);

  window.Kefu = {
    version: "1",
    open: open,
    close: close,
    send: send,
    setCustomerToken: function (token) { config.token = token || null; },
    reset: function () {
      try { localStorage.removeItem(STORE_KEY); } catch (e) { /* ignore */ }
      stopPolling();
      state.sessionId = null; state.lastId = 0; state.shown = {}; state.started = false;
      while (log.firstChild) log.removeChild(log.firstChild);
      setStatus("bot");
    },
  };
})();
