//! (placeholder: DEBUG DIGEST is being written)
