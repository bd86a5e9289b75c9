"""Stenograph: meeting transcription as an event-sourced streaming pipeline on Apache Kafka."""

__version__ = "0.1.0"
