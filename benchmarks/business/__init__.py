"""Business linkage benchmark: pprl (IDs + rarity-weighted names) beside Splink's business-rates
approach (token-frequency products + postcode), on a generated register with known truth."""
