// Injected into every meeting page before the platform's own scripts run.
// Finds every remote audio source (WebRTC tracks, media elements, audio graphs played to the
// speakers), mixes them with Web Audio, and hands 16 kHz PCM to the bot over a local
// WebSocket; also reports who is in the call and who speaks, read from the platform's DOM.
(() => {
  if (window.top !== window || window.__stenograph) return;
  const CONFIG = __STENOGRAPH_CONFIG__;
  const now = () => performance.timeOrigin + performance.now();
  const tracks = new Map(); // track id -> MediaStreamTrack
  const sources = new Map(); // track id -> source node in our context
  let ctx = null;
  let mixer = null;
  let ws = null;
  let epoch0 = null;
  const outbox = [];

  const send = (data) => {
    if (ws && ws.readyState === 1) ws.send(data);
    else if (outbox.length < 200) outbox.push(data);
  };
  const report = (obj) => send(JSON.stringify({ ...obj, at: now() }));

  function connect(track) {
    if (!ctx || sources.has(track.id) || track.readyState === "ended") return;
    const src = ctx.createMediaStreamSource(new MediaStream([track]));
    src.connect(mixer);
    sources.set(track.id, src);
    report({ type: "track", id: track.id, live: true, count: sources.size });
  }

  function addTrack(track) {
    if (!track || track.kind !== "audio" || tracks.has(track.id)) return;
    tracks.set(track.id, track);
    track.addEventListener("ended", () => {
      const src = sources.get(track.id);
      if (src) src.disconnect();
      sources.delete(track.id);
      tracks.delete(track.id);
      report({ type: "track", id: track.id, live: false, count: sources.size });
    });
    connect(track);
  }

  // WebRTC: every received track, including ones negotiated later.
  const NativePC = window.RTCPeerConnection;
  if (NativePC) {
    class CapturingPC extends NativePC {
      constructor(...args) {
        super(...args);
        this.addEventListener("track", (e) => addTrack(e.track));
      }
    }
    window.RTCPeerConnection = CapturingPC;
    if (window.webkitRTCPeerConnection) window.webkitRTCPeerConnection = CapturingPC;
  }

  // Audio graphs the page plays to its own speakers (web clients that decode audio in WASM).
  const taps = new WeakMap();
  const nativeConnect = AudioNode.prototype.connect;
  AudioNode.prototype.connect = function (target, ...rest) {
    const result = nativeConnect.call(this, target, ...rest);
    if (target instanceof AudioDestinationNode && this.context !== ctx) {
      let tap = taps.get(this.context);
      if (!tap) {
        tap = this.context.createMediaStreamDestination();
        taps.set(this.context, tap);
        addTrack(tap.stream.getAudioTracks()[0]);
      }
      nativeConnect.call(this, tap);
    }
    return result;
  };

  // Media elements: streams attached directly, and tracks added to them later.
  function scanMedia() {
    for (const el of document.querySelectorAll("audio, video")) {
      const stream = el.srcObject;
      if (!stream || typeof stream.getAudioTracks !== "function") continue;
      stream.getAudioTracks().forEach(addTrack);
      if (!stream.__stenograph) {
        stream.__stenograph = true;
        stream.addEventListener("addtrack", (e) => addTrack(e.track));
      }
    }
  }

  // Participants and speaking indicators, diffed against the last scan.
  let people = new Map(); // id -> {name, speaking}
  const indicates = (tile, selector) =>
    tile.matches(selector) || tile.querySelector(selector) !== null || tile.closest(selector) !== null;
  const isSelf = (name) =>
    name === CONFIG.self_name || name.startsWith(CONFIG.self_name + " (");

  function scanPeople() {
    const sel = CONFIG.people;
    const seen = new Map();
    for (const tile of document.querySelectorAll(sel.tile)) {
      const id = (sel.id_attr && tile.getAttribute(sel.id_attr)) || null;
      const nameEl = sel.name ? tile.querySelector(sel.name) : tile;
      const name = ((nameEl && nameEl.textContent) || "").trim();
      if ((!name && !id) || isSelf(name)) continue;
      const key = id || name;
      const speaking = indicates(tile, sel.speaking);
      const known = seen.get(key);
      // one participant can have several tiles (a strip and the active-speaker frame)
      if (known) known.speaking = known.speaking || speaking;
      else seen.set(key, { name: name || key, speaking });
    }
    for (const [id, p] of seen) {
      const before = people.get(id);
      if (!before) report({ type: "participant", id, name: p.name, joined: true });
      if (p.speaking !== (before ? before.speaking : false))
        report({ type: "speaker", id, name: p.name, speaking: p.speaking });
    }
    for (const [id, p] of people) {
      if (seen.has(id)) continue;
      if (p.speaking) report({ type: "speaker", id, name: p.name, speaking: false });
      report({ type: "participant", id, name: p.name, joined: false });
    }
    people = seen;
  }

  // What the page says about the bot's place in the meeting.
  function probe() {
    const text = document.body ? document.body.innerText || "" : "";
    const has = (list) => (list || []).some((s) => document.querySelector(s) !== null);
    const says = (list) => (list || []).find((t) => text.includes(t)) || null;
    const s = CONFIG.state;
    return {
      rejected: says(s.rejected_text),
      removed: says(s.removed_text),
      ended: says(s.ended_text),
      admitted: has(s.admitted),
      lobby: has(s.lobby) || !!says(s.lobby_text),
      others: people.size,
      tracks: sources.size,
    };
  }

  let scheduled = false;
  const rescan = () => {
    if (scheduled) return;
    scheduled = true;
    setTimeout(() => {
      scheduled = false;
      scanMedia();
      if (ctx) scanPeople();
    }, 50);
  };

  async function start() {
    if (ctx) return;
    ctx = new AudioContext({ latencyHint: "interactive" });
    const url = URL.createObjectURL(new Blob([CONFIG.worklet], { type: "text/javascript" }));
    await ctx.audioWorklet.addModule(url);
    mixer = ctx.createGain();
    const chunkSamples = CONFIG.chunk_samples;
    const node = new AudioWorkletNode(ctx, "stenograph-capture", {
      numberOfInputs: 1, numberOfOutputs: 1, channelCount: 1, channelCountMode: "explicit",
      processorOptions: { outRate: CONFIG.sample_rate, chunkSamples },
    });
    node.port.onmessage = ({ data }) => {
      const step = ctx.sampleRate / CONFIG.sample_rate;
      if (epoch0 === null) epoch0 = now() - ((data.frame + chunkSamples * step) / ctx.sampleRate) * 1000;
      const head = new Float64Array([epoch0 + (data.frame / ctx.sampleRate) * 1000]);
      const out = new Uint8Array(8 + data.pcm.byteLength);
      out.set(new Uint8Array(head.buffer), 0);
      out.set(new Uint8Array(data.pcm), 8);
      send(out.buffer);
    };
    const mute = ctx.createGain();
    mute.gain.value = 0; // the graph must reach a destination to run; the bot never makes a sound
    mixer.connect(node);
    node.connect(mute);
    nativeConnect.call(mute, ctx.destination);
    ws = new WebSocket(CONFIG.bridge);
    ws.binaryType = "arraybuffer";
    ws.onopen = () => { while (outbox.length) ws.send(outbox.shift()); };
    await ctx.resume();
    for (const track of tracks.values()) connect(track);
    scanMedia();
    scanPeople();
    return ctx.sampleRate;
  }

  function stop() {
    if (ws) ws.close();
    if (ctx) ctx.close();
  }

  window.__stenograph = { start, stop, probe };
  const observe = () => {
    new MutationObserver(rescan).observe(document.documentElement, {
      subtree: true, childList: true, attributes: true,
      attributeFilter: CONFIG.people.watch_attrs,
    });
  };
  if (document.documentElement) observe();
  else document.addEventListener("DOMContentLoaded", observe);
  setInterval(rescan, 500); // streams attached without any DOM change
})();
