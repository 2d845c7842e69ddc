"""The linkage stage alone at scale: pprl partitioned beside Splink (see README.md)."""
