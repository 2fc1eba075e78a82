"""The native tape engine (work in progress: not registered until its plugin module lands)."""
