//! End to end through the real daemon: the journal, restart recovery, minutes export,
//! faults (kill -9, full or read-only store, damaged tail) and floods.

mod support;
