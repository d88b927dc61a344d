"""The fake secret provider and the generator kinds, on plain data, with the real server's 400s."""
