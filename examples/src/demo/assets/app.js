// Calls GET /api/me the way each kind of client does, and shows what the server answered.
async function check(button) {
  const out = document.getElementById(button.dataset.out);
  const headers = {};
  if (button.dataset.token) headers["Authorization"] = "Bearer " + button.dataset.token;
  const response = await fetch("/api/me", {
    headers,
    credentials: button.dataset.token ? "omit" : "same-origin",
  });
  out.className = "result " + (response.ok ? "ok" : "bad");
  out.textContent = "GET /api/me → " + response.status + (response.ok ? " (accepted)" : " (refused)");
}

// Revokes the token as an API client logs out: POST /api/logout with the bearer token.
async function revoke(button) {
  const out = document.getElementById(button.dataset.out);
  const response = await fetch("/api/logout", {
    method: "POST",
    headers: { Authorization: "Bearer " + button.dataset.token },
    credentials: "omit",
  });
  out.className = "result " + (response.ok ? "ok" : "bad");
  out.textContent = "POST /api/logout → " + response.status + (response.ok ? ": token and its family revoked" : "");
}

document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-action]");
  if (!button) return;
  event.preventDefault();
  (button.dataset.action === "revoke" ? revoke : check)(button);
});
