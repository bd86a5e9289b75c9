// The mock meeting's engine, shared by the three platform pages; each page supplies a "skin"
// that renders the platform's own DOM. A scenario from the mock server says what happens:
// lobby verdict, who is in the call, who speaks when (real speech over a WebRTC loopback),
// who leaves, and whether the bot is removed or the meeting ends.
window.MockMeeting = (() => {
  const now = () => performance.timeOrigin + performance.now();
  let meetingId = null;
  let ctx = null;
  const timers = [];
  const people = new Map();

  const log = (event, extra = {}) =>
    fetch("/_mock/log", {
      method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify({ meeting: meetingId, event, at: now(), ...extra }),
    });
  const later = (seconds, fn) => { if (seconds !== null && seconds !== undefined) timers.push(setTimeout(fn, seconds * 1000)); };

  // A remote participant: their voice leaves one peer connection and arrives on another,
  // as media from a meeting's SFU arrives.
  async function connect(p) {
    const a = new RTCPeerConnection();
    const b = new RTCPeerConnection();
    a.onicecandidate = (e) => e.candidate && b.addIceCandidate(e.candidate);
    b.onicecandidate = (e) => e.candidate && a.addIceCandidate(e.candidate);
    const voice = ctx.createMediaStreamDestination();
    const arrived = new Promise((resolve) => { b.ontrack = (e) => resolve(e.streams[0] || new MediaStream([e.track])); });
    a.addTrack(voice.stream.getAudioTracks()[0], voice.stream);
    await a.setLocalDescription(await a.createOffer());
    await b.setRemoteDescription(a.localDescription);
    await b.setLocalDescription(await b.createAnswer());
    await a.setRemoteDescription(b.localDescription);
    return { a, b, voice, stream: await arrived };
  }

  async function join(skin, p) {
    const link = await connect(p);
    const person = { ...p, ...link };
    people.set(p.id, person);
    skin.addParticipant(person, link.stream);
    log("joined", { participant: p.name });
    for (const cue of p.speak || []) later(cue.at_s, () => speak(skin, person, cue.audio));
    later(p.leave_at_s, () => leave(skin, person));
  }

  function leave(skin, person) {
    if (!people.has(person.id)) return;
    people.delete(person.id);
    skin.removeParticipant(person);
    person.a.close();
    person.b.close();
    log("left", { participant: person.name });
  }

  async function speak(skin, person, audio) {
    const data = await (await fetch(audio)).arrayBuffer();
    const buffer = await ctx.decodeAudioData(data);
    const source = ctx.createBufferSource();
    source.buffer = buffer;
    source.connect(person.voice);
    source.onended = () => {
      skin.setSpeaking(person, false);
      log("speak_end", { participant: person.name, audio });
    };
    skin.setSpeaking(person, true);
    source.start();
    log("speak_start", { participant: person.name, audio, duration: buffer.duration });
  }

  function stop() {
    timers.forEach(clearTimeout);
    for (const person of people.values()) { person.a.close(); person.b.close(); }
    people.clear();
  }

  async function start(skin) {
    meetingId = skin.meetingId(location);
    const scenario = await (await fetch(`/_mock/scenario/${meetingId}`)).json();
    ctx = new AudioContext();
    // Platforms show a preview of the user's devices on the pre-join screen.
    let preview = null;
    try { preview = await navigator.mediaDevices.getUserMedia({ audio: true, video: true }); } catch (e) { /* no devices */ }
    const enter = async (name) => {
      skin.call(name);
      log("admitted", { name });
      await ctx.resume();
      for (const p of scenario.participants || []) later(p.join_at_s || 0, () => join(skin, p));
      later(scenario.remove_at_s, () => { stop(); skin.removed(); log("removed"); });
      later(scenario.end_at_s, () => { stop(); skin.ended(); log("ended"); });
    };
    skin.onLeave = () => { stop(); skin.left(); log("bot_left"); };
    skin.prejoin((name, state) => {
      log("asked_to_join", { name, ...state });
      // devices the user turned off are released, as the platforms do
      if (preview) for (const t of preview.getTracks())
        if (state[t.kind === "audio" ? "mic" : "camera"] === "off") t.stop();
      if (scenario.lobby === "none") return enter(name);
      skin.lobby();
      if (scenario.lobby === "admit") later(scenario.verdict_after_s || 1, () => enter(name));
      if (scenario.lobby === "deny") later(scenario.verdict_after_s || 1, () => { skin.denied(); log("denied"); });
    });
  }

  return { start, log };
})();
