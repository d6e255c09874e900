//! RFC 7515 flattened JWS as ACME profiles it (RFC 8555 §6.2). (in progress)
