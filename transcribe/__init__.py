"""Transcribe: consumer-group workers that turn AudioFrames into SegmentEvents."""
