"""Text → syntax: tokens, expressions, programs and point values. No numpy, no SymPy."""
