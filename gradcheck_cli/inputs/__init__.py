"""Values from text: points (`--at`, `@FILE`, rand()), claims (`--expect`, `=>`), and seeded random points where
an expression can be checked (sampling.py). The syntax is lang/'s; this package gives it values."""
