"""The numbers the kernels and their callers share: class bits, table layouts, marks.

Kept apart from the kernels so that a worker using the ahead-of-time build (see
`kernels`) reads them without importing numba.
"""

from __future__ import annotations

WORD = 1   # class bit: the character matches `\w` (str.isalnum() or "_")
SPACE = 2  # class bit: str.isspace(), the separators of str.split()
DIGIT = 4  # class bit: str.isdigit() (evidence leaves digit strings out)
APOSTROPHE, HYPHEN = 39, 45

# The order of the integer tables packed into one array (see featurizer.pack_tables); one
# packed array keeps a call's argument count, hence its dispatch time, small.
INT_TABLES = ("scalars", "tok_slots", "tok_hash", "tok_cp", "tok_off", "word_keys",
              "word_values", "word_cols", "alphabet", "char_keys", "char_values", "lex_keys",
              "lex_values", "lex_node_start", "lex_node_entries", "entry_cols", "col_flags")
SCALARS = ("n_tokens", "word_min", "word_max", "base", "char_min", "char_max", "char_offset",
           "lex_max", "lex_offset", "n_lex_cols")
LOGGED, WEIGHTED = 1, 2  # col_flags bits: sublinear tf, idf weight
FLOAT_TABLES = ("idf", "log_tf", "lex_scale")

EMPTY_CHUNK = -(1 << 62)  # evidence: a chunk without a word character owns nothing

ACTOR_IGNORED = -2  # actor key that names no actor and starts no longer alias: nothing to do
ACTOR_EXACT = -1    # actor key the Python scan must read in its text
