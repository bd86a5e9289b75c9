"""WhisperLive gateway: END_OF_AUDIO to the last completed segment, as a client sees it.

A WhisperLive-protocol client streams jfk.flac in real time (float32, 4096-sample packets like
whisper-live's client), sends END_OF_AUDIO right after the last packet, and reads replies until
DISCONNECT. Gateway, transcriber (tiny.en, CPU) and Kafka run on this machine.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import tempfile
import time
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import jiwer
import numpy as np
from websockets.asyncio.client import connect

from stenograph.capture.decode import decode_to_pcm16
from tests.support import DATA, Pipeline, free_port, make_pipeline, start_local_infra, words

PACKET = 4096  # samples


async def _once(url: str) -> dict[str, float]:
    audio = (np.frombuffer(decode_to_pcm16(DATA / "jfk.flac"), dtype="<i2") / 32768.0).astype("<f4")
    uid = uuid.uuid4().hex
    done: dict[str, str] = {}
    last_completed = end_sent = disconnect = 0.0
    async with connect(url, max_size=None) as ws:
        await ws.send(json.dumps({"uid": uid, "language": "en", "task": "transcribe",
                                  "model": "tiny.en", "use_vad": False}))
        assert json.loads(await ws.recv())["message"] == "SERVER_READY"

        async def read() -> None:
            nonlocal last_completed, disconnect
            async for message in ws:
                reply = json.loads(message)
                if reply.get("message") == "DISCONNECT":
                    disconnect = time.perf_counter()
                    return
                for s in reply.get("segments", []):
                    if s["completed"] and s["start"] not in done:
                        done[s["start"]] = s["text"]
                        last_completed = time.perf_counter()

        reader = asyncio.create_task(read())
        t0 = time.perf_counter()
        for i, start in enumerate(range(0, len(audio), PACKET)):
            await asyncio.sleep(max(0.0, t0 + i * PACKET / 16000 - time.perf_counter()))
            await ws.send(audio[start : start + PACKET].tobytes())
        await ws.send(b"END_OF_AUDIO")
        end_sent = time.perf_counter()
        await asyncio.wait_for(reader, 120)
    text = " ".join(done[k] for k in sorted(done, key=float))
    reference = " ".join(words((DATA / "jfk.txt").read_text()))
    return {"last_completed_s": last_completed - end_sent, "disconnect_s": disconnect - end_sent,
            "wer": jiwer.wer(reference, " ".join(words(text)))}


def bench_gateway(runs: int = 5) -> dict[str, Any]:
    with ExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory())
        infra = start_local_infra(stack, Path(tmp) / "infra")
        p: Pipeline = make_pipeline(infra, Path(tmp) / "pipeline")
        stack.callback(p.stop)
        port = free_port()
        p.start("transcriber")
        p.start("gateway", env={"STENOGRAPH_GATEWAY_PORT": str(port), "STENOGRAPH_GATEWAY_TENANT": "local"})
        samples = [asyncio.run(_once(f"ws://127.0.0.1:{port}")) for _ in range(runs)]
    last = [s["last_completed_s"] for s in samples]
    return {"name": "gateway_end_of_audio_to_last_completed_s", "runs": runs,
            "median_s": round(statistics.median(last), 3), "max_s": round(max(last), 3),
            "disconnect_median_s": round(statistics.median(s["disconnect_s"] for s in samples), 3),
            "wer_median": round(statistics.median(s["wer"] for s in samples), 3),
            "recording": "jfk.flac, real time, float32 packets of 4096 samples"}
