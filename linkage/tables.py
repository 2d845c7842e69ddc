"""Names of the DuckDB tables a linker keeps: the two inputs and the stored comparison vectors."""

LEFT_TABLE, RIGHT_TABLE, GAMMA_TABLE = "__left", "__right", "__gammas"
