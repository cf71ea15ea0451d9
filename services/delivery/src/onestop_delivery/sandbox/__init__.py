"""The CARRIER SANDBOX (`onestop-carrier-sandbox`): a stand-in HTTP server shaped like VNPost's order
API, for tests and demos where no carrier is reachable. Not a carrier; see `server.py`."""
