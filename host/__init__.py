"""The project's own WASI host: runs python.wasm where timecraft is not installed."""
