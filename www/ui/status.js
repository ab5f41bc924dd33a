// The engine status pill in the header: starting, ready or failed.

export function setStatus(el, state, text) {
  el.dataset.engine = state;
  el.querySelector('.status-text').textContent = text;
}
