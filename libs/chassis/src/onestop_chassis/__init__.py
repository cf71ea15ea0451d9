"""The shared service chassis of the onestop platform.

Layering: a service's domain code may import `onestop_chassis.errors` and `onestop_chassis.auth`
(plain Python); only entrypoints and adapters import the grpc, nameko, mongo and tracing parts.
"""
