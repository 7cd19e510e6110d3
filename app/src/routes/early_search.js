// The list's search before the app has hydrated (see `EarlySearch` in list.rs).
//
// On a slow phone the WebAssembly takes a second or more to arrive, and the
// search box is on screen long before. Until then this answers a search as the
// hydrated list would (the same pause after a key, none for text put in at
// once, the older request cancelled, the list dimmed and marked busy
// meanwhile), but with the server's own page for it: the
// list's island as the server renders it for that search replaces the one on
// the page, keeping the search box being typed in (its text, focus and caret).
// The page is then just as if it had been opened at that search, so hydration
// finds the markup and the start (island_start.rs) it expects. The start script
// announces hydration with a `hydrating` event on the document, whose `detail`
// is a list of promises it waits for first: an answer on its way then is
// waited for and shown (asking the app for it again would cost another round
// trip), a search still in its pause is left to the app. From then on this
// does nothing, and puts back anything it changed.
(() => {
  // The hydrated list's pause and time limit, set on this script by the server.
  const PAUSE_MS = Number(document.currentScript.dataset.pauseMs);
  const LIMIT_MS = Number(document.currentScript.dataset.limitMs);
  let stopped = false;
  let timer = 0;
  let request = null;
  // Settles once the request's answer is shown or given up.
  let settled = null;
  let pushed = false;

  const box = () => document.getElementById('search');
  const results = () => document.querySelector('.results');

  function busy(on) {
    const shown = results();
    if (!shown) return;
    shown.classList.toggle('pending', on);
    shown.setAttribute('aria-busy', String(on));
  }

  function cancel() {
    clearTimeout(timer);
    if (request) request.abort();
    request = null;
  }

  // The list's address for `form`'s search, as the island writes it:
  // `q` only when not empty, then the order kept in hidden fields.
  function addressOf(form) {
    const query = new URLSearchParams();
    for (const [name, value] of new FormData(form)) {
      if (typeof value === 'string' && value.trim() !== '') query.append(name, value);
    }
    const text = query.toString();
    return text ? '/?' + text : '/';
  }

  function search(form) {
    cancel();
    settled = answer(form);
  }

  async function answer(form) {
    const address = addressOf(form);
    const controller = (request = new AbortController());
    const limit = setTimeout(() => controller.abort(), LIMIT_MS);
    busy(true);
    try {
      // `/` answers JSON (the original API) unless HTML is asked for.
      const response = await fetch(address, {
        signal: controller.signal,
        headers: { Accept: 'text/html' },
      });
      const html = response.ok && !response.redirected ? await response.text() : '';
      if (controller !== request) return;
      const page = new DOMParser().parseFromString(html, 'text/html');
      const island = page.getElementById('search')?.closest('leptos-island');
      const input = box();
      const current = input?.closest('leptos-island');
      if (!island || !current) return;
      // The box being typed in goes into the new island in place of the
      // server's, so nothing typed since is lost.
      const { selectionStart, selectionEnd, selectionDirection } = input;
      const focused = document.activeElement === input;
      island.querySelector('#search').replaceWith(input);
      // The count is a live region: a screen reader says a region's change,
      // but may not say one just put in. So the count shown stays, with the
      // new text.
      const count = current.querySelector('.count');
      const newCount = island.querySelector('.count');
      if (count && newCount) {
        count.textContent = newCount.textContent;
        newCount.replaceWith(count);
      }
      current.replaceWith(island);
      if (focused) {
        input.focus();
        input.setSelectionRange(selectionStart, selectionEnd, selectionDirection);
      }
      // The address names the search shown, as the hydrated list's does: a
      // new step in history first, then the searches typed on the way replace it.
      history[pushed ? 'replaceState' : 'pushState'](null, '', address);
      pushed = true;
    } catch {
      // Cancelled, out of time or offline: the hydrated list searches again.
    } finally {
      clearTimeout(limit);
      if (controller === request) {
        request = null;
        busy(false);
      }
    }
  }

  function searchSoon(form) {
    clearTimeout(timer);
    timer = setTimeout(() => search(form), PAUSE_MS);
  }

  // One key's worth (a character typed or deleted): more may follow, so the
  // search waits for a pause. Text that came in one go is searched at once.
  // The same rule as `more_may_be_typed` in list.rs.
  function moreMayBeTyped(event) {
    switch (event.inputType) {
      case 'insertText': return [...(event.data ?? '')].length === 1;
      case 'insertCompositionText':
      case 'deleteContentBackward':
      case 'deleteContentForward': return true;
      default: return false;
    }
  }

  document.addEventListener('input', (event) => {
    const input = event.target;
    if (stopped || input.id !== 'search' || !input.form) return;
    if (moreMayBeTyped(event)) {
      searchSoon(input.form);
    } else {
      search(input.form);
    }
  });

  // Text typed before this ran: an inline script waits for the stylesheet,
  // while the box above it may already take typing.
  const typed = box();
  if (typed && typed.form && typed.value !== typed.defaultValue) searchSoon(typed.form);

  // Before hydration there is nothing to show an older address in place: load it.
  window.addEventListener('popstate', () => {
    if (!stopped && pushed) location.reload();
  });

  document.addEventListener('hydrating', (event) => {
    stopped = true;
    clearTimeout(timer);
    if (request === null) return;
    if (Array.isArray(event.detail)) {
      event.detail.push(settled);
    } else {
      cancel();
      busy(false);
    }
  }, { once: true });
})();
