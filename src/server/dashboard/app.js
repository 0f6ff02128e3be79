/*
 * app.js - the dashboard's entry point: the login form, the navigation and
 * the routes (#/fleet, #/releases, #/rollouts, #/device/<id>, #/audit).
 * Plain ES modules and no framework: five pages of tables, bars and forms
 * need no virtual DOM, and without a build step the files the server embeds
 * are the files reviewed here (nothing generated, nothing fetched from npm
 * at run time).
 */
import {api, token, whenUnauthorized} from './api.js';
import {put} from './dom.js';
import {fleetPage, releasesPage, rolloutsPage, devicePage, auditPage} from './pages.js';

const $ = (id) => document.getElementById(id);
let stopPage = () => {};

function showLogin(message) {
  stopPage();
  stopPage = () => {};
  put($('page'));
  $('nav').hidden = true;
  $('logout').hidden = true;
  $('login').hidden = false;
  put($('login-error'), message || '');
  $('token').value = '';
  $('token').focus();
}

function route(ev) {
  if (!token.get()) {
    showLogin();
    return;
  }
  $('login').hidden = true;
  $('nav').hidden = false;
  $('logout').hidden = false;
  const hash = location.hash.replace(/^#\/?/, '');
  const [page, ...rest] = hash.split('/');
  const arg = rest.length ? decodeURIComponent(rest.join('/')) : '';
  const pages = {fleet: fleetPage, releases: releasesPage, rollouts: rolloutsPage,
                 audit: auditPage, device: devicePage};
  const fn = pages[page];
  if (!fn || (page === 'device' && !arg)) {
    location.replace('#/fleet');
    return;
  }
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.getAttribute('href') === `#/${page}`) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  stopPage();
  document.title = `${page[0].toUpperCase()}${page.slice(1)}${arg ? ` ${arg}` : ''} - FOTA dashboard`;
  stopPage = fn($('page'), arg);
  if (ev) $('main').focus({preventScroll: true}); /* a page change, not the first load */
}

$('login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const t = $('token').value.trim();
  if (!t) {
    put($('login-error'), 'Type the admin token.');
    return;
  }
  try {
    await api('GET', 'fleet', undefined, t); /* checks the token, stores nothing before */
  } catch (e) {
    put($('login-error'), e.status === 401 ? `Refused: ${e.serverMessage}` : e.message);
    $('token').select();
    return;
  }
  token.set(t);
  $('token').value = '';
  if (!location.hash || location.hash === '#/') location.hash = '#/fleet';
  else route(ev);
});

$('logout').addEventListener('click', () => {
  token.clear();
  showLogin('Logged out.');
});

whenUnauthorized((e) => {
  token.clear();
  showLogin(`The server refused the token: ${e.serverMessage}. Log in again.`);
});

window.addEventListener('hashchange', route);
route();
