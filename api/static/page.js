// Optional enhancements (the page works without them): each UTC time also in the reader's own time zone,
// in the page's language; on a narrow screen the passport's groups start folded, except the first.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const root = document.documentElement;
  root.dataset.enhanced = "true";
  const fmt = new Intl.DateTimeFormat(root.lang || undefined, { dateStyle: "medium", timeStyle: "short" });
  for (const el of document.querySelectorAll("time.instant[datetime]")) {
    const when = new Date(el.getAttribute("datetime"));
    if (!Number.isNaN(when.getTime())) {
      el.title = el.textContent;
      el.textContent = fmt.format(when);
    }
  }
  if (window.matchMedia("(max-width: 40rem)").matches) {
    for (const details of document.querySelectorAll(".group > details")) {
      details.open = false;
    }
    const first = document.querySelector(".group > details");
    if (first) first.open = true;
  }
});
