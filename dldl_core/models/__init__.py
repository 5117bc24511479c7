"""The networks, their objectives, weights files, sidecars, registry and export."""
