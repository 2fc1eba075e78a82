"""The native dual engine (work in progress: not registered until its plugin module lands)."""
