"""Capture: sources of meeting audio that publish sequenced AudioFrames to Kafka."""
