// The age-check page's script: starts a check, shows its QR code and same-device link, offers
// the Digital Credentials API where the browser has it, and polls until the answer is known.
// All the server ever tells this page is {status, over_18}.
'use strict';

(() => {
  const POLL_MS = 1000;
  const byId = (id) => document.getElementById(id);
  const qr = byId('qr');
  const sameDevice = byId('same-device');
  const dcRow = byId('dc-api-row');
  const dcButton = byId('dc-api');
  const dcMessage = byId('dc-api-message');
  const result = byId('result');
  const restart = byId('restart');

  let polling = null; // the check id being polled
  let timer = null;
  let finished = false;

  function show(status) {
    const texts = { yes: 'Over 18: yes', no: 'Over 18: no', rejected: 'Could not verify' };
    result.dataset.status = status;
    result.textContent = texts[status] || 'Waiting for your wallet…';
    if (status in texts) {
      finished = true;
      clearTimeout(timer);
      polling = null;
      restart.hidden = false;
      // The check is over: its code and link no longer lead anywhere useful.
      qr.classList.add('done');
      sameDevice.setAttribute('aria-disabled', 'true');
      dcButton.disabled = true;
    }
  }

  // Shows a {status, over_18} answer; true when it is final.
  function apply(answer) {
    if (finished) return true;
    if (answer && answer.status === 'verified') {
      show(answer.over_18 === true ? 'yes' : 'no');
      return true;
    }
    if (answer && answer.status === 'rejected') {
      show('rejected');
      return true;
    }
    return false;
  }

  function schedule(checkId) {
    clearTimeout(timer);
    polling = checkId;
    timer = setTimeout(() => pollOnce(checkId), POLL_MS);
  }

  async function pollOnce(checkId) {
    if (finished || checkId !== polling) return;
    try {
      const response = await fetch('age-check/' + encodeURIComponent(checkId), {
        cache: 'no-store',
        headers: { Accept: 'application/json' },
      });
      if (response.status === 404) {
        show('rejected');
        return;
      }
      if (response.ok && apply(await response.json())) return;
    } catch (error) {
      // A network hiccup: keep polling.
    }
    if (!finished && checkId === polling) schedule(checkId);
  }

  function insertQr(svgText) {
    const doc = new DOMParser().parseFromString(svgText, 'image/svg+xml');
    const svg = doc.documentElement;
    if (!svg || svg.localName !== 'svg' || doc.getElementsByTagName('parsererror').length > 0) {
      throw new Error('unreadable QR code');
    }
    svg.setAttribute('aria-hidden', 'true');
    svg.setAttribute('focusable', 'false');
    qr.replaceChildren(document.importNode(svg, true));
    qr.removeAttribute('aria-busy');
  }

  async function start() {
    finished = false;
    polling = null;
    clearTimeout(timer);
    restart.hidden = true;
    qr.classList.remove('done');
    dcButton.disabled = false;
    dcMessage.textContent = '';
    result.dataset.status = 'pending';
    result.textContent = 'Waiting for your wallet…';
    sameDevice.setAttribute('aria-disabled', 'true');
    sameDevice.href = '#';
    try {
      const response = await fetch('age-check', { method: 'POST', headers: { Accept: 'application/json' } });
      if (!response.ok) throw new Error('HTTP ' + response.status);
      const check = await response.json();
      insertQr(check.qr_svg);
      sameDevice.href = check.authorization_request;
      sameDevice.removeAttribute('aria-disabled');
      schedule(check.check_id);
    } catch (error) {
      qr.replaceChildren(document.createTextNode('The age check could not be started. Please try again.'));
      qr.removeAttribute('aria-busy');
      restart.hidden = false;
    }
  }

  const dcApiAvailable =
    typeof window.DigitalCredential === 'function' &&
    typeof navigator.credentials === 'object' &&
    navigator.credentials !== null &&
    typeof navigator.credentials.get === 'function';

  async function useBrowserWallet() {
    dcButton.disabled = true;
    dcMessage.textContent = 'Waiting for the wallet…';
    try {
      const startResponse = await fetch('age-check/dc-api', {
        method: 'POST',
        headers: { Accept: 'application/json' },
      });
      if (!startResponse.ok) throw new Error('HTTP ' + startResponse.status);
      const check = await startResponse.json();
      const credential = await navigator.credentials.get({ digital: check.request, mediation: 'required' });
      if (!credential || typeof credential.data === 'undefined') throw new Error('no credential');
      let data = credential.data;
      if (typeof data === 'string') data = JSON.parse(data);
      const response = await fetch('age-check/dc-api/' + encodeURIComponent(check.check_id), {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify({ data }),
      });
      dcMessage.textContent = '';
      if (response.ok) {
        if (!apply(await response.json())) schedule(check.check_id);
      } else {
        show('rejected');
      }
    } catch (error) {
      const cancelled = error && (error.name === 'AbortError' || error.name === 'NotAllowedError');
      dcMessage.textContent = cancelled
        ? 'The wallet request was cancelled.'
        : 'No wallet in this browser could answer. Try the QR code or the link.';
    } finally {
      dcButton.disabled = finished;
    }
  }

  if (dcApiAvailable) {
    dcRow.hidden = false;
    dcButton.addEventListener('click', useBrowserWallet);
  }
  restart.addEventListener('click', start);
  start();
})();
