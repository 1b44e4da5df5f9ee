// The sighting form sent without leaving the page. A refused sighting shows
// its reasons next to its fields, with focus on the first; an accepted one
// shows the page after it, at the confirmation. No POST enters the browser's
// history, so Back never asks to send the form again.
import { showing } from "./navigation.js";
import { parsePage, swap } from "./swap.js";

function formProblem(form, text) {
  let problem = form.parentNode.querySelector(".alert-error");
  if (!problem) {
    problem = document.createElement("p");
    problem.className = "alert alert-error";
    problem.setAttribute("role", "alert");
    form.parentNode.insertBefore(problem, form);
  }
  problem.textContent = text;
}

async function sendSighting(form) {
  const main = document.getElementById("main");
  const button = form.querySelector("button[type=submit]");
  if (main.getAttribute("aria-busy")) {
    return;
  }
  main.setAttribute("aria-busy", "true");
  if (button) {
    button.disabled = true;
  }
  try {
    const response = await fetch(form.action, {
      method: "POST",
      body: new URLSearchParams(new FormData(form)),
      credentials: "same-origin",
      headers: { Accept: "text/html" },
    });
    const fresh = parsePage(await response.text(), response.status);
    swap(fresh, {
      selector: "#main",
      sameView: false,
      etag: response.headers.get("ETag"),
      sent: form,
    });
    if (response.redirected) {
      showing(`${response.url.split("#")[0]}#report`);
    }
    const invalid = document.querySelector('#sighting-form [aria-invalid="true"]');
    const target =
      invalid ||
      document.getElementById("recorded") ||
      document.querySelector("#report .alert-error");
    if (target) {
      if (!invalid) {
        target.setAttribute("tabindex", "-1");
      }
      target.focus({ preventScroll: true });
      target.scrollIntoView({ block: "center" });
    }
  } catch (error) {
    formProblem(
      form,
      `Could not reach SPUCSVi (${error.message}): your sighting may ` +
        "not have been sent. Check the table before sending it again.",
    );
  } finally {
    main.removeAttribute("aria-busy");
    // Still in the page when the answer was the page already shown (the same
    // refusal again), or no answer came.
    if (button) {
      button.disabled = false;
    }
  }
}

document.addEventListener("submit", (event) => {
  if (event.target.id === "sighting-form") {
    event.preventDefault();
    sendSighting(event.target);
  }
});
