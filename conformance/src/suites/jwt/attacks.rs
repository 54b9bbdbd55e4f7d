//! The attack catalogue: every trick a JWT verifier has fallen for, and that it must not.
