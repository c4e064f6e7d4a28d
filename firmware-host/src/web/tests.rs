//! Route × role table test (filled in below).
