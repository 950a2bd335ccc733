"""Read content files from disk into frozen models: the complaints file, render manifests."""
