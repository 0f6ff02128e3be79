/*
 * pages.js - the dashboard's pages: fleet, releases, rollouts, device and
 * audit. Each page is a function (main element, route parameters) that
 * draws itself, polls the admin API while it is shown (live figures without
 * reloading) and returns its stop function. Values from the server go in as
 * text through dom.js.
 */
import {api, uploadRelease, ApiError} from './api.js';
import {h, put, time, when, bytes, bar} from './dom.js';
import {confirmationsChart} from './chart.js';

/* How often a page asks again. The fleet summary and the device list cost
 * the server most (bench/dashboard_fleet.sh, 10,000 devices on a loaded
 * 2-core machine: about 25-50 ms for the summary, three queries whatever
 * the fleet's size; 0.2-0.7 s for the whole device list), so they are asked
 * less often. */
const POLL_MS = 2000;
const FLEET_MS = 5000;
const DEVICES_MS = 30000;
const STATE_ORDER = ['new', 'downloading', 'verifying', 'installed', 'confirmed', 'failed',
                     'rolled_back'];
const STAGE_BARS = [['offered', 'offered'], ['downloading', 'downloading'],
                    ['installed', 'installed'], ['confirmed', 'confirmed'], ['failed', 'failed'],
                    ['rolled_back', 'rolled back'], ['timed_out', 'timed out']];
const VERSION_MAX = 31; /* FOTA_VERSION_OFFER_MAX: the longest version a device takes */

/* Runs load() now and every POLL_MS until stopped; shows when it last
 * worked, or why not, in the status element. */
function poll(status, load, ms = POLL_MS) {
  let stopped = false, timer = 0;
  const tick = async () => {
    try {
      await load();
      if (!stopped) put(status, 'live, updated ', when(new Date().toISOString()));
      status.classList.remove('error');
    } catch (e) {
      if (!stopped) put(status, e.message);
      status.classList.add('error');
    }
    if (!stopped) timer = setTimeout(tick, ms);
  };
  tick();
  return () => { stopped = true; clearTimeout(timer); };
}

/* True when data differs from what was drawn last under slot: a poll that
 * brings nothing new leaves the page (and the keyboard focus) alone. */
function changed(slot, data) {
  const sig = JSON.stringify(data);
  if (slot.sig === sig) return false;
  slot.sig = sig;
  return true;
}

function liveStatus() {
  return h('p', {class: 'live', role: 'status', 'aria-live': 'off'}, 'loading...');
}

function card(title, ...content) {
  const id = `c-${title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
  return h('section', {class: 'card', 'aria-labelledby': id}, h('h2', {id}, title), content);
}

function table(caption, head, rows, empty) {
  if (!rows.length) return h('p', {class: 'empty'}, empty);
  return h('div', {class: 'scroll', tabindex: 0, role: 'region', 'aria-label': caption},
    h('table', {},
      h('caption', {class: 'sr-only'}, caption),
      h('thead', {}, h('tr', {}, head.map((c) => h('th', {scope: 'col'}, c)))),
      h('tbody', {}, rows.map((r) => h('tr', {}, r.map((c) => h('td', {}, c)))))));
}

/* What a device runs: the version it confirmed when that is its last
 * status, else what its last check said (as GET /api/admin/fleet counts). */
function running(d) {
  if (d.state === 'confirmed' && d.current_version) return d.current_version;
  return d.reported_version || d.current_version || '';
}

function deviceLink(id) {
  return h('a', {href: `#/device/${encodeURIComponent(id)}`}, id);
}

function stateBadge(state) {
  return h('span', {class: `badge s-${String(state || 'new').replace(/[^a-z_]/g, '')}`},
    state || 'new');
}

function sortedCounts(obj, order) {
  const keys = Object.keys(obj);
  keys.sort((a, b) => {
    const ia = order ? order.indexOf(a) : -1, ib = order ? order.indexOf(b) : -1;
    if (ia !== ib) return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib);
    return obj[b] - obj[a] || a.localeCompare(b);
  });
  return keys.map((k) => [k, obj[k]]);
}

/* --- fleet ----------------------------------------------------------------- */

export function fleetPage(main) {
  const status = liveStatus();
  const states = h('div'), versions = h('div'), chart = h('div'), failures = h('div');
  const devices = h('div');
  const filter = h('input', {id: 'device-filter', type: 'search', autocomplete: 'off'});
  let lastDevices = [];
  const drawDevices = () => {
    const f = filter.value.trim().toLowerCase();
    const shown = lastDevices.filter((d) => !f || d.id.toLowerCase().includes(f) ||
      running(d).toLowerCase().includes(f));
    put(devices, table('Devices', ['Device', 'State', 'Running', 'Last seen'],
      shown.slice(0, 200).map((d) => [deviceLink(d.id), stateBadge(d.state),
        running(d) || 'unknown', time(d.last_seen)]),
      f ? 'No device matches.' : 'No device is registered yet.'),
      shown.length > 200 ? h('p', {class: 'hint'}, `200 of ${shown.length} shown: filter to find one.`)
        : null);
  };
  filter.addEventListener('input', drawDevices);
  const drawn = {}, drawnDevices = {};
  put(main,
    h('h1', {}, 'Fleet'), status,
    h('div', {class: 'grid'},
      card('Devices by state', states),
      card('Devices by running version', versions)),
    card('Confirmations per hour', chart),
    card('Failures in the last 24 hours', failures),
    card('Devices', h('label', {for: 'device-filter'}, 'Filter by id or version'), filter,
      devices));
  const devStatus = h('p', {class: 'live', role: 'status', 'aria-live': 'off'}, 'loading...');
  const stopDevices = poll(devStatus, async () => {
    const devs = await api('GET', 'devices');
    if (!changed(drawnDevices, devs)) return;
    lastDevices = devs.devices;
    drawDevices();
  }, DEVICES_MS);
  devices.before(devStatus);
  const stopFleet = poll(status, async () => {
    const fleet = await api('GET', 'fleet');
    delete fleet.generated_at;
    if (!changed(drawn, fleet)) return;
    const total = Object.values(fleet.by_state).reduce((s, n) => s + n, 0);
    put(states, total ? sortedCounts(fleet.by_state, STATE_ORDER)
      .map(([k, n]) => bar(k, n, total, `s-${k}`)) : h('p', {class: 'empty'}, 'No devices yet.'));
    put(versions, total ? sortedCounts(fleet.by_version)
      .map(([k, n]) => bar(k, n, total, 'version')) : h('p', {class: 'empty'}, 'No devices yet.'));
    put(chart, confirmationsChart(fleet.confirmations));
    put(failures,
      h('p', {class: 'hint'}, `${fleet.failures_total} in the last ${fleet.hours} hours` +
        (fleet.failures_total > fleet.failures.length ? `, newest ${fleet.failures.length} shown` : '')),
      table('Failures', ['When', 'Device', 'Release', 'State', 'Reason'],
        fleet.failures.map((f) => [time(f.at), deviceLink(f.device), `#${f.release}`,
          stateBadge(f.state), f.error_text ? `${f.error_text} (${f.error})` : (f.error || '-')]),
        'No failure in this window.'));
  }, FLEET_MS);
  return () => { stopFleet(); stopDevices(); };
}

/* --- releases -------------------------------------------------------------- */

export function releasesPage(main) {
  const status = liveStatus();
  const list = h('div');
  const file = h('input', {id: 'rel-file', type: 'file', required: true,
                           'aria-describedby': 'rel-file-hint'});
  const version = h('input', {id: 'rel-version', type: 'text', maxlength: 64,
                              autocomplete: 'off', 'aria-describedby': 'rel-version-hint'});
  const chunk = h('select', {id: 'rel-chunk'}, h('option', {value: '1024'}, '1024 bytes'),
    h('option', {value: '512'}, '512 bytes'));
  const slot = h('input', {id: 'rel-slot', type: 'text', inputmode: 'numeric',
                           placeholder: '1310720', autocomplete: 'off'});
  const progress = h('progress', {id: 'rel-progress', max: 100, value: 0});
  const progressText = h('span', {id: 'rel-progress-text'}, '');
  const result = h('p', {id: 'rel-result', role: 'status'});
  const submit = h('button', {type: 'submit'}, 'Upload');
  let reload = () => {};
  const drawn = {};

  const form = h('form', {id: 'upload-form', novalidate: true},
    h('div', {class: 'field'}, h('label', {for: 'rel-file'}, 'Image file (.bin)'), file,
      h('p', {id: 'rel-file-hint', class: 'hint'},
        'An ESP32 application image. The server checks it (magic, app descriptor, size, ' +
        'segments, checksum, SHA-256) before it becomes a release.')),
    h('div', {class: 'field'}, h('label', {for: 'rel-version'}, 'Version (optional)'), version,
      h('p', {id: 'rel-version-hint', class: 'hint'},
        `1-${VERSION_MAX} characters; empty: the version in the app descriptor.`)),
    h('div', {class: 'row'},
      h('div', {class: 'field'}, h('label', {for: 'rel-chunk'}, 'Chunk size'), chunk),
      h('div', {class: 'field'}, h('label', {for: 'rel-slot'}, 'Slot size (bytes, optional)'),
        slot)),
    h('div', {class: 'progress-row'}, h('label', {for: 'rel-progress'}, 'Upload progress'),
      progress, progressText),
    submit, result);

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    result.classList.remove('error');
    const f = file.files[0];
    const v = version.value.trim();
    /* fota-admin's local checks, with its words: nothing is sent */
    if (!f) {
      result.classList.add('error');
      put(result, 'release add needs a FILE');
      file.focus();
      return;
    }
    if (version.value && (!v || new TextEncoder().encode(v).length > VERSION_MAX)) {
      result.classList.add('error');
      put(result, `--version must be 1-${VERSION_MAX} characters (the longest a device takes ` +
        `in an offer), got ${new TextEncoder().encode(v).length}: "${v}"; nothing sent`);
      version.focus();
      return;
    }
    const q = {chunk_size: chunk.value};
    if (v) q.version = v;
    if (slot.value.trim()) q.slot_size = slot.value.trim();
    submit.disabled = true;
    progress.value = 0;
    put(progressText, '0 %');
    put(result, `uploading ${f.name}...`);
    try {
      const rel = await uploadRelease(f, q, (sent, total) => {
        const pct = total ? Math.floor((100 * sent) / total) : 0;
        progress.value = pct;
        put(progressText, `${pct} % (${sent.toLocaleString('en')} of ${total.toLocaleString('en')} bytes)`);
      });
      put(result, `release ${rel.id}: version ${rel.version}, ${rel.chip}, ${bytes(rel.size)}, ` +
        `${rel.total_chunks} chunks of ${rel.chunk_size}, signed: ${rel.signed ? 'yes' : 'no'}`);
      form.reset();
      reload();
    } catch (e) {
      result.classList.add('error');
      put(result, e instanceof ApiError ? e.message : String(e));
    } finally {
      submit.disabled = false;
    }
  });

  const load = async () => {
    const {releases} = await api('GET', 'releases');
    releases.sort((a, b) => b.id - a.id);
    if (!changed(drawn, releases)) return;
    put(list, table('Releases', ['ID', 'Version', 'Chip', 'Size', 'Signed', 'Project', 'Created',
                                 'SHA-256'],
      releases.map((r) => [`#${r.id}`, r.version, r.chip, bytes(r.size),
        r.signed ? 'signed' : 'unsigned', r.project, time(r.created_at),
        h('code', {title: r.sha256}, `${r.sha256.slice(0, 12)}...`)]),
      'No release yet: upload one above.'));
  };
  /* a successful upload shows in the list at once */
  reload = () => load().catch(() => { /* the poll shows it */ });
  put(main, h('h1', {}, 'Releases'), status,
    card('Upload a release', form),
    card('Releases', list));
  return poll(status, load);
}

/* --- rollouts -------------------------------------------------------------- */

const ACTIONS = {
  running: ['pause', 'abort'], paused: ['resume', 'abort'], halted: ['abort'],
  completed: ['abort'], aborted: [],
};

/* A modal confirmation (<dialog>: focus moves into it, Escape cancels).
 * Resolves with the reason typed, or null when cancelled. */
function confirmAction(title, text, okLabel) {
  return new Promise((resolve) => {
    const reason = h('input', {id: 'confirm-reason', type: 'text', maxlength: 200,
                               autocomplete: 'off'});
    const dlg = h('dialog', {class: 'confirm', 'aria-labelledby': 'confirm-title'},
      h('form', {method: 'dialog'},
        h('h2', {id: 'confirm-title'}, title),
        h('p', {}, text),
        h('label', {for: 'confirm-reason'}, 'Reason (kept in the rollout\'s events and the audit log)'),
        reason,
        h('div', {class: 'buttons'},
          h('button', {type: 'submit', value: 'cancel', class: 'quiet'}, 'Cancel'),
          h('button', {type: 'submit', value: 'ok', class: 'danger'}, okLabel))));
    dlg.addEventListener('close', () => {
      resolve(dlg.returnValue === 'ok' ? reason.value.trim() : null);
      dlg.remove();
    });
    document.body.append(dlg);
    dlg.showModal();
    reason.focus();
  });
}

function rolloutCard(r, onAction) {
  const stages = r.stages.map((s) => h('div', {class: `stage${s.open ? '' : ' closed'}`},
    h('h3', {}, `Stage ${s.stage} of ${r.stages.length}: up to ${s.upto}`,
      h('span', {class: 'hint'}, ` (${s.devices} device${s.devices === 1 ? '' : 's'}, ` +
        `${s.open ? 'open' : 'not open yet'})`)),
    STAGE_BARS.map(([k, label]) => bar(label, s[k], s.devices, `k-${k}`))));
  const buttons = (ACTIONS[r.state] || []).map((a) => h('button', {
    type: 'button', class: a === 'abort' ? 'danger' : '',
    onclick: () => onAction(r, a)}, `${a[0].toUpperCase()}${a.slice(1)}`));
  const target = r.target === 'all' ? 'all devices' : r.target === 'chip' ? `chip ${r.chip}`
    : r.target === 'tag' ? `tag ${r.tag}` : 'listed devices';
  return h('article', {class: 'card rollout', 'aria-labelledby': `ro-${r.id}`,
                       'data-rollout': r.id, 'data-state': r.state},
    h('h2', {id: `ro-${r.id}`}, `Rollout #${r.id}: release #${r.release}`,
      r.version ? ` (${r.version})` : '', ` to ${target} `, stateBadge(r.state)),
    h('p', {class: 'meta'}, `stage ${r.current_stage} of ${r.stages.length} · stages ${r.stages_spec}` +
      ` · halts above ${r.max_failure_pct} % failures (after ${r.min_devices} finished)` +
      ` · created `, time(r.created_at)),
    r.reason ? h('p', {class: r.state === 'halted' ? 'error reason' : 'reason'},
      r.state === 'halted' ? 'Halt reason: ' : 'Last change: ', r.reason) : null,
    stages,
    buttons.length ? h('div', {class: 'buttons'}, buttons) : null);
}

export function rolloutsPage(main) {
  const status = liveStatus();
  const list = h('div');
  const msg = h('p', {id: 'ro-result', role: 'status'});
  const release = h('select', {id: 'ro-release', required: true});
  const kind = h('select', {id: 'ro-kind'},
    h('option', {value: 'chip'}, 'every device of a chip'),
    h('option', {value: 'devices'}, 'listed devices'),
    h('option', {value: 'tag'}, 'devices with a tag'),
    h('option', {value: 'all'}, 'all devices'));
  const value = h('input', {id: 'ro-value', type: 'text', value: 'esp32', autocomplete: 'off',
                            'aria-describedby': 'ro-value-hint'});
  const stagesIn = h('input', {id: 'ro-stages', type: 'text', value: '1%,10%,50%,100%',
                               autocomplete: 'off'});
  const minDev = h('input', {id: 'ro-min', type: 'number', min: 1, value: 5});
  const maxFail = h('input', {id: 'ro-maxfail', type: 'number', min: 0, max: 100, value: 10});
  const form = h('form', {id: 'rollout-form', novalidate: true},
    h('div', {class: 'row'},
      h('div', {class: 'field'}, h('label', {for: 'ro-release'}, 'Release'), release),
      h('div', {class: 'field'}, h('label', {for: 'ro-kind'}, 'Target'), kind),
      h('div', {class: 'field'}, h('label', {for: 'ro-value'}, 'Chip, devices or tag'), value,
        h('p', {id: 'ro-value-hint', class: 'hint'}, 'Devices: ids separated by commas.'))),
    h('div', {class: 'row'},
      h('div', {class: 'field'}, h('label', {for: 'ro-stages'}, 'Stages'), stagesIn),
      h('div', {class: 'field'}, h('label', {for: 'ro-min'}, 'Min. devices per verdict'), minDev),
      h('div', {class: 'field'}, h('label', {for: 'ro-maxfail'}, 'Max. failures (%)'), maxFail)),
    h('button', {type: 'submit'}, 'Start rollout'), msg);
  kind.addEventListener('change', () => { value.disabled = kind.value === 'all'; });
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    msg.classList.remove('error');
    const body = {release: Number(release.value), stages: stagesIn.value.trim(),
                  min_devices: Number(minDev.value), max_failure_pct: Number(maxFail.value)};
    if (kind.value === 'all') body.all = true;
    else if (kind.value === 'devices') {
      body.devices = value.value.split(',').map((s) => s.trim()).filter(Boolean);
    } else body[kind.value] = value.value.trim();
    try {
      const r = await api('POST', 'rollouts', body);
      put(msg, `rollout ${r.id} started: release #${r.release}, ${r.stages.length} stage(s)`);
      load();
    } catch (e) {
      msg.classList.add('error');
      put(msg, e.message);
    }
  });

  const onAction = async (r, action) => {
    const words = {pause: ['Pause', 'No new device is offered the release until you resume; ' +
                             'updates under way finish.'],
                   resume: ['Resume', 'Offers start again where the rollout stopped.'],
                   abort: ['Abort', 'Nothing more is offered, ever; devices keep what they ' +
                             'confirmed. This cannot be undone.']}[action];
    const reason = await confirmAction(`${words[0]} rollout #${r.id}?`, words[1],
                                       `${words[0]} rollout`);
    if (reason === null) return;
    try {
      await api('POST', 'rollout-actions', {rollout: r.id, action, reason});
      msg.classList.remove('error');
      put(msg, `rollout ${r.id}: ${action} done`);
    } catch (e) {
      msg.classList.add('error');
      put(msg, e.message);
    }
    load();
  };

  let releasesShown = '';
  const drawn = {};
  const load = async () => {
    const [{rollouts}, {releases}] = await Promise.all([api('GET', 'rollouts'),
                                                        api('GET', 'releases')]);
    const key = releases.map((r) => r.id).join(',');
    if (key !== releasesShown) { /* keep the operator's choice across polls */
      const chosen = release.value;
      put(release, releases.sort((a, b) => b.id - a.id).map((r) =>
        h('option', {value: r.id}, `#${r.id} ${r.version} (${r.chip})`)));
      if (chosen && releases.some((r) => String(r.id) === chosen)) release.value = chosen;
      releasesShown = key;
    }
    rollouts.sort((a, b) => b.id - a.id);
    if (!changed(drawn, rollouts)) return;
    put(list, rollouts.length ? rollouts.map((r) => rolloutCard(r, onAction))
      : h('p', {class: 'empty'}, 'No rollout yet.'));
  };
  put(main, h('h1', {}, 'Rollouts'), status, card('Start a rollout', form),
    h('div', {id: 'rollouts'}, list));
  return poll(status, load);
}

/* --- device ---------------------------------------------------------------- */

export function devicePage(main, id) {
  const status = liveStatus();
  const facts = h('div'), timeline = h('div');
  const drawn = {};
  put(main, h('p', {}, h('a', {href: '#/fleet'}, 'Fleet'), ' / device'),
    h('h1', {}, 'Device ', h('span', {class: 'id'}, id)), status,
    card('State', facts), card('Status timeline', timeline));
  return poll(status, async () => {
    const d = await api('GET', `devices/${encodeURIComponent(id)}`);
    if (!changed(drawn, d)) return;
    const progress = d.total_chunks ? `${d.chunks_received} of ${d.total_chunks} chunks`
      : `${d.chunks_received} chunks`;
    const dl = (pairs) => h('dl', {class: 'facts'},
      pairs.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
    put(facts, dl([
      ['State', stateBadge(d.state)],
      ['Chip', d.chip],
      ['Running version', running(d) || 'not reported yet'],
      ['Version its last check reported', d.reported_version || 'none yet'],
      ['Last confirmed version', d.current_version || 'none yet'],
      ['Offered release', d.offered_release ? `#${d.offered_release}` : 'none'],
      ['Release of the last status', d.release ? `#${d.release} (${progress})` : 'none'],
      ['Last seen', time(d.last_seen)],
      ['Registered', time(d.created_at)],
      ['Last error', d.last_error
        ? h('span', {class: 'error'}, d.last_error_text || 'an error this server has no words for',
          ` (${d.last_error})`) : 'none'],
    ]));
    put(timeline, d.history.length
      ? h('ol', {class: 'timeline', 'aria-label': 'Status reports, newest first'},
        d.history.map((e) => h('li', {class: `s-${e.state}`},
          time(e.at), ' ', stateBadge(e.state), ` release #${e.release}`,
          e.chunks_received ? `, ${e.chunks_received} chunks` : '',
          e.error ? h('span', {class: 'error'}, ` ${e.error_text || ''} (${e.error})`) : null)))
      : h('p', {class: 'empty'}, 'No status reported yet.'));
  });
}

/* --- audit ----------------------------------------------------------------- */

export function auditPage(main) {
  const status = liveStatus();
  const list = h('div');
  const drawn = {};
  put(main, h('h1', {}, 'Audit log'), status,
    h('p', {class: 'hint'}, 'Every admin request that changed something or was refused, newest ' +
      'first (the last 200).'), card('Entries', list));
  return poll(status, async () => {
    const {audit} = await api('GET', 'audit?limit=200');
    if (!changed(drawn, audit)) return;
    put(list, table('Audit log', ['When', 'Who', 'Request', 'Result', 'Detail'],
      audit.map((a) => [time(a.at), a.who, `${a.method} ${a.path}`,
        h('span', {class: a.status >= 400 ? 'error' : ''}, `${a.status}${a.result ? ` ${a.result}` : ''}`),
        h('span', {class: 'detail'}, a.detail)]), 'Nothing yet.'));
  });
}
