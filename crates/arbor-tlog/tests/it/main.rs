//! The one integration-test binary of arbor-tlog: known-answer vectors
//! (RFC 6962/9162, the MTC draft's accumulated and large-tree vectors, C2SP
//! examples) and property tests.

mod accumulated;
mod large;
mod notes;
mod props;
mod rfc6962;
mod tiles;

use arbor_tlog::Hash;

pub fn h(s: &str) -> Hash {
    hex::decode(s).expect("hex").try_into().expect("32 bytes")
}
