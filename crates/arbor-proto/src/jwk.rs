//! RFC 7517 JSON Web Keys (public) for ACME account keys; RFC 7638 thumbprints. (in progress)
