"""Aggregate: materializes transcripts and meeting state into Redis and the transcripts topic."""
