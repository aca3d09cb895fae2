// Optional enhancement: show each UTC time also in the reader's own time zone (the page works without it).
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  document.documentElement.dataset.enhanced = "true";
  const fmt = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
  for (const el of document.querySelectorAll("time[datetime]")) {
    const when = new Date(el.getAttribute("datetime"));
    if (!Number.isNaN(when.getTime())) {
      el.title = el.textContent;
      el.textContent = fmt.format(when);
    }
  }
});
