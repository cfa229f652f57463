// The robot's page. Everything arrives over one WebSocket (/live): JSON messages for state, faces,
// telemetry and warnings, binary ones for the camera image. Commands go to /api/commands/<name>.
// Text from the robot (warnings, what was said) is set as textContent, never parsed as HTML.
'use strict';

const EMOTIONS = ['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral'];
const COLOURS = { angry: '#e53e3e', disgust: '#38a169', fear: '#805ad5', happy: '#d69e2e', sad: '#3182ce', surprise: '#dd6b20', neutral: '#718096' };
const TIMELINE_MS = 60_000;
const CHART_POINTS = 60;

const $ = (id) => document.getElementById(id);
const el = (tag, props = {}, children = []) => {
  const node = Object.assign(document.createElement(tag), props);
  for (const child of children) node.append(child);
  return node;
};

const page = {
  state: null,
  faces: null,
  timeline: [],
  telemetry: [],
  servos: null,
  imageUrl: null,
  loadingUrl: null,
  // The robot's clock minus this one's: the timeline is drawn in the robot's time.
  clockOffsetMs: 0,
};

// ---- emotion bars -------------------------------------------------------------------------------
const bars = {};
for (const label of EMOTIONS) {
  const fill = el('div', { className: 'fill' });
  fill.style.background = COLOURS[label];
  const pct = el('span', { className: 'pct', textContent: '–' });
  const row = el('div', { className: 'bar' }, [el('span', { textContent: label }), el('div', { className: 'track' }, [fill]), pct]);
  row.dataset.label = label;
  $('bars').append(row);
  bars[label] = { fill, pct };
  const key = el('span', { textContent: label });
  key.style.setProperty('--c', COLOURS[label]);
  $('legend').append(key);
}

function showProbabilities(probabilities) {
  for (const label of EMOTIONS) {
    const p = probabilities ? probabilities[label] ?? 0 : 0;
    bars[label].fill.style.width = `${Math.round(p * 100)}%`;
    bars[label].pct.textContent = probabilities ? `${Math.round(p * 100)}%` : '–';
  }
}

// ---- camera image and faces ---------------------------------------------------------------------
const overlay = $('overlay');
const context = overlay.getContext('2d');

// One picture shown and at most one loading: a picture that arrives while another still loads replaces
// it, and every replaced or shown-and-replaced picture's URL is released (a slow phone must not leak).
function showImage(blob) {
  const img = $('camera');
  if (page.loadingUrl) URL.revokeObjectURL(page.loadingUrl);
  const url = URL.createObjectURL(blob);
  page.loadingUrl = url;
  img.onload = img.onerror = () => {
    if (page.loadingUrl !== url) return;
    page.loadingUrl = null;
    if (page.imageUrl) URL.revokeObjectURL(page.imageUrl);
    page.imageUrl = url;
  };
  img.src = url;
}

function drawFaces(message) {
  page.faces = message;
  page.clockOffsetMs = message.at - Date.now();
  const { width, height, faces } = message;
  if (overlay.width !== width || overlay.height !== height) Object.assign(overlay, { width, height });
  context.clearRect(0, 0, width, height);
  const scale = Math.max(1, width / 640);
  context.lineWidth = 2 * scale;
  context.font = `${Math.round(14 * scale)}px system-ui, sans-serif`;
  for (const face of faces) {
    const colour = COLOURS[face.label] || '#fff';
    const { x, y, width: w, height: h } = face.box;
    context.strokeStyle = colour;
    context.setLineDash(face.attended ? [] : [6 * scale, 4 * scale]);
    context.strokeRect(x, y, w, h);
    context.setLineDash([]);
    const text = `${face.label} ${Math.round(face.confidence * 100)}%`;
    const textWidth = context.measureText(text).width + 8 * scale;
    const labelY = y > 20 * scale ? y - 20 * scale : y + h;
    context.fillStyle = colour;
    context.fillRect(x, labelY, textWidth, 20 * scale);
    context.fillStyle = '#fff';
    context.fillText(text, x + 4 * scale, labelY + 15 * scale);
    if (face.landmarks) {
      context.fillStyle = '#fff';
      for (const point of Object.values(face.landmarks)) {
        context.beginPath();
        context.arc(point.x, point.y, 2.5 * scale, 0, Math.PI * 2);
        context.fill();
      }
    }
  }
  const attended = faces.find((f) => f.attended);
  $('faces-line').textContent = faces.length ? `${faces.length} face${faces.length > 1 ? 's' : ''} in view${attended ? `, attending to #${attended.trackId}` : ''}` : 'no face in view';
  $('emotion-now').textContent = attended ? attended.label : '—';
  showProbabilities(attended ? attended.probabilities : null);
  if (attended) addToTimeline({ at: message.at, probabilities: attended.probabilities });
}

// ---- 60-second timeline -------------------------------------------------------------------------
function addToTimeline(point) {
  const last = page.timeline[page.timeline.length - 1];
  if (last && point.at - last.at < 250) return;
  page.timeline.push(point);
  while (page.timeline.length && page.timeline[0].at < point.at - TIMELINE_MS) page.timeline.shift();
}

function drawTimeline() {
  const canvas = $('timeline');
  const g = canvas.getContext('2d');
  const { width, height } = canvas;
  g.clearRect(0, 0, width, height);
  g.strokeStyle = '#e2e8f0';
  g.lineWidth = 1;
  for (let i = 0; i <= 4; i++) {
    const y = Math.round((height - 1) * (i / 4)) + 0.5;
    g.beginPath();
    g.moveTo(0, y);
    g.lineTo(width, y);
    g.stroke();
  }
  const now = Date.now() + page.clockOffsetMs;
  for (const label of EMOTIONS) {
    g.strokeStyle = COLOURS[label];
    g.lineWidth = 2;
    g.beginPath();
    let previous = null;
    for (const point of page.timeline) {
      const x = width - ((now - point.at) / TIMELINE_MS) * width;
      const y = height - 2 - (point.probabilities[label] ?? 0) * (height - 4);
      // A gap of more than two seconds is nobody in view: the line breaks there.
      if (previous === null || point.at - previous > 2000) g.moveTo(x, y);
      else g.lineTo(x, y);
      previous = point.at;
    }
    g.stroke();
  }
}

// ---- state, head and health ---------------------------------------------------------------------
function showState(state) {
  page.state = state;
  const rows = [
    ['mode', state.mode],
    ['muted', state.muted ? 'yes' : 'no'],
    ['activity', state.activity ?? '–'],
    ['speaking', state.speaking ? 'yes' : 'no'],
    ['faces', String(state.faces)],
    ['model', state.model ? `${state.model.split('/').pop()} on ${state.executionProvider}` : '–'],
    ['detector', state.detector ? `${state.detector.name} (${state.detector.package} ${state.detector.version})` : '–'],
    ['version', state.version],
  ];
  $('state').replaceChildren(...rows.flatMap(([key, value]) => [el('dt', { textContent: key }), el('dd', { textContent: value })]));
  $('state').dataset.mode = state.mode;
  for (const button of document.querySelectorAll('[data-mode]')) button.classList.toggle('on', button.dataset.mode === state.mode);
  $('mute').textContent = state.muted ? 'Unmute' : 'Mute';
  $('mute').classList.toggle('on', state.muted);
  $('subsystems').replaceChildren(...Object.entries(state.subsystems).map(([name, s]) => el('li', { className: s, textContent: `${name}: ${s}` })));
}

function drawHead(report) {
  page.servos = report;
  const canvas = $('head');
  const g = canvas.getContext('2d');
  const { width, height } = canvas;
  g.clearRect(0, 0, width, height);
  const servos = report ? report.servos : {};
  const pan = servos.head_pan ? servos.head_pan.offsetDeg : 0;
  const tilt = servos.head_tilt ? servos.head_tilt.offsetDeg : 0;
  // Seen from above for pan, from the side for tilt: two small dials with the head's direction.
  const dial = (cx, label, degrees, rotate) => {
    g.strokeStyle = '#cbd5e0';
    g.lineWidth = 2;
    g.beginPath();
    g.arc(cx, 70, 42, 0, Math.PI * 2);
    g.stroke();
    g.save();
    g.translate(cx, 70);
    g.rotate(rotate(degrees));
    g.fillStyle = '#2b6cb0';
    g.fillRect(-14, -12, 28, 24);
    g.fillStyle = '#fff';
    g.fillRect(8, -8, 5, 5);
    g.fillRect(8, 3, 5, 5);
    g.strokeStyle = '#2b6cb0';
    g.beginPath();
    g.moveTo(14, 0);
    g.lineTo(40, 0);
    g.stroke();
    g.restore();
    g.fillStyle = '#4a5568';
    g.font = '12px system-ui, sans-serif';
    g.textAlign = 'center';
    g.fillText(`${label} ${degrees.toFixed(0)}°`, cx, 132);
  };
  dial(55, 'pan', pan, (d) => (-d * Math.PI) / 180);
  dial(165, 'tilt', tilt, (d) => (-d * Math.PI) / 180);
  $('servos').replaceChildren(
    ...Object.entries(servos).map(([name, s]) => el('div', { textContent: `${name}: ${s.offsetDeg.toFixed(1)}° (limits ${s.minDeg.toFixed(0)}…${s.maxDeg.toFixed(0)}°)` })),
  );
}

// ---- telemetry charts ---------------------------------------------------------------------------
function sparkline(canvas, series, colours) {
  const g = canvas.getContext('2d');
  const { width, height } = canvas;
  g.clearRect(0, 0, width, height);
  const values = series.flat().filter((v) => typeof v === 'number');
  if (!values.length) return;
  const max = Math.max(...values) * 1.1 || 1;
  series.forEach((line, i) => {
    g.strokeStyle = colours[i];
    g.lineWidth = 1.5;
    g.beginPath();
    line.forEach((v, j) => {
      if (typeof v !== 'number') return;
      // The newest sample at the right edge, older ones to its left.
      const x = width - ((line.length - 1 - j) / (CHART_POINTS - 1)) * width;
      const y = height - 2 - (v / max) * (height - 4);
      if (j === 0 || typeof line[j - 1] !== 'number') g.moveTo(x, y);
      else g.lineTo(x, y);
    });
    g.stroke();
  });
}

function showTelemetry(sample) {
  if (sample) {
    page.telemetry.push(sample);
    if (page.telemetry.length > CHART_POINTS) page.telemetry.shift();
  }
  const t = page.telemetry;
  const last = t[t.length - 1];
  if (!last) return;
  const pick = (key) => t.map((s) => s[key]);
  sparkline($('c-fps'), [pick('cameraFps'), pick('visionFps')], ['#2b6cb0', '#d69e2e']);
  sparkline($('c-cpu'), [pick('cpuPercent')], ['#c53030']);
  sparkline($('c-temp'), [pick('cpuTemperatureC')], ['#dd6b20']);
  sparkline($('c-mem'), [pick('rssMb'), pick('heapMb')], ['#2f855a', '#805ad5']);
  $('v-fps').textContent = `${last.cameraFps} / ${last.visionFps}`;
  $('v-cpu').textContent = last.cpuPercent === undefined ? 'n/a' : String(last.cpuPercent);
  $('v-temp').textContent = last.cpuTemperatureC === undefined ? 'n/a' : last.cpuTemperatureC.toFixed(1);
  $('v-mem').textContent = `${last.rssMb}`;
}

// ---- warnings and conversation ------------------------------------------------------------------
function clock(at) {
  return el('time', { textContent: new Date(at).toLocaleTimeString() });
}

function addWarning(entry) {
  const list = $('warnings');
  if (list.firstElementChild && list.firstElementChild.classList.contains('muted')) list.replaceChildren();
  list.prepend(el('li', { className: entry.level }, [clock(entry.time), `${entry.subsystem ? `${entry.subsystem}: ` : ''}${entry.msg}`]));
  while (list.children.length > 20) list.lastElementChild.remove();
}

function addConversation(entry) {
  const who = entry.role === 'robot' ? 'robot' : 'person';
  $('conversation').prepend(el('li', {}, [clock(entry.at), `${who}: ${entry.text}`]));
  while ($('conversation').children.length > 20) $('conversation').lastElementChild.remove();
}

// ---- controls -----------------------------------------------------------------------------------
async function command(name, payload) {
  const result = $('command-result');
  try {
    const response = await fetch(`/api/commands/${name}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(payload), credentials: 'same-origin' });
    const reply = await response.json();
    result.textContent = reply.ok ? `${name}: done` : `${name}: ${reply.error.field ? `${reply.error.field}: ` : ''}${reply.error.message}`;
  } catch (err) {
    result.textContent = `${name}: ${err.message}`;
  }
}

for (const button of document.querySelectorAll('[data-mode]')) button.addEventListener('click', () => command('mode', { mode: button.dataset.mode }));
$('mute').addEventListener('click', () => command(page.state && page.state.muted ? 'unmute' : 'mute', {}));
$('say-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const text = $('say-text').value.trim();
  if (text) command('say', { text }).then(() => ($('say-text').value = ''));
});
$('pose-form').addEventListener('submit', (event) => {
  event.preventDefault();
  if ($('pose-name').value) command('pose', { name: $('pose-name').value });
});

// ---- the live connection ------------------------------------------------------------------------
function hello(message) {
  $('robot-name').textContent = message.robot.name;
  document.title = message.robot.name;
  $('pose-name').replaceChildren(...message.poses.map((name) => el('option', { value: name, textContent: name })));
  $('no-camera').hidden = message.camera;
  $('conversation-panel').hidden = !message.conversation;
  page.timeline = message.timeline.slice();
  page.telemetry = message.telemetry.slice(-CHART_POINTS);
  showState(message.state);
  showTelemetry(null);
  drawHead(message.servos);
  $('warnings').replaceChildren(el('li', { className: 'muted', textContent: 'none' }));
  for (const entry of message.warnings) addWarning(entry);
  $('conversation').replaceChildren();
  for (const entry of message.said) addConversation(entry);
}

const handlers = {
  hello,
  state: (m) => showState(m.state),
  telemetry: (m) => showTelemetry(m.telemetry),
  faces: drawFaces,
  servos: (m) => drawHead(m.servos),
  warning: (m) => addWarning(m.entry),
  conversation: (m) => addConversation(m.entry),
};

let retryMs = 500;
function connect() {
  const socket = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/live`);
  socket.binaryType = 'blob';
  socket.onopen = () => {
    retryMs = 500;
    $('link').textContent = 'live';
    $('link').className = 'badge ok';
  };
  socket.onmessage = (event) => {
    if (event.data instanceof Blob) return showImage(event.data);
    const message = JSON.parse(event.data);
    const handler = handlers[message.type];
    if (handler) handler(message);
  };
  socket.onclose = () => {
    $('link').textContent = 'reconnecting…';
    $('link').className = 'badge bad';
    setTimeout(connect, retryMs);
    retryMs = Math.min(10_000, retryMs * 2);
  };
}

setInterval(drawTimeline, 250);
drawHead(null);
connect();
