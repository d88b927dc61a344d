"""Mutation score of the two conformance suites: the zoos' registered decision points under
generic operators, each mutant judged by the scenarios that reach its point."""
