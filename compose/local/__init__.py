"""Native broker and Redis launcher used by `stenograph up` and the tests."""
