// vaora's page enhancements. Every page works without this script; with it, the ward list
// follows the chosen province without a round trip.
"use strict";
document.documentElement.classList.add("js");

function fillWards(provinceSelect) {
  const target = document.getElementById(provinceSelect.dataset.wards);
  if (!target) return;
  const chosen = target.value;
  const params = new URLSearchParams({ scheme: "current", parent: provinceSelect.value });
  fetch("/api/v1/admin-units?" + params, { headers: { Accept: "application/json" } })
    .then((r) => (r.ok ? r.json() : []))
    .then((units) => {
      const first = target.options[0];
      target.replaceChildren(first);
      for (const u of units) {
        const o = document.createElement("option");
        o.value = u.code;
        o.textContent = u.name;
        if (u.code === chosen) o.selected = true;
        target.append(o);
      }
    })
    .catch(() => {
      // Offline or failed: the "load wards" button (shown without JavaScript) still works.
      document.documentElement.classList.remove("js");
    });
}

document.addEventListener("DOMContentLoaded", () => {
  for (const s of document.querySelectorAll("select[data-wards]")) {
    s.addEventListener("change", () => fillWards(s));
    const target = document.getElementById(s.dataset.wards);
    if (target && target.options.length <= 1 && s.value) fillWards(s);
  }
});

// A venue page opened by a signed-in person checks them in at once; the form's hidden scan id
// makes a reload or a double tap harmless.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.querySelector("form[data-autosubmit]");
  if (form && !sessionStorage.getItem("vaora-submitted-" + form.action)) {
    sessionStorage.setItem("vaora-submitted-" + form.action, "1");
    form.submit();
  }
});

// Installable app: the service worker keeps the screens working offline (see sw.js).
if ("serviceWorker" in navigator) {
  window.addEventListener("load", () => {
    navigator.serviceWorker.register("/sw.js").catch(() => {
      // Without it vaora still works online.
    });
  });
}

// Signing out forgets what this device kept for the person: their screens and their offline passes.
document.addEventListener("DOMContentLoaded", () => {
  for (const f of document.querySelectorAll("form[action='/signout']")) {
    f.addEventListener("submit", () => {
      // The person's own batch, and those of their dependants and family passes.
      for (const key of Object.keys(localStorage)) {
        if (key.startsWith("vaora-pass-batch")) localStorage.removeItem(key);
      }
      if (window.caches) caches.delete("vaora-pages");
    });
  }
});
