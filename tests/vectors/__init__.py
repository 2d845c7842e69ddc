"""Published test vectors (RFC text files) and the small parser that loads them."""
