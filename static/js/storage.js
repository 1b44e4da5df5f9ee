// The visitor's choices kept in the browser: for every visit (localStorage), or
// for this tab only (sessionStorage). Storage may be disabled: a choice then
// lasts for this page only.

function store(forTab) {
  return forTab ? window.sessionStorage : window.localStorage;
}

export function recall(key, { forTab = false } = {}) {
  try {
    return store(forTab).getItem(key);
  } catch {
    return null;
  }
}

export function keep(key, value, { forTab = false } = {}) {
  try {
    store(forTab).setItem(key, value);
  } catch {
    // Not kept: see above.
  }
}
