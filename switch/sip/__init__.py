"""Sans-I/O SIP protocol core: parsing, serialization, digest auth and transactions."""
