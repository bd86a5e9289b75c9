"""Streaming quality side by side: Stenograph's gateway, WhisperLive and WhisperLiveKit.

Every system runs tiny.en from this project's packaged model on the CPU, one server at a time,
and hears each recording once, in real time. Stenograph and WhisperLive get whisper-live's own
TranscriptionClient (run in a scratch directory: it writes a resampled copy and an .srt there);
WhisperLiveKit speaks another protocol, so it gets the smallest real-time client of its own.

- final text: what the client ended with; WER against offline faster-whisper on the same file
  (this project's FasterWhisperTranscriber, beam 5, VAD) and against the script where one exists;
- final latency: for each final piece of text a client receives, (time received) minus (stream
  start + the end time the server gives it), pooled over the corpus;
- Stenograph's settled transcript as well: the meeting's default transcript once its settled run
  is complete.

The peers come from tests/bench/peers_setup.sh, each in a virtualenv of its own.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jiwer
from websockets.asyncio.client import connect

from stenograph.capture.decode import decode_to_pcm16
from stenograph.compose.local.processes import ManagedProcess, free_port, port_open
from tests.bench.live import _pct
from tests.bench.quality import REFERENCES
from tests.support import DATA, Pipeline, make_pipeline, start_local_infra, words

CORPUS = ("jfk.flac", "meetings/standup.wav", "meetings/incident.wav", "pyannote_sample.wav",
          "ami_dev00.wav", "ami_trn03.wav")
# stenograph-agree: the same stack with STENOGRAPH_LIVE_POLICY=agree (the default is pause)
SYSTEMS = ("whisperlive", "whisperlivekit", "stenograph", "stenograph-agree")
PEERS_DIR = Path(os.environ.get("STENOGRAPH_PEERS_DIR", Path.home() / ".cache/stenograph/peers"))
ROOT = Path(__file__).resolve().parents[2]
PACKET = 4096  # samples per packet, as whisper-live's client sends them
MARK = "PEERS_RESULT "


@dataclass
class Stream:
    """What a client ended with for one file."""

    text: str
    latencies: list[float] = field(default_factory=list)
    uid: str = ""
    error: str = ""  # what went wrong, if the stream still gave text


@dataclass
class System:
    texts: dict[str, str] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    error: str | None = None  # the system could not run at all


# --- whisper-live's stock client, in a subprocess -------------------------------------------

def _client_main(path: str, host: str, port: int) -> None:
    """`python -m tests.bench.peers client FILE HOST PORT`: the stock client plays FILE in real
    time; prints its transcript and when each completed segment first arrived."""
    from whisper_live.client import TranscriptionClient

    first_seen: dict[tuple[str, str, str], float] = {}

    def on_segments(text: str, segments: list[dict[str, Any]]) -> None:  # every segments message
        now = time.time()
        for s in segments:
            if s.get("completed"):
                first_seen.setdefault((str(s["start"]), str(s["end"]), s["text"]), now)

    class Timed(TranscriptionClient):
        t0 = 0.0
        sent = 0  # float32 samples sent

        def multicast_packet(self, packet: bytes, unconditional: bool = False) -> None:
            self.t0 = self.t0 or time.time()  # the first audio packet: the stream's start
            if not unconditional:  # audio, not END_OF_AUDIO
                self.sent += len(packet) // 4
            super().multicast_packet(packet, unconditional)

    tc = Timed(host, port, lang="en", model="tiny.en", log_transcription=False, mute_audio_playback=True,
               output_transcription_path="out.srt", transcription_callback=on_segments)
    c = tc.client

    def wait_before_disconnect() -> None:  # the stock one spins a core for these 15 s: same rule, asleep
        while time.time() - c.last_response_received < c.disconnect_if_no_response_for:
            time.sleep(0.05)

    c.wait_before_disconnect = wait_before_disconnect
    text = tc(path)  # plays the file, waits 15 s without news, sends END_OF_AUDIO, writes the .srt
    print(MARK + json.dumps({
        "text": text or "", "uid": c.uid, "t0": tc.t0, "sent_s": tc.sent / 16000,
        "server_error": c.server_error, "error": str(getattr(c, "error_message", "")),
        "finals": [{"end": float(end), "received": t} for (_, end, _), t in first_seen.items()],
    }), flush=True)


def _stock_client(path: Path, port: int, scratch: Path, timeout: float) -> Stream:
    scratch.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [sys.executable, "-m", "tests.bench.peers", "client", str(path), "127.0.0.1", str(port)],
        cwd=scratch, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
        timeout=timeout,
    )
    out = [line for line in proc.stdout.splitlines() if line.startswith(MARK)]
    if not out:
        raise RuntimeError(f"client exited {proc.returncode}: {(proc.stdout + proc.stderr)[-600:]}")
    r = json.loads(out[-1][len(MARK):])
    if not r["t0"]:
        raise RuntimeError(f"client sent no audio ({r['error'] or proc.stdout[-300:]})")
    # websocket-client reports the server's normal close (after END_OF_AUDIO) through on_error too
    error = r["error"] if r["server_error"] and "code 1000" not in r["error"] else ""
    if r["sent_s"] < len(decode_to_pcm16(path)) / 32000 - 0.5:  # the stock client stops once closed
        error = f"stream ended after {r['sent_s']:.1f} s of audio {error}".strip()
    return Stream(r["text"], [f["received"] - (r["t0"] + f["end"]) for f in r["finals"]], r["uid"], error)


# --- WhisperLiveKit's own protocol -----------------------------------------------------------

def _clock(value: str) -> float:
    """WhisperLiveKit's H:MM:SS.cc."""
    h, m, s = value.split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


async def _wlk_stream(url: str, pcm: bytes) -> Stream:
    """s16le packets in real time to /asr (server in --pcm-input mode), b"" to end, then read
    until ready_to_stop. Committed lines are final; the buffer is the open hypothesis."""
    latencies: list[float] = []
    last: dict[str, Any] = {}
    committed = 0  # committed words seen so far
    async with connect(url, max_size=None) as ws:
        config = json.loads(await ws.recv())
        if not config.get("useAudioWorklet"):
            raise RuntimeError(f"server not in PCM mode: {config}")
        t0 = time.time()

        async def read() -> None:
            nonlocal last, committed
            async for message in ws:
                msg = json.loads(message)
                if msg.get("type") == "ready_to_stop":
                    return
                if msg.get("error"):
                    raise RuntimeError(f"server: {msg['error']}")
                if "lines" not in msg:
                    continue
                last = msg
                said = [x for x in msg["lines"] if x.get("text") and x.get("speaker") != -2]
                n = len(words(" ".join(x["text"] for x in said)))
                if n > committed:  # newly committed text, final from now on
                    latencies.append(time.time() - (t0 + _clock(said[-1]["end"])))
                    committed = n

        reader = asyncio.create_task(read())
        step = PACKET * 2
        for i, start in enumerate(range(0, len(pcm), step)):
            await asyncio.sleep(max(0.0, t0 + i * PACKET / 16000 - time.time()))
            await ws.send(pcm[start : start + step])
        await ws.send(b"")
        await asyncio.wait_for(reader, 180)
    parts = [x["text"] for x in last.get("lines", []) if x.get("text") and x.get("speaker") != -2]
    return Stream(" ".join([*parts, last.get("buffer_transcription", "")]), latencies)


# --- the systems -----------------------------------------------------------------------------

def _peer_python(name: str) -> Path:
    exe = PEERS_DIR / name / "bin" / "python"
    if not exe.exists():
        raise RuntimeError(f"{exe} missing: run bash tests/bench/peers_setup.sh")
    return exe


def _play(system: System, files: tuple[str, ...], one: Callable[[str], Stream]) -> list[Stream]:
    """Each file through `one`; a file that fails is recorded and counts as empty text."""
    streams = []
    for name in files:
        try:
            s = one(name)
        except Exception as e:
            system.errors[name] = f"{type(e).__name__}: {e}"
            s = Stream("")
        if s.error:
            system.errors[name] = s.error
        system.texts[name] = s.text
        system.latencies += s.latencies
        streams.append(s)
    return streams


def _serve(tmp: Path, name: str, argv: list[str], ready: Callable[[], bool],
           timeout: float) -> ManagedProcess:
    proc = ManagedProcess(name, argv, tmp / "peers", env={"OMP_NUM_THREADS": str(os.cpu_count() or 1)},
                          ready=ready)
    proc.start()
    try:
        proc.wait_ready(timeout)
    except Exception as e:
        proc.stop()
        raise RuntimeError(f"{name} server did not start: {e}\n{proc.tail(8)}") from e
    return proc


def _whisperlive(tmp: Path, files: tuple[str, ...], model: str) -> System:
    s = System(notes=[
        "whisper-live 0.10.0 server, faster_whisper backend, single model, CPU int8 (its choice without "
        "CUDA), started as its run_server.py does (TranscriptionServer().run; run_server.py is not in the "
        "wheel), OMP_NUM_THREADS = cores (run_server.py defaults to 1)",
        "VAD on: the faster_whisper backend uses faster-whisper's bundled Silero ONNX, nothing fetched "
        "(the downloading VoiceActivityDetector is only used by the TensorRT backend)",
        "stock client: TranscriptionClient(lang='en', use_vad=True default), its wait_before_disconnect "
        "replaced by a sleeping loop with the same 15 s rule (the stock one spins a core)",
    ])
    port = free_port()
    code = ("from whisper_live.server import TranscriptionServer; TranscriptionServer().run("
            f"'127.0.0.1', port={port}, backend='faster_whisper', "
            f"faster_whisper_custom_model_path={model!r}, single_model=True)")
    proc = _serve(tmp, "whisperlive", [str(_peer_python("whisperlive")), "-c", code],
                  lambda: port_open(port), 180)
    try:
        _play(s, files, lambda n: _stock_client(DATA / n, port, tmp / "wl" / n, _seconds(n) + 180))
        if s.errors:
            s.notes.append(f"server log tail: {proc.tail(6)}")
    finally:
        proc.stop()
    return s


def _whisperlivekit(tmp: Path, files: tuple[str, ...], model: str) -> System:
    version = subprocess.run([str(_peer_python("whisperlivekit")), "-c",
                              "import importlib.metadata as m; print(m.version('whisperlivekit'))"],
                             capture_output=True, text=True).stdout.strip()
    s = System(notes=[
        f"whisperlivekit {version}: whisperlivekit-server --backend faster-whisper --backend-policy "
        "localagreement --model_dir <packaged tiny.en> --lan en --pcm-input, CPU (compute type: "
        "its own 'auto'); its banner says 'Model: base' (--model's default), --model_dir overrides it",
        "the stock whisper-live client cannot talk to it (no JSON handshake, /asr path, s16le not float32, "
        "other replies): the bench's own minimal real-time client of its /asr protocol, raw PCM "
        "(--pcm-input, so no ffmpeg), 4096-sample packets, b'' to end, read until ready_to_stop",
        "VAC and VAD on: both use Silero models bundled in the wheel, nothing fetched",
        "warm-up: its default downloads jfk.wav from GitHub; given the same recording locally "
        "(--warmup-file tests/data/jfk.flac)",
        "final latency: one sample per update that adds committed words (end = the last committed "
        "line's end); final text = committed lines + the buffer at ready_to_stop",
    ])
    port = free_port()
    exe = _peer_python("whisperlivekit").parent / "whisperlivekit-server"

    def healthy() -> bool:
        try:
            return bool(httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).json().get("ready"))
        except (httpx.HTTPError, ValueError):
            return False

    proc = _serve(tmp, "whisperlivekit", [
        str(exe), "--host", "127.0.0.1", "--port", str(port), "--backend", "faster-whisper",
        "--backend-policy", "localagreement", "--model_dir", model, "--lan", "en", "--pcm-input",
        "--warmup-file", str(DATA / "jfk.flac"), "--log-level", "INFO"], healthy, 300)
    try:
        _play(s, files, lambda n: asyncio.run(_wlk_stream(f"ws://127.0.0.1:{port}/asr",
                                                          decode_to_pcm16(DATA / n))))
        if s.errors:
            s.notes.append(f"server log tail: {proc.tail(6)}")
    finally:
        proc.stop()
    return s


NO_API_READ = ("GET /transcripts/whisperlive/<uid> and GET /meetings/whisperlive/<uid>/runs answer 422 "
               "(the API's platform enum is google_meet, teams, zoom; /ws and /sse refuse it too), so "
               "the settled run's state and the default transcript are read from the read model "
               "through the API's own ReadStore; the meeting id comes from GET /meetings")


async def _settled_text(p: Pipeline, uid: str, notes: list[str], timeout: float = 180) -> tuple[str, str]:
    """The default transcript of whisperlive/<uid> once its settled run is complete, and its
    live run as the read model holds it (what the client should have ended with)."""
    from redis.asyncio import Redis

    from stenograph.readmodel.keys import RedisKeys
    from stenograph.readmodel.store import ReadStore
    from stenograph.schemas.events import LIVE_RUN, SETTLED_RUN

    store = ReadStore(Redis.from_url(p.infra.redis_url, decode_responses=True),
                      RedisKeys(p.prefix.rstrip(".")))  # as Pipeline.env() sets STENOGRAPH_REDIS_PREFIX
    try:
        async with p.client() as c:
            deadline, mid = time.monotonic() + timeout, None
            while True:
                if mid is None:
                    listing = (await c.get("/meetings", params={"limit": 1000})).json()["meetings"]
                    mid = next((m["id"] for m in listing if m["native_meeting_id"] == uid), None)
                if mid and any(r["run_id"] == SETTLED_RUN and r["state"] == "completed"
                               for r in await store.runs("local", mid)):
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"settled run of whisperlive/{uid} not complete in {timeout:.0f} s")
                await asyncio.sleep(0.5)
        live = await store.transcript("local", mid, LIVE_RUN)
        live_text = " ".join(x.text for x in live.segments if x.completed) if live else ""
        async with p.client() as c:
            r = await c.get(f"/transcripts/whisperlive/{uid}")
            if r.status_code == 200:  # the API, where it can address the meeting
                return " ".join(x["text"] for x in r.json()["segments"]), live_text
        if NO_API_READ not in notes:
            notes.append(NO_API_READ)
        t = await store.transcript("local", mid, await store.default_run("local", mid))
        return (" ".join(x.text for x in t.segments) if t else ""), live_text
    finally:
        await store.redis.aclose()


def _stenograph(tmp: Path, files: tuple[str, ...], policy: str) -> tuple[System, System, System]:
    live = System(notes=[
        f"stenograph gateway + transcriber (packaged tiny.en, CPU int8, live_policy={policy}) + aggregator "
        "+ API on a local Kafka and Redis, as tests/bench/gateway.py starts them; the gateway takes "
        "use_vad/model from the handshake but the transcriber's own model and VAD apply",
        "stock client as for WhisperLive (same sleeping wait_before_disconnect)",
    ])
    settled = System(notes=["the default transcript of whisperlive/<client uid> (the settled run, then "
                            "any live tail) once the settled run is completed; no latency"])
    stored = System(notes=["the live run's finals as the read model holds them, once the settled run is "
                           "completed: what the stock client would end with if it kept every final"])
    with ExitStack() as stack:
        infra = start_local_infra(stack, tmp / policy / "infra")
        p = make_pipeline(infra, tmp / policy / "pipeline")
        stack.callback(p.stop)
        port = free_port()
        p.start("transcriber", env={"STENOGRAPH_LIVE_POLICY": policy})
        p.start("aggregator", "api")
        p.start("gateway", env={"STENOGRAPH_GATEWAY_PORT": str(port), "STENOGRAPH_GATEWAY_TENANT": "local"})
        streams = _play(live, files,
                        lambda n: _stock_client(DATA / n, port, tmp / policy / "st" / n, _seconds(n) + 180))
        for name, st in zip(files, streams, strict=True):
            try:
                if not st.uid:
                    raise RuntimeError("no stream")
                settled.texts[name], stored.texts[name] = asyncio.run(_settled_text(p, st.uid, settled.notes))
            except Exception as e:
                settled.errors[name] = stored.errors[name] = f"{type(e).__name__}: {e}"
                settled.texts[name] = stored.texts[name] = ""
    return live, settled, stored


# --- scoring ---------------------------------------------------------------------------------

def _seconds(name: str) -> float:
    return len(decode_to_pcm16(DATA / name)) / 32000


def _offline(files: tuple[str, ...]) -> dict[str, str]:
    from stenograph.schemas.pcm import samples
    from stenograph.transcribe.model import DecodeOptions, FasterWhisperTranscriber

    model = FasterWhisperTranscriber("tiny.en")
    out = {}
    for name in files:
        result = model.transcribe(samples(decode_to_pcm16(DATA / name)), DecodeOptions())
        out[name] = " ".join(words(" ".join(x.text for x in result.segments)))
    return out


def _score(s: System, offline: dict[str, str]) -> dict[str, Any]:
    if s.error is not None:
        return {"error": s.error, "notes": s.notes}
    per_file: dict[str, dict[str, Any]] = {}
    pairs: dict[str, tuple[list[str], list[str]]] = {"offline": ([], []), "reference": ([], [])}
    for name, text in s.texts.items():
        hyp = " ".join(words(text)) or "<empty>"
        row: dict[str, Any] = {"words": len(words(text))}
        refs = {"offline": offline[name]}
        if name in REFERENCES:
            refs["reference"] = " ".join(words((DATA / REFERENCES[name]).read_text()))
        for kind, ref in refs.items():
            if ref:
                row[f"wer_vs_{kind}"] = round(jiwer.wer(ref, hyp), 3)
                pairs[kind][0].append(ref)
                pairs[kind][1].append(hyp)
        if name in s.errors:
            row["error"] = s.errors[name]
        per_file[name] = row
    corpus = {f"corpus_wer_vs_{k}": round(jiwer.wer(r, h), 4) if r else None for k, (r, h) in pairs.items()}
    has_latency = bool(s.latencies)
    return {**corpus, "per_file": per_file, "finals": len(s.latencies),
            "final_latency_p50_s": _pct(s.latencies, 50) if has_latency else None,
            "final_latency_p95_s": _pct(s.latencies, 95) if has_latency else None, "notes": s.notes}


def _machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return f"{platform.machine()} {os.cpu_count()} cores ({cpu}), no GPU, tiny.en int8 on CPU"


def bench_peers(files: tuple[str, ...] = CORPUS, systems: tuple[str, ...] = SYSTEMS) -> dict[str, Any]:
    from stenograph.transcribe.model import resolve_model

    model = str(resolve_model("tiny.en"))
    offline = _offline(files)  # first, alone on the CPU
    results: dict[str, System] = {}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for name in systems:  # one at a time: never two model servers on the cores
            try:
                if name == "whisperlive":
                    results[name] = _whisperlive(tmp, files, model)
                elif name == "whisperlivekit":
                    results[name] = _whisperlivekit(tmp, files, model)
                else:
                    policy = "agree" if name == "stenograph-agree" else "pause"
                    live, settled, stored = _stenograph(tmp, files, policy)
                    results.update({name: live, f"{name}_settled": settled, f"{name}_stored_live": stored})
            except Exception as e:  # the others still run; say why this one did not
                results[name] = System(error=f"{type(e).__name__}: {e}")
    return {"name": "peers_streaming_quality", "model": "tiny.en", "files": list(files),
            "systems": {k: _score(v, offline) for k, v in results.items()}, "machine": _machine()}


if __name__ == "__main__":
    if sys.argv[1:2] == ["client"]:
        _client_main(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        print(json.dumps(bench_peers(tuple(sys.argv[1:]) or CORPUS), indent=1))
