"""Independent linkage benchmark: pprl, Splink and recordlinkage on data this project did not
write (pseudopeople's bundled sample data, FEBRL4), with the same candidate pairs per tool.

See benchmarks/README.md ("Independent data") for what is measured and how.
"""
