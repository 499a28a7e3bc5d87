//! Being written; see issue 3/4.
