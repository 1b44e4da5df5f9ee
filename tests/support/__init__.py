"""Code the tests and the benchmarks share: servers, fake SPUCs, attackers, records."""
