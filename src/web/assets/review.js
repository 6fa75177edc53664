// Review screen behaviour. Plain JS, no framework: the page is rendered by the server and every
// change goes through the JSON API with the session's CSRF token.
"use strict";
(function () {
  const root = document.getElementById("review");
  if (!root) return;
  const cfg = JSON.parse(root.dataset.config);
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const base = "/api/v1/dossiers/" + encodeURIComponent(cfg.code);

  async function api(method, path, body) {
    const r = await fetch(path, {
      method,
      credentials: "same-origin",
      headers: Object.assign({ "X-CSRF-Token": csrf, Accept: "application/json" },
        body ? { "Content-Type": "application/json" } : {}),
      body: body ? JSON.stringify(body) : undefined,
    });
    if (r.status === 401) { location.href = "/review/login"; throw new Error("session"); }
    let data = null;
    try { data = await r.json(); } catch (_) { /* empty body */ }
    return { status: r.status, ok: r.ok, data };
  }

  // --- the page viewer -------------------------------------------------------------------
  let zoom = 1, turn = 0;
  // Full resolution once the clerk zooms in: for the page shown, the others when turned to.
  function fullResolution(f) {
    const img = f.querySelector(".sheet img");
    if (zoom > 1.5 && img && img.src.indexOf("w=2400") < 0) img.src = f.dataset.full;
  }
  function showPage(key) {
    document.querySelectorAll("figure.page").forEach(f => {
      f.hidden = f.dataset.page !== key;
      if (!f.hidden) fullResolution(f);
    });
    document.querySelectorAll(".thumb").forEach(t => t.classList.toggle("current", t.dataset.page === key));
  }
  function applyView() {
    document.querySelectorAll(".sheet").forEach(s => {
      s.style.width = (zoom * 100) + "%";
      s.style.transform = turn ? "rotate(" + turn + "deg)" : "";
    });
    document.querySelectorAll("figure.page:not([hidden])").forEach(fullResolution);
  }
  root.addEventListener("click", e => {
    const act = e.target.closest("[data-act]");
    if (act) {
      if (act.dataset.act === "zoom-in") zoom = Math.min(4, zoom * 1.25);
      if (act.dataset.act === "zoom-out") zoom = Math.max(0.5, zoom / 1.25);
      if (act.dataset.act === "rotate") turn = (turn + 90) % 360;
      applyView();
      return;
    }
    const thumb = e.target.closest(".thumb");
    if (thumb) { showPage(thumb.dataset.page); return; }
    const box = e.target.closest(".box");
    if (box) {
      const input = document.getElementById("f" + box.dataset.field);
      if (input) input.focus();
    }
  });
  const first = document.querySelector(".thumb");
  if (first) showPage(first.dataset.page);

  // --- fields ----------------------------------------------------------------------------
  const inputs = () => Array.from(document.querySelectorAll(".field input"));
  function highlight(row) {
    document.querySelectorAll(".box.active").forEach(b => b.classList.remove("active"));
    const box = document.querySelector('.box[data-field="' + row.dataset.id + '"]');
    showPage(row.dataset.page);
    if (box) {
      box.classList.add("active");
      box.scrollIntoView({ block: "center", inline: "nearest" });
    }
  }
  function nextAttention(from) {
    const all = inputs();
    const start = Math.max(0, all.indexOf(from));
    for (let i = 1; i <= all.length; i++) {
      const el = all[(start + i) % all.length];
      if (el.closest(".field").classList.contains("attention")) return el;
    }
    return null;
  }
  function setMessage(row, text, bad) {
    const m = row.querySelector(".message");
    m.textContent = text;
    m.classList.toggle("bad", !!bad);
  }
  async function commit(input) {
    const row = input.closest(".field");
    const body = { version: Number(row.dataset.version) };
    if (input.value.trim() !== input.dataset.original) body.value = input.value;
    const r = await api("PUT", base + "/fields/" + row.dataset.id, body);
    if (r.ok) {
      row.dataset.version = r.data.version;
      input.value = r.data.value || "";
      input.dataset.original = input.value;
      row.classList.remove("attention");
      row.classList.add("done");
      row.querySelector(".status").textContent = "Đã xác nhận";
      setMessage(row, body.value === undefined ? "Đã xác nhận." : "Đã sửa và xác nhận.", false);
      return true;
    }
    const err = (r.data && r.data.error) || {};
    if (err.code === "stale_version" && err.details) {
      row.dataset.version = err.details.version;
      input.value = err.details.value || "";
      input.dataset.original = input.value;
      setMessage(row, "Trường vừa được sửa ở nơi khác; giá trị hiện tại đã được tải lại.", true);
    } else if (err.code === "invalid_value") {
      setMessage(row, "Giá trị không hợp lệ: " + err.message.replace(/^invalid value: /, ""), true);
    } else {
      setMessage(row, err.message || "Lỗi " + r.status, true);
    }
    return false;
  }
  document.querySelectorAll(".field input").forEach(input => {
    input.addEventListener("focus", () => highlight(input.closest(".field")));
    input.addEventListener("keydown", async e => {
      if (e.key === "Enter" && !e.ctrlKey && cfg.editable) {
        e.preventDefault();
        if (await commit(input)) {
          const next = nextAttention(input);
          if (next) next.focus();
          else document.getElementById("approve").focus();
        }
      }
    });
  });

  // --- decisions -------------------------------------------------------------------------
  const fail = text => { const p = document.getElementById("decide-error"); if (p) p.textContent = text; };
  function dismissals() {
    return Array.from(document.querySelectorAll(".flag:not(.dismissed)")).map(f => {
      const flag = JSON.parse(f.dataset.flag);
      const note = f.querySelector(".flag-note");
      return note && note.value.trim() ? Object.assign(flag, { note: note.value.trim() }) : null;
    }).filter(Boolean);
  }
  async function decide(action) {
    const reason = (document.getElementById("reason") || {}).value || "";
    const r = await api("POST", base + "/decision", { action, reason: reason || null, dismiss: dismissals() });
    if (!r.ok) {
      const err = (r.data && r.data.error) || {};
      if (err.code === "not_reviewed") {
        const left = err.details.map(p => p.kind === "field" ? p.name : "cảnh báo: " + p.flag.message);
        fail("Chưa thể duyệt, còn: " + left.join(", "));
        const f = err.details.find(p => p.kind === "field");
        const el = f && document.getElementById("f" + f.id);
        if (el) el.focus();
      } else {
        fail(err.message || "Lỗi " + r.status);
      }
      return;
    }
    if (action !== "approve") { location.href = "/review/"; return; }
    const next = await api("POST", "/api/v1/review/next");
    location.href = next.ok ? "/review/dossiers/" + encodeURIComponent(next.data.code) : "/review/?empty=1";
  }
  const on = (id, f) => { const el = document.getElementById(id); if (el) el.addEventListener("click", f); };
  on("approve", () => decide("approve"));
  on("return", () => decide("return"));
  on("reject", () => decide("reject"));
  on("release", async () => { await api("DELETE", base + "/claim"); location.href = "/review/"; });

  document.addEventListener("keydown", e => {
    if (!cfg.editable) return;
    if (e.ctrlKey && e.key === "Enter") { e.preventDefault(); decide("approve"); }
    if (e.ctrlKey && (e.key === "j" || e.key === "J")) {
      e.preventDefault();
      const next = nextAttention(document.activeElement);
      if (next) next.focus();
    }
  });

  // --- the claim is renewed while the screen is open --------------------------------------
  if (cfg.editable) setInterval(() => api("POST", base + "/claim"), cfg.renewSecs * 1000);

  // --- history ---------------------------------------------------------------------------
  const history = document.getElementById("history");
  if (history) history.addEventListener("toggle", async () => {
    if (!history.open) return;
    const r = await api("GET", base + "/history");
    const list = document.getElementById("history-list");
    list.textContent = "";
    (r.data.history || []).forEach(h => {
      const li = document.createElement("li");
      const d = h.detail || {};
      let what = h.action;
      if (h.action === "dossier.state") what = "trạng thái " + d.from + " → " + d.to + (d.reason ? " (" + d.reason + ")" : "");
      if (h.action === "field.correct") what = "sửa " + d.name + ": " + d.from + " → " + d.to;
      if (h.action === "field.confirm") what = "xác nhận " + d.name;
      li.textContent = new Date(h.at).toLocaleString("vi-VN") + " · " + h.actor + " · " + what;
      list.appendChild(li);
    });
  });
})();
