//! Integration tests of the issuance log (one test binary): sequencing,
//! concurrency, the Sunlight fault matrix with restart and full-log check,
//! start-up refusal, landmarks with a driven clock, the witness, HTTP, and
//! certifying an entry again when an issuance resumes.

mod certs;
mod common;
mod crash;
mod faults;
mod landmarks;
mod resume;
mod sequencing;
mod serving;
mod witness;
