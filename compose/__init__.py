"""The stack as container images (docker-compose.yml) and as local processes (local/)."""
