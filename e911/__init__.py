"""E911 address library: pure functions, no I/O.

- :mod:`e911.civic` the RFC 5139 civic address model and its dict form
- :mod:`e911.normalize` USPS Publication 28 normalization (free text or fields)
- :mod:`e911.validate` registration checks; :mod:`e911.dispatchable` 47 CFR 9.3 text
- :mod:`e911.msag` pluggable external validation (disabled by default)
- :mod:`e911.pidf` PIDF-LO build and parse; :mod:`e911.geolocation` RFC 6442 bodies

Modules are imported one by one; this package imports nothing so that the switch can
use the PIDF-LO code without loading the address parser's model.
"""
