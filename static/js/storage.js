// The visitor's choices kept in the browser. Storage may be disabled: a choice
// then lasts for this page only.

export function recall(key) {
  try {
    return window.localStorage.getItem(key);
  } catch {
    return null;
  }
}

export function keep(key, value) {
  try {
    window.localStorage.setItem(key, value);
  } catch {
    // Not kept: see above.
  }
}
