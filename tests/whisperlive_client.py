"""Runs whisper-live's own Python client against a gateway; prints what it ended with as JSON.

Usage: python -m tests.whisperlive_client FILE HOST PORT   (run in a scratch directory: the
client writes its resampled copy of FILE and an .srt there)
"""

from __future__ import annotations

import json
import sys
import time

from whisper_live.client import Client, TranscriptionTeeClient


def main(path: str, host: str, port: int) -> None:
    client = Client(host, port, lang=None, model="tiny.en", use_vad=False, log_transcription=False,
                    srt_file_path="out.srt", transcription_callback=lambda text, segments: None)
    tee = TranscriptionTeeClient([client], mute_audio_playback=True)
    t0 = time.monotonic()
    tee(path)  # real-time playback, waits for the transcript to settle, sends END_OF_AUDIO
    print(json.dumps({
        "seconds": round(time.monotonic() - t0, 2),
        "backend": getattr(client, "server_backend", None),
        "language": client.language,
        "server_error": client.server_error,
        "transcript": client.transcript,  # completed segments (+ the last current one, if new)
    }))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
