"""Build stages for CPython on wasm32-wasi; each is run by a Nox session."""
