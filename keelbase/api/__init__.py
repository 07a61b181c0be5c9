"""HTTP: Starlette routes that parse input, call one service and serialise the answer."""
