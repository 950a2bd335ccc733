"""Read content files (the complaints file) from disk into the core's frozen models."""
