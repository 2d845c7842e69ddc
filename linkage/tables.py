"""Names of the DuckDB tables a linker keeps: the two inputs, the stored comparison vectors
and their scoring patterns (:func:`linkage.patterns.scoring_pattern_sql`)."""

LEFT_TABLE, RIGHT_TABLE, GAMMA_TABLE = "__left", "__right", "__gammas"
SCORING_TABLE = "__scoring"
