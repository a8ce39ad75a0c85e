"""The ways a request reaches the backend: botocore hook, ``responses`` callback, HTTP server."""
