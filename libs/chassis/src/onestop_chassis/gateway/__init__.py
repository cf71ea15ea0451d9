"""The REST gateway: the RPCs annotated with `google.api.http` in protos/ served as JSON over HTTP
(proto3 JSON mapping) for partners who cannot speak gRPC, with the same auth, errors and
idempotency as gRPC. No route is written by hand: routes.py reads the options from the generated
descriptors, transcoding.py maps JSON ⇄ protobuf, app.py is the WSGI app and main.py the
`onestop-gateway` process. docs/design.md, "REST gateway", says why it is built this way."""
