"""The contract between stages: topic registry, Avro schemas, events, codec, Redis layout."""
