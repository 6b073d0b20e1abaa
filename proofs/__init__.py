"""Z3 encodings of the table: unbounded proofs and the table's hygiene."""
