//! (placeholder; see ARCHITECTURE.md)
