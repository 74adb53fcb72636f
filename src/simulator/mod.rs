//! The embedded vCenter simulator.
