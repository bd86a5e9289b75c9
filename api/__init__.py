"""The HTTP API: reads the Redis read model, writes commands to Kafka."""
