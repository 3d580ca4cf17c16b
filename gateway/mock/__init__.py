"""Mock OpenAI provider for demos, tests and benchmarks."""
